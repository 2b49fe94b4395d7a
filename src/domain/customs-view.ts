/**
 * A decision as a customs view shows it (src/security/customs-view.ts says who has which view):
 * `full` as made; `reduced` and `none` without the application, procedure or KGD's grounds — why
 * the device is or is not verified, not whose application brought it in. Used for dry runs over
 * HTTP and for the results the operators read on their topics.
 */
import type { ConfirmedDecision, Decision, Evidence, RejectedDecision, RejectReason } from './types.js';

export type CustomsView = 'full' | 'reduced' | 'none';

/**
 * What a decision's detail says in place of customs data, per reason: why the device is or is not
 * verified, without which application, procedure or grounds (the reduced view).
 */
const REDUCED_REJECTIONS: Partial<Record<RejectReason, string>> = {
  declaration_refused: 'KGD refused or revoked the release',
  procedure_not_eligible: 'the customs procedure KGD released it under does not prove legal entry',
  hs_out_of_scope: 'the declaration’s HS code is outside the devices this service covers',
};

const REDUCED_EVIDENCE: Partial<Record<Evidence, string>> = {
  'kgd-release': 'legal entry proven: KGD released it under a customs procedure that proves it',
  'eaeu-import': 'legal entry proven: KGD records its import from an EAEU member state',
};

/** A decision as `view` shows it: `full` as made; otherwise without application, procedure or grounds. */
export type DecisionInView =
  | Decision
  | Omit<ConfirmedDecision, 'applicationId' | 'procedure'>
  | Omit<RejectedDecision, 'grounds'>;

export function decisionInView(view: CustomsView, decision: Decision): DecisionInView {
  if (view === 'full') return decision;
  const withheld = ` (customs details withheld: customs view ${view})`;
  switch (decision.outcome) {
    case 'confirmed': {
      const { applicationId, procedure: _procedure, ...rest } = decision;
      // A registration confirmed again (rule 5) says so without customs data; a release names it.
      const cited = applicationId !== null && decision.detail.includes(applicationId);
      const reduced = REDUCED_EVIDENCE[decision.evidence];
      return cited && reduced !== undefined ? { ...rest, detail: reduced + withheld } : rest;
    }
    case 'rejected': {
      const { grounds: _grounds, ...rest } = decision;
      const reduced = REDUCED_REJECTIONS[decision.reason];
      return reduced === undefined ? rest : { ...rest, detail: reduced + withheld };
    }
    default:
      // Pending names only the application the request itself named; review names none.
      return decision;
  }
}
