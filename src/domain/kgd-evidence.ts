/**
 * Rule 6 of DESIGN.md §4: the evidence of legal entry KGD's decisions give — the application a
 * request names, or any release decision that lists the IMEI (seeds 000 §8 and appendix 1, 002
 * §8(3), 003). A pure function of the indexes, as the other rules (src/domain/rules.ts).
 */
import { inScope, provesEntry, type RuleSettings } from './rule-settings.js';
import type {
  ApplicationRecord,
  Decision,
  DeclarationEntry,
  Evidence,
  IndexView,
  RejectedDecision,
  TacRecord,
  VerifyRequest,
} from './types.js';
import { confirmed, pending, rejected, type Trace } from './verdicts.js';

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

/** The confirmation a release under a procedure that proves entry gives (or an accepted EAEU import). */
function released(
  request: VerifyRequest,
  imei: string,
  body: string,
  tac: TacRecord,
  applicationId: string,
  procedure: string | null,
): Decision {
  const detail = releasedDetail(applicationId, procedure);
  return confirmed(request, imei, body, tac, evidenceOf(procedure), applicationId, procedure, detail);
}

/** The rejection of a release under a procedure that does not prove entry. */
function notEligible(
  request: VerifyRequest,
  imei: string,
  body: string,
  applicationId: string,
  procedure: string | null,
): RejectedDecision {
  const detail =
    procedure === null
      ? `application ${applicationId} records an import from an EAEU member state, which this service does not accept as proof of legal entry`
      : `customs procedure ${procedure} of application ${applicationId} does not prove legal entry`;
  return rejected(request, imei, body, 'procedure_not_eligible', detail);
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

/** Rule 6 with an applicationId: that application is the only evidence considered. */
export function applicationOutcome(
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
    return notEligible(request, imei, body, applicationId, procedure);
  }
  return released(request, imei, body, tac, applicationId, procedure);
}

/** Rule 6 without an applicationId: any release decision that lists the IMEI. */
export function anyDeclarationOutcome(
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
    return released(request, imei, body, tac, eligible.applicationId, eligible.procedure);
  }
  if (unscoped !== undefined) return outOfScope(request, imei, body, unscoped.applicationId, unscoped.hsCode);
  if (ineligible !== undefined) {
    return notEligible(request, imei, body, ineligible.applicationId, ineligible.procedure);
  }
  if (refusal !== undefined) return refusedOutcome(request, imei, body, refusal);
  return pending(request, imei, body, 'declarations listing this IMEI are not decided yet');
}
