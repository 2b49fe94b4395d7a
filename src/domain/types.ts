/**
 * The domain vocabulary shared by the main thread and the workers: requests, index records,
 * decisions and the reason codes of the contract (DESIGN.md §4). Types only, plus the code
 * lists as `as const` arrays so the docs test can check every code is documented.
 */

export const CHANNELS = ['import', 'individual', 'local'] as const;
export type Channel = (typeof CHANNELS)[number];

export const REJECT_REASONS = [
  'invalid_request',
  'malformed_imei',
  'luhn_mismatch',
  'tac_unknown',
  'blocklisted',
  'declaration_refused',
  'declaration_mismatch',
  'procedure_not_eligible',
  'hs_out_of_scope',
  'review_rejected',
  'duplicate_request',
  'purged',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export const PENDING_REASONS = ['awaiting_kgd'] as const;
export type PendingReason = (typeof PENDING_REASONS)[number];

export const REVIEW_REASONS = ['kgd_timeout', 'owner_conflict'] as const;
export type ReviewReason = (typeof REVIEW_REASONS)[number];

/**
 * Why a registered device is in the review queue without a request waiting. `kgd_refuted`: a
 * reviewer confirmed it and KGD has since refused or revoked it; it stays registered until a
 * reviewer keeps or withdraws it: never silently kept, never silently withdrawn. No result is ever
 * published for it (its request's final outcome stands).
 */
export const FLAG_REASONS = ['kgd_refuted'] as const;
export type FlagReason = (typeof FLAG_REASONS)[number];

/**
 * `kgd-release`: KGD released the device under an eligible customs procedure. `eaeu-import`: KGD
 * records its import from another EAEU member state, which has no customs procedure (seed 000
 * §4(6)). `manual`: a reviewer confirmed it. `local-production`: produced or repaired in Kazakhstan.
 */
export const EVIDENCE_KINDS = ['kgd-release', 'eaeu-import', 'manual', 'local-production'] as const;
export type Evidence = (typeof EVIDENCE_KINDS)[number];

export const DECLARATION_STATUSES = ['registered', 'released', 'refused', 'revoked'] as const;
export type DeclarationStatus = (typeof DECLARATION_STATUSES)[number];

/** A verification request after validation. The IMEI is still as sent; rule 2 normalises it. */
export interface VerifyRequest {
  readonly requestId: string;
  readonly imei: string;
  readonly operator: string;
  readonly channel: Channel;
  readonly ownerId?: string;
  readonly msisdn?: string;
  readonly applicationId?: string;
  readonly submittedAt?: string;
}

/**
 * Where an input was read from, `<partition>/<offset>` of the requests topic: a replay of the
 * same position is not a duplicate (rule 10).
 */
export type SourceId = string;

/** One row of the GSMA TAC database. */
export interface TacRecord {
  readonly tac: string;
  readonly brand: string;
  readonly model: string;
  readonly marketingName: string;
  readonly manufacturer: string;
  readonly deviceType: string;
  readonly operatingSystem: string;
  readonly bands: string;
  readonly allocationDate: string | null;
}

export interface BlockEntry {
  readonly source: string;
  readonly reason: string;
  readonly since: string | null;
}

/** One customs application listing an IMEI (seed 000, appendix 2). */
export interface DeclarationEntry {
  readonly applicationId: string;
  /**
   * The two-digit customs procedure; null for an import from another EAEU member state, which
   * crosses no customs border and has no procedure (seed 000 §4(6); `customs.ts` ImportKind).
   */
  readonly procedure: string | null;
  readonly status: DeclarationStatus;
  readonly hsCode: string | null;
  readonly decidedAt: string | null;
  /**
   * KGD's grounds for a refusal (or revocation): a reasoned refusal names the reasons and how to
   * remedy them (seed 002 §8(3): «бас тарту үшін негіз болған себептерді және оларды жою жөніндегі
   * нұсқамаларды»; seed 003, appendix 2: «Бас тарту негіздемесі»). Present only when KGD gave
   * them, so the common entry keeps its shared msgpack shape (src/store/structures.ts).
   */
  readonly grounds?: string;
}

export interface ApplicationRecord {
  readonly applicationId: string;
  /** As DeclarationEntry.procedure: null for an import from an EAEU member state. */
  readonly procedure: string | null;
  readonly status: DeclarationStatus;
  readonly imeiCount: number;
  readonly hsCode: string | null;
  readonly decidedAt: string | null;
  /** The grounds of the application's latest decision, when KGD gave them (DeclarationEntry.grounds). */
  readonly grounds?: string;
  /**
   * The latest refusal or revocation of the whole application (one that named no IMEI): it
   * stands for every IMEI the application lists, including IMEIs a decision of an earlier date
   * lists after it arrived (src/store/declarations.ts).
   */
  readonly wide?: DeclarationEntry;
}

/** A device produced or repaired in Kazakhstan: proof of legal presence for channel `local`. */
export interface LocalProductionRecord {
  readonly producerId: string;
  readonly reference: string;
  readonly producedAt: string | null;
}

/** What was confirmed to БДИК for a device. */
export interface RegistryEntry {
  readonly requestId: string;
  /** The request partition the device's state lives in (partition-local state, DESIGN.md §3). */
  readonly partition: number;
  readonly imei: string;
  readonly ownerId: string | null;
  readonly msisdn: string | null;
  readonly evidence: Evidence;
  readonly applicationId: string | null;
  readonly procedure: string | null;
  readonly at: string;
  /**
   * The operator whose request registered the device (its code: the request's `operator`), so
   * that an operator reads the owner and phone of the devices it registered (src/security/
   * tenancy.ts). Null for a registration recorded before imeiflow kept it (store schema 2, or a
   * БДИК confirmation written before it carried `operator`).
   */
  readonly operator: string | null;
  /** Read back after a purge destroyed the key of its owner and phone: both null, the entry to go. */
  readonly erased?: true;
}

export interface DeviceSummary {
  readonly tac: string;
  readonly brand: string;
  readonly model: string;
  readonly deviceType: string;
}

export interface ConfirmedDecision {
  readonly outcome: 'confirmed';
  readonly requestId: string;
  readonly imei: string;
  readonly body: string;
  readonly evidence: Evidence;
  readonly applicationId: string | null;
  readonly procedure: string | null;
  readonly device: DeviceSummary;
  readonly ownerId: string | null;
  readonly msisdn: string | null;
  /** The operator that asked (the request's `operator`): БДИК's confirmation names it. */
  readonly operator: string;
  /**
   * Whether БДИК gets a confirmation. False for an idempotent re-registration by the same
   * owner with an unchanged phone number (rule 5): БДИК already has that device.
   */
  readonly notify: boolean;
  readonly detail: string;
}

export interface RejectedDecision {
  readonly outcome: 'rejected';
  readonly requestId: string;
  /** The 15-digit IMEI when it could be normalised, else the IMEI as sent. */
  readonly imei: string;
  readonly body: string | null;
  readonly reason: RejectReason;
  readonly detail: string;
  /** `declaration_refused`: KGD's grounds, when it gave them (DeclarationEntry.grounds). */
  readonly grounds?: string;
}

export interface PendingDecision {
  readonly outcome: 'pending';
  readonly requestId: string;
  readonly imei: string;
  readonly body: string;
  readonly reason: PendingReason;
  readonly detail: string;
}

export interface ReviewDecision {
  readonly outcome: 'review';
  readonly requestId: string;
  readonly imei: string;
  readonly body: string;
  readonly reason: ReviewReason;
  readonly detail: string;
}

export type FinalDecision = ConfirmedDecision | RejectedDecision;
export type Decision = FinalDecision | PendingDecision | ReviewDecision;
export type Outcome = Decision['outcome'];

/** The outcomes store: the final decision for a requestId and where its request was read. */
export interface OutcomeRecord {
  readonly decision: FinalDecision;
  readonly source: SourceId | null;
  readonly at: string;
  /** Read back after a purge destroyed the key of the decision's owner and phone (RegistryEntry.erased). */
  readonly erased?: true;
}

/**
 * The read-only view of the indexes the rules need. The worker implements it over LMDB;
 * tests implement it over plain maps.
 */
export interface IndexView {
  tac(tac: string): TacRecord | undefined;
  blocked(body: string): BlockEntry | undefined;
  declarations(body: string): readonly DeclarationEntry[] | undefined;
  application(applicationId: string): ApplicationRecord | undefined;
  localProduction(body: string): LocalProductionRecord | undefined;
  registered(body: string): RegistryEntry | undefined;
  outcome(requestId: string): OutcomeRecord | undefined;
}

/** A request waiting for evidence (stage awaiting_kgd) or for a reviewer (stage review). */
export interface PendingEntry {
  readonly request: VerifyRequest;
  /** The request partition: pending state is partition-local and moves with it. */
  readonly partition: number;
  readonly source: SourceId;
  readonly stage: 'awaiting_kgd' | 'review';
  readonly reason: PendingReason | ReviewReason | FlagReason;
  readonly detail: string;
  /**
   * When the request was received: its Kafka timestamp (ISO, UTC). The deadline runs from here,
   * so a backlog in imeiflow does not stretch the seed's one working day.
   */
  readonly since: string;
  /** When an awaiting_kgd request moves to review (ISO, UTC); null once in review. */
  readonly deadline: string | null;
  /** Read back after a purge destroyed the key of the request's owner and phone (RegistryEntry.erased). */
  readonly erased?: true;
}
