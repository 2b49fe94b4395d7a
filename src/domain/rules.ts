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
import type {
  ConfirmedDecision,
  Decision,
  DeclarationEntry,
  DeviceSummary,
  Evidence,
  IndexView,
  RegistryEntry,
  RejectedDecision,
  RejectReason,
  SourceId,
  TacRecord,
  VerifyRequest,
} from './types.js';

export interface RuleSettings {
  /** Customs procedure codes that prove legal entry (seed 000 §8); defaults in config/. */
  readonly eligibleProcedures: ReadonlySet<string>;
}

/**
 * What a trace line quotes beyond the request: `customs` lines name KGD applications the request
 * did not name (application, procedure, status), which only roles with the full customs view see
 * (src/security/customs-view.ts).
 */
export type TraceTopic = 'customs';

/** Receives one human-readable line per rule consulted; only dry runs pass one. */
export type Trace = (step: string, topic?: TraceTopic) => void;

export interface Verdict {
  readonly decision: Decision;
  /**
   * True when the request's final outcome was already recorded from this very source position:
   * a batch replayed after a crash re-emits what it produced, it is not a duplicate (rule 10).
   */
  readonly replayed: boolean;
}

function rejected(
  request: VerifyRequest,
  imei: string,
  body: string | null,
  reason: RejectReason,
  detail: string,
): RejectedDecision {
  return { outcome: 'rejected', requestId: request.requestId, imei, body, reason, detail };
}

function deviceOf(tac: TacRecord): DeviceSummary {
  return { tac: tac.tac, brand: tac.brand, model: tac.model, deviceType: tac.deviceType };
}

function confirmed(
  request: VerifyRequest,
  imei: string,
  body: string,
  tac: TacRecord,
  evidence: Evidence,
  applicationId: string | null,
  procedure: string | null,
  detail: string,
): ConfirmedDecision {
  return {
    outcome: 'confirmed',
    requestId: request.requestId,
    imei,
    body,
    evidence,
    applicationId,
    procedure,
    device: deviceOf(tac),
    ownerId: request.ownerId ?? null,
    msisdn: request.msisdn ?? null,
    notify: true,
    detail,
  };
}

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

function pending(request: VerifyRequest, imei: string, body: string, detail: string): Decision {
  return { outcome: 'pending', requestId: request.requestId, imei, body, reason: 'awaiting_kgd', detail };
}

/** Rule 6 with an applicationId: that application is the only evidence considered. */
function applicationOutcome(
  request: VerifyRequest,
  applicationId: string,
  imei: string,
  body: string,
  tac: TacRecord,
  view: IndexView,
  settings: RuleSettings,
  trace?: Trace,
): Decision {
  const declarations = view.declarations(body);
  let listed: DeclarationEntry | undefined;
  if (declarations !== undefined) {
    for (const entry of declarations) {
      if (entry.applicationId === applicationId) {
        listed = entry;
        break;
      }
    }
  }
  // The declaration entry carries the application's decision; the application record is read
  // only when this IMEI is not listed (one LMDB lookup fewer on the common path).
  const application = listed === undefined ? view.application(applicationId) : undefined;
  const status = listed?.status ?? application?.status;
  const procedure = listed?.procedure ?? application?.procedure;
  trace?.(
    status === undefined
      ? `application ${applicationId}: no KGD decision yet`
      : `application ${applicationId}: ${status}, procedure ${procedure}, ${listed ? 'lists' : 'does not list'} this IMEI`,
  );
  if (status === undefined || procedure === undefined || status === 'registered') {
    return pending(request, imei, body, `no KGD release decision yet for application ${applicationId}`);
  }
  if (status === 'refused') {
    return rejected(
      request,
      imei,
      body,
      'declaration_refused',
      `KGD refused release under application ${applicationId}`,
    );
  }
  if (status === 'revoked') {
    return rejected(
      request,
      imei,
      body,
      'declaration_refused',
      `KGD revoked the release decision of application ${applicationId}`,
    );
  }
  if (listed === undefined) {
    return rejected(
      request,
      imei,
      body,
      'declaration_mismatch',
      `application ${applicationId} does not list this IMEI`,
    );
  }
  if (!settings.eligibleProcedures.has(procedure)) {
    return rejected(
      request,
      imei,
      body,
      'procedure_not_eligible',
      `customs procedure ${procedure} of application ${applicationId} does not prove legal entry`,
    );
  }
  return confirmed(
    request,
    imei,
    body,
    tac,
    'kgd-release',
    applicationId,
    procedure,
    `released under application ${applicationId}, procedure ${procedure}`,
  );
}

/** Rule 6 without an applicationId: any release decision that lists the IMEI. */
function anyDeclarationOutcome(
  request: VerifyRequest,
  imei: string,
  body: string,
  tac: TacRecord,
  view: IndexView,
  settings: RuleSettings,
  trace?: Trace,
): Decision {
  const declarations = view.declarations(body);
  if (declarations === undefined || declarations.length === 0) {
    trace?.('declarations: no KGD decision lists this IMEI');
    return pending(request, imei, body, 'no KGD release decision lists this IMEI yet');
  }
  let eligible: DeclarationEntry | undefined;
  let ineligible: DeclarationEntry | undefined;
  let refusal: DeclarationEntry | undefined;
  for (const entry of declarations) {
    trace?.(
      `declarations: application ${entry.applicationId}, procedure ${entry.procedure}, ${entry.status}`,
      'customs',
    );
    if (entry.status === 'released') {
      if (settings.eligibleProcedures.has(entry.procedure)) {
        // The latest eligible release is the evidence we cite.
        if (eligible === undefined || (entry.decidedAt ?? '') > (eligible.decidedAt ?? '')) eligible = entry;
      } else {
        ineligible ??= entry;
      }
    } else if (entry.status === 'refused' || entry.status === 'revoked') {
      refusal ??= entry;
    }
  }
  if (eligible !== undefined) {
    return confirmed(
      request,
      imei,
      body,
      tac,
      'kgd-release',
      eligible.applicationId,
      eligible.procedure,
      `released under application ${eligible.applicationId}, procedure ${eligible.procedure}`,
    );
  }
  if (ineligible !== undefined) {
    return rejected(
      request,
      imei,
      body,
      'procedure_not_eligible',
      `customs procedure ${ineligible.procedure} of application ${ineligible.applicationId} does not prove legal entry`,
    );
  }
  if (refusal !== undefined) {
    return rejected(
      request,
      imei,
      body,
      'declaration_refused',
      `KGD ${refusal.status === 'revoked' ? 'revoked the release of' : 'refused release under'} application ${refusal.applicationId}`,
    );
  }
  return pending(request, imei, body, 'declarations listing this IMEI are not decided yet');
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
  // Rule 2: normalisation and check digit.
  const normalised = normaliseImei(request.imei);
  if (!normalised.ok) {
    trace?.(`IMEI ${JSON.stringify(request.imei)}: ${normalised.detail}`);
    return rejected(request, request.imei, null, normalised.reason, normalised.detail);
  }
  const { imei, body } = normalised;
  trace?.(`IMEI ${imei}: ${normalised.form === 'imei15' ? 'check digit holds' : `from ${normalised.form}`}`);

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
