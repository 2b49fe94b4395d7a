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
  ApplicationRecord,
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
  /**
   * Whether KGD's record of an import from another EAEU member state (no customs procedure)
   * proves legal entry, as seed 000 §4(6) counts such imports (`rules.acceptEaeuImports`).
   * Absent: accepted, the default of config/default.json.
   */
  readonly acceptEaeuImports?: boolean;
  /**
   * The HS codes of the devices the exchange covers (seed 000 appendix 1; `rules.hsCodesInScope`).
   * A decision under another code proves nothing. A decision without an HS code is taken as in
   * scope: KGD's export need not carry one (seed 000 appendix 2 lists application, procedure and
   * IMEI only). Absent: every code is in scope.
   */
  readonly hsCodesInScope?: ReadonlySet<string>;
  /**
   * Operators and channels whose IMEIs may come from network signalling, with a spare digit 0
   * in place of the check digit (3GPP TS 23.003 §6.2.1; `normaliseImei`). Absent: the strict
   * check for every request.
   */
  readonly spareDigit?: { readonly operators: ReadonlySet<string>; readonly channels: ReadonlySet<string> };
}

/** The rules' configured form: config `rules` as validated (src/config/config.ts), plain data. */
export interface RuleConfig {
  readonly eligibleProcedures: readonly string[];
  readonly acceptEaeuImports: boolean;
  readonly hsCodesInScope: readonly string[];
  readonly spareDigit: { readonly operators: readonly string[]; readonly channels: readonly string[] };
}

/** The rules' settings from their configured form (config `rules`, the workers' settings). */
export function ruleSettingsOf(rules: RuleConfig): RuleSettings {
  return {
    eligibleProcedures: new Set(rules.eligibleProcedures),
    acceptEaeuImports: rules.acceptEaeuImports,
    hsCodesInScope: new Set(rules.hsCodesInScope),
    spareDigit: {
      operators: new Set(rules.spareDigit.operators),
      channels: new Set(rules.spareDigit.channels),
    },
  };
}

/** Whether a released entry's procedure proves legal entry: an eligible code, or an accepted EAEU import. */
export function provesEntry(procedure: string | null, settings: RuleSettings): boolean {
  return procedure === null
    ? settings.acceptEaeuImports !== false
    : settings.eligibleProcedures.has(procedure);
}

/** Whether a decision's HS code is one the exchange covers; a decision without one is taken as in scope. */
export function inScope(hsCode: string | null, settings: RuleSettings): boolean {
  return hsCode === null || settings.hsCodesInScope === undefined || settings.hsCodesInScope.has(hsCode);
}

/** The rejection of a request whose evidence was declared under an HS code outside the scope. */
function outOfScope(
  request: VerifyRequest,
  imei: string,
  body: string,
  applicationId: string,
  hsCode: string | null,
): RejectedDecision {
  return rejected(
    request,
    imei,
    body,
    'hs_out_of_scope',
    `application ${applicationId} declares HS code ${hsCode}, outside the devices this exchange covers (seed 000 appendix 1)`,
  );
}

/** The evidence a release of this procedure gives. */
function evidenceOf(procedure: string | null): Evidence {
  return procedure === null ? 'eaeu-import' : 'kgd-release';
}

/** "procedure 40", or what stands for the procedure an EAEU import lacks. */
function procedureText(procedure: string | null): string {
  return procedure === null
    ? 'import from an EAEU member state (no customs procedure)'
    : `procedure ${procedure}`;
}

/** The detail of a confirmation by a release decision. */
function releasedDetail(applicationId: string, procedure: string | null): string {
  return procedure === null
    ? `KGD records the import from an EAEU member state under application ${applicationId}`
    : `released under application ${applicationId}, procedure ${procedure}`;
}

/** The detail of a rejection for a procedure that does not prove entry. */
function notEligibleDetail(applicationId: string, procedure: string | null): string {
  return procedure === null
    ? `application ${applicationId} records an import from an EAEU member state, which this service does not accept as proof of legal entry`
    : `customs procedure ${procedure} of application ${applicationId} does not prove legal entry`;
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

/**
 * Rule 6: KGD refused (or revoked) the release. A refusal is reasoned (seed 002 §8(3)): its
 * grounds go into the detail and, machine-readable, into the result, so the operator can tell
 * the subscriber why.
 */
function refusedOutcome(
  request: VerifyRequest,
  imei: string,
  body: string,
  decision: DeclarationEntry | ApplicationRecord,
): RejectedDecision {
  const what =
    decision.status === 'revoked'
      ? `KGD revoked the release decision of application ${decision.applicationId}`
      : `KGD refused release under application ${decision.applicationId}`;
  const { grounds } = decision;
  if (grounds === undefined) return rejected(request, imei, body, 'declaration_refused', what);
  return { ...rejected(request, imei, body, 'declaration_refused', `${what}: ${grounds}`), grounds };
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
  const decided = listed ?? application;
  const status = decided?.status;
  trace?.(
    decided === undefined
      ? `application ${applicationId}: no KGD decision yet`
      : `application ${applicationId}: ${decided.status}, ${procedureText(decided.procedure)}, ${listed ? 'lists' : 'does not list'} this IMEI`,
  );
  if (decided === undefined || status === 'registered') {
    return pending(request, imei, body, `no KGD release decision yet for application ${applicationId}`);
  }
  if (status === 'refused' || status === 'revoked') return refusedOutcome(request, imei, body, decided);
  // Out of scope before "does not list": the IMEIs of such a declaration are not stored.
  if (!inScope(decided.hsCode, settings))
    return outOfScope(request, imei, body, applicationId, decided.hsCode);
  if (listed === undefined) {
    return rejected(
      request,
      imei,
      body,
      'declaration_mismatch',
      `application ${applicationId} does not list this IMEI`,
    );
  }
  const { procedure } = listed;
  if (!provesEntry(procedure, settings)) {
    return rejected(
      request,
      imei,
      body,
      'procedure_not_eligible',
      notEligibleDetail(applicationId, procedure),
    );
  }
  return confirmed(
    request,
    imei,
    body,
    tac,
    evidenceOf(procedure),
    applicationId,
    procedure,
    releasedDetail(applicationId, procedure),
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
  let unscoped: DeclarationEntry | undefined;
  let refusal: DeclarationEntry | undefined;
  for (const entry of declarations) {
    trace?.(
      `declarations: application ${entry.applicationId}, ${procedureText(entry.procedure)}, ${entry.status}`,
      'customs',
    );
    if (entry.status === 'released') {
      if (!inScope(entry.hsCode, settings)) {
        unscoped ??= entry;
      } else if (provesEntry(entry.procedure, settings)) {
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
      evidenceOf(eligible.procedure),
      eligible.applicationId,
      eligible.procedure,
      releasedDetail(eligible.applicationId, eligible.procedure),
    );
  }
  if (unscoped !== undefined) return outOfScope(request, imei, body, unscoped.applicationId, unscoped.hsCode);
  if (ineligible !== undefined) {
    return rejected(
      request,
      imei,
      body,
      'procedure_not_eligible',
      notEligibleDetail(ineligible.applicationId, ineligible.procedure),
    );
  }
  if (refusal !== undefined) return refusedOutcome(request, imei, body, refusal);
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
