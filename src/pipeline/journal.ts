/**
 * The journal: imeiflow's exactly-once commit point, one record per processed batch in
 * partition N of the journal topic (compacted, keyed by partition, so the newest record per
 * partition is kept forever).
 *
 * A batch's record holds everything the batch decided: the input positions after it, every
 * output message, and the local state it wrote. Appending it is atomic (one message), so a batch
 * is either wholly decided or not at all. Its outputs are then published to partition N of each
 * output topic with headers (seq, idx); when a partition changes hands or the process restarts,
 * the new owner reads the last record and publishes exactly the outputs that are missing (those
 * after the last (seq, idx) found in each output partition), then consumes from the recorded
 * input positions. Kafka transactions are not needed: the embedded cluster does not implement
 * them (src/kafka/embedded-cluster.ts), and the journal works the same on a real cluster.
 */
import type { OutcomeRecord } from '../domain/types.js';
import { storedAsIs } from '../store/store.js';
import { structuredPackr } from '../store/structures.js';

export const OUTPUT_ROLES = [
  'results',
  'confirmations',
  'dlq',
  'revocations',
  'pendingChangelog',
  'registryChangelog',
] as const;
export type OutputRole = (typeof OUTPUT_ROLES)[number];
export const ROLE_RESULTS = 0;
export const ROLE_CONFIRMATIONS = 1;
export const ROLE_DLQ = 2;
export const ROLE_REVOCATIONS = 3;
export const ROLE_PENDING_CHANGELOG = 4;
export const ROLE_REGISTRY_CHANGELOG = 5;
export type RoleCode = 0 | 1 | 2 | 3 | 4 | 5;
export const CHANGELOG_ROLES: readonly RoleCode[] = [ROLE_PENDING_CHANGELOG, ROLE_REGISTRY_CHANGELOG];

/** [role, key, value]: a message for partition N of the role's topic. */
export type JournalOutput = readonly [role: RoleCode, key: string | null, value: Uint8Array | null];

export interface InputPositions {
  /** Next offset to consume from the requests topic partition. */
  readonly requests: number;
  /** Next offset to consume from the commands topic partition. */
  readonly commands: number;
}

export interface JournalRecord {
  readonly seq: number;
  readonly partition: number;
  readonly inputs: InputPositions;
  readonly outputs: readonly JournalOutput[];
  /**
   * Final outcomes by requestId: local state, not published, restored from here after a crash.
   * Each is an OutcomeRecord packed once (`encodeOutcome`) and stored in LMDB as is; journals
   * written by earlier builds hold the record itself (`outcomeToStore` takes both).
   */
  readonly outcomes: readonly (readonly [string, Uint8Array | OutcomeRecord])[];
  readonly at: string;
}

const packr = structuredPackr();

export function encodeJournal(record: JournalRecord): Buffer {
  // A copy: msgpackr reuses its buffer, and librdkafka reads the value asynchronously.
  return Buffer.from(packr.pack(record));
}

export function decodeJournal(value: Buffer): JournalRecord {
  return packr.unpack(value) as JournalRecord;
}

/** An outcome as the outcomes store holds it: msgpack with the shared structures. */
export function encodeOutcome(outcome: OutcomeRecord): Uint8Array {
  return packr.pack(outcome);
}

/** A journaled outcome as `store.outcomes.put` takes it, in either journal format. */
export function outcomeToStore(outcome: Uint8Array | OutcomeRecord): OutcomeRecord {
  return outcome instanceof Uint8Array ? storedAsIs(outcome) : outcome;
}

/**
 * How many journal records of a partition may be unpublished at once. A batch is decided and
 * journaled while the previous one is still being published; recovery reads this many records.
 */
export const JOURNAL_WINDOW = 2;

/**
 * Keys cycle through JOURNAL_WINDOW values, so compaction keeps the newest JOURNAL_WINDOW
 * records of each partition: exactly the ones recovery needs.
 */
export function journalKey(partition: number, seq: number): string {
  return `p${partition}.${seq % JOURNAL_WINDOW}`;
}

/**
 * Of a record's outputs for one role, those not yet in the output partition whose last message
 * carries (lastSeq, lastIdx). Outputs are published in order, so everything after it is missing.
 */
export function missingOutputs(
  record: JournalRecord,
  role: RoleCode,
  lastSeq: number,
  lastIdx: number,
): number[] {
  const missing: number[] = [];
  if (lastSeq > record.seq) return missing;
  record.outputs.forEach(([r], idx) => {
    if (r === role && (lastSeq < record.seq || idx > lastIdx)) missing.push(idx);
  });
  return missing;
}
