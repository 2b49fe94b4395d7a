/**
 * The decision rules of DESIGN.md §4, rules 2–6 and 10, as one pure function over a read-only
 * view of the indexes. Rule 1 (decoding and field validation) is `request.ts`; rules 7–9
 * (late decisions, deadlines, reviews, revocations) live in the pipeline, which calls back
 * into `decide` to re-evaluate.
 *
 * Expected outcomes are returned as values, never thrown: errors lose their fields when they
 * cross a worker boundary, and a rejection is not an error.
 */
import { normaliseImei } from './imei.js';
import { anyDeclarationOutcome, applicationOutcome } from './kgd-evidence.js';
import type { RuleSettings } from './rule-settings.js';
import type { Decision, IndexView, RegistryEntry, SourceId, TacRecord, VerifyRequest } from './types.js';
import { confirmed, pending, rejected, type Trace, type Verdict } from './verdicts.js';

/** Rule 10: a requestId with a final outcome is a duplicate, unless this is a replay of it. */
function repeatOf(
  request: VerifyRequest,
  source: SourceId | null,
  view: IndexView,
  trace?: Trace,
): Verdict | undefined {
  const recorded = view.outcome(request.requestId);
  if (recorded === undefined) return undefined;
  if (source !== null && recorded.source === source) {
    trace?.(`request ${request.requestId} was decided from this same position before: replaying its outcome`);
    return { decision: recorded.decision, replayed: true };
  }
  trace?.(
    `request ${request.requestId} already has the final outcome ${recorded.decision.outcome} (${recorded.at})`,
  );
  const imei = recorded.decision.imei;
  return {
    decision: rejected(
      request,
      imei,
      recorded.decision.body,
      'duplicate_request',
      `request ${request.requestId} was already ${recorded.decision.outcome} at ${recorded.at}`,
    ),
    replayed: false,
  };
}

/** Rule 5: a device already in the registry. */
function registeredOutcome(
  request: VerifyRequest,
  imei: string,
  body: string,
  tac: TacRecord,
  entry: RegistryEntry,
): Decision {
  const owner = request.ownerId;
  // БДИК binds a device to its owner's IIN/BIN and phone number (seed 000 §4 4)). A request that
  // names no owner cannot be matched against the recorded one: confirming it would confirm the
  // recorded owner on the requester's word and, with a new phone number, bind that owner's
  // device to it. It is refused, naming the field, without saying who the owner is.
  if (owner === undefined && entry.ownerId !== null) {
    return rejected(
      request,
      imei,
      body,
      'invalid_request',
      'ownerId: required: this IMEI is registered to an owner, so a request for it must name the owner (IIN/BIN)',
    );
  }
  if (owner !== undefined && entry.ownerId !== null && owner !== entry.ownerId) {
    return {
      outcome: 'review',
      requestId: request.requestId,
      imei,
      body,
      reason: 'owner_conflict',
      detail: `IMEI is registered to another owner since ${entry.at} (request ${entry.requestId})`,
    };
  }
  const base = confirmed(
    request,
    imei,
    body,
    tac,
    entry.evidence,
    entry.applicationId,
    entry.procedure,
    `already registered since ${entry.at} with evidence ${entry.evidence}`,
  );
  // БДИК already holds the device: tell it again only if the request brings something new.
  const newPhone = request.msisdn !== undefined && request.msisdn !== entry.msisdn;
  const newOwner = owner !== undefined && entry.ownerId === null;
  return {
    ...base,
    // Never the recorded owner on the request's behalf: a request without one was refused above
    // unless the registration has no owner either.
    ownerId: owner ?? null,
    msisdn: request.msisdn ?? entry.msisdn,
    notify: newPhone || newOwner,
  };
}

/**
 * Decide one validated request. `source` is where it was read (null for dry runs and
 * re-evaluations of pending requests, which are never replays).
 */
export function decide(
  request: VerifyRequest,
  source: SourceId | null,
  view: IndexView,
  settings: RuleSettings,
  trace?: Trace,
): Verdict {
  const repeat = repeatOf(request, source, view, trace);
  if (repeat !== undefined) return repeat;
  return { decision: evaluate(request, view, settings, trace), replayed: false };
}

/** Rules 2–6, without the duplicate check: what the indexes say about this request now. */
export function evaluate(
  request: VerifyRequest,
  view: IndexView,
  settings: RuleSettings,
  trace?: Trace,
): Decision {
  // Rule 2: normalisation and check digit (not for a spare digit where the operator or channel
  // sends network-derived IMEIs).
  const spare = settings.spareDigit;
  const acceptSpare =
    spare !== undefined && (spare.operators.has(request.operator) || spare.channels.has(request.channel));
  const normalised = normaliseImei(request.imei, acceptSpare);
  if (!normalised.ok) {
    trace?.(`IMEI ${JSON.stringify(request.imei)}: ${normalised.detail}`);
    return rejected(request, request.imei, null, normalised.reason, normalised.detail);
  }
  const { imei, body } = normalised;
  trace?.(
    `IMEI ${imei}: ${
      normalised.form === 'imei15'
        ? 'check digit holds'
        : normalised.form === 'imei15-spare'
          ? `15th digit taken as a spare 0 (network-derived IMEIs accepted from ${request.operator}/${request.channel}); check digit not verified`
          : `from ${normalised.form}`
    }`,
  );

  // Rule 3: a real device model.
  const tac = view.tac(normalised.tac);
  if (tac === undefined) {
    trace?.(`TAC ${normalised.tac}: not in the GSMA TAC table`);
    return rejected(request, imei, body, 'tac_unknown', `TAC ${normalised.tac} is not in the TAC table`);
  }
  trace?.(`TAC ${tac.tac}: ${tac.brand} ${tac.model} (${tac.deviceType})`);

  // Rule 4: block list.
  const block = view.blocked(body);
  if (block !== undefined) {
    trace?.(
      `block list: listed by ${block.source}${block.since ? ` since ${block.since}` : ''}: ${block.reason}`,
    );
    return rejected(request, imei, body, 'blocklisted', `blocked by ${block.source}: ${block.reason}`);
  }
  trace?.('block list: not listed');

  // Rule 5: already registered.
  const entry = view.registered(body);
  if (entry !== undefined) {
    trace?.(
      `registry: registered since ${entry.at} by request ${entry.requestId}, evidence ${entry.evidence}`,
    );
    return registeredOutcome(request, imei, body, tac, entry);
  }
  trace?.('registry: not registered');

  // Rule 6: evidence of legal entry.
  if (request.applicationId !== undefined) {
    return applicationOutcome(request, request.applicationId, imei, body, tac, view, settings, trace);
  }
  if (request.channel === 'local') {
    const local = view.localProduction(body);
    if (local === undefined) {
      trace?.('local production: no record for this IMEI');
      return pending(request, imei, body, 'no local production or repair record for this IMEI yet');
    }
    trace?.(`local production: ${local.reference} by ${local.producerId}`);
    return confirmed(
      request,
      imei,
      body,
      tac,
      'local-production',
      null,
      null,
      `produced or repaired in Kazakhstan: ${local.reference} by ${local.producerId}`,
    );
  }
  return anyDeclarationOutcome(request, imei, body, tac, view, settings, trace);
}
