/**
 * The decisions the rules make, as values (src/domain/rules.ts): the constructors every rule uses,
 * and the trace a dry run reads them by.
 */
import type {
  ConfirmedDecision,
  Decision,
  DeviceSummary,
  Evidence,
  RejectedDecision,
  RejectReason,
  TacRecord,
  VerifyRequest,
} from './types.js';

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

export function rejected(
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

export function confirmed(
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
    operator: request.operator,
    notify: true,
    detail,
  };
}

export function pending(request: VerifyRequest, imei: string, body: string, detail: string): Decision {
  return { outcome: 'pending', requestId: request.requestId, imei, body, reason: 'awaiting_kgd', detail };
}
