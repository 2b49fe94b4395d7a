/**
 * A dry run (`POST /v1/verify`, `imeiflow check`) decides a request exactly as the stream would,
 * but answers a person, not БДИК. Personal data the caller sent is theirs to see; personal data
 * recorded from another request — the registry's owner and phone (rule 5) — is confidential
 * (seed 000 §14–15) and is shown only to a role that may read personal data, on a stated basis,
 * and audited (seed 001 §9, §31). Without that the answer says *that* the device is registered
 * (to another owner, or with another phone), never *who*.
 */
import type { RuleSettings } from './rule-settings.js';
import { decide } from './rules.js';
import type { Decision, IndexView, RegistryEntry, VerifyRequest } from './types.js';
import type { Trace } from './verdicts.js';

/** The recorded registration a full answer shows beside the decision. */
export interface RecordedRegistration {
  readonly requestId: string;
  readonly ownerId: string | null;
  readonly msisdn: string | null;
  readonly since: string;
}

export interface DryRun {
  /** The decision with every personal field the caller did not send withheld. */
  readonly withheld: Decision;
  /** The decision as the stream would make it. */
  readonly full: Decision;
  /**
   * The registration the rules consulted, when it holds personal data the caller did not send
   * (an owner or phone other than theirs); null when the full answer shows nothing beyond the
   * request, so there is nothing to withhold.
   */
  readonly recorded: RecordedRegistration | null;
}

/** The request's own owner and phone in place of anything the decision took from the registry. */
function withholdRecorded(request: VerifyRequest, decision: Decision): Decision {
  if (decision.outcome !== 'confirmed') return decision;
  return { ...decision, ownerId: request.ownerId ?? null, msisdn: request.msisdn ?? null };
}

function beyondRequest(request: VerifyRequest, entry: RegistryEntry): RecordedRegistration | null {
  const otherOwner = entry.ownerId !== null && entry.ownerId !== (request.ownerId ?? null);
  const otherPhone = entry.msisdn !== null && entry.msisdn !== (request.msisdn ?? null);
  if (!otherOwner && !otherPhone) return null;
  return { requestId: entry.requestId, ownerId: entry.ownerId, msisdn: entry.msisdn, since: entry.at };
}

/** Decide `request` from `view` (never a replay), noting what of the registry it would disclose. */
export function dryRun(
  request: VerifyRequest,
  view: IndexView,
  settings: RuleSettings,
  trace?: Trace,
): DryRun {
  // The registry entry the rules actually consulted: a device rejected before rule 5 discloses
  // nothing about its registration.
  let consulted: RegistryEntry | undefined;
  const watched: IndexView = {
    tac: (tac) => view.tac(tac),
    blocked: (body) => view.blocked(body),
    declarations: (body) => view.declarations(body),
    application: (id) => view.application(id),
    localProduction: (body) => view.localProduction(body),
    registered: (body) => {
      consulted = view.registered(body);
      return consulted;
    },
    outcome: (requestId) => view.outcome(requestId),
  };
  const { decision } = decide(request, null, watched, settings, trace);
  const recorded = consulted === undefined ? null : beyondRequest(request, consulted);
  return { full: decision, withheld: withholdRecorded(request, decision), recorded };
}
