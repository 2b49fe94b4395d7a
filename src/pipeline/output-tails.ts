/**
 * What recovery learns from the output topics themselves (step 1 of recovery.ts): every message a
 * partition's owner writes carries its position (`seq.idx`, positions.ts), and
 * reaches each output partition in order, so the last one there says which of a journal record's
 * outputs are missing — and how far the owner's sequence had come.
 */
import {
  ROLE_CONFIRMATIONS,
  ROLE_DLQ,
  ROLE_PENDING_CHANGELOG,
  ROLE_REPARTITION,
  ROLE_RESULTS,
  ROLE_REVOCATIONS,
  type RoleCode,
} from '../pool/batch-contract.js';
import { type JournalRecord, missingOutputs } from './journal.js';
import type { DeliveredOffsets, LogMessage, PartitionLog } from './kafka-port.js';
import { BEFORE_ANY_OUTPUT, type OutputPosition, outputPositionOf } from './positions.js';
import type { RecoveryDeps } from './recovery.js';

/** Roles whose output partition only this partition's owner writes, in order. */
const TAILED_ROLES: readonly RoleCode[] = [
  ROLE_RESULTS,
  ROLE_CONFIRMATIONS,
  ROLE_DLQ,
  ROLE_REVOCATIONS,
  ROLE_PENDING_CHANGELOG,
];
/** Messages read back per step when looking for the last position header of a partition. */
const TAIL_STEP = 256;

/** The highest seq an output of this partition's owner carries (0: none). */
export async function lastOutputSeq(deps: RecoveryDeps, partition: number): Promise<number> {
  let seq = 0;
  for (const topic of deps.collector.topics(TAILED_ROLES)) {
    seq = Math.max(seq, (await tailPosition(deps.log, topic, partition)).seq);
  }
  return seq;
}

/** The (seq, idx) of the last output of this partition's owner in an output partition. */
async function tailPosition(log: PartitionLog, topic: string, partition: number): Promise<OutputPosition> {
  const { low, high } = await log.bounds(topic, partition);
  // Other writers (the release-decision validator's DLQ entries) carry no position: look past them.
  for (let end = high; end > low; end -= TAIL_STEP) {
    const from = Math.max(low, end - TAIL_STEP);
    const found: LogMessage[] = [];
    await log.readToEnd(topic, partition, from, async (batch) => {
      for (const m of batch) if (m.offset < end) found.push(m);
    });
    for (let i = found.length - 1; i >= 0; i--) {
      const position = outputPositionOf(found[i]!);
      if (position !== undefined) return position;
    }
  }
  return BEFORE_ANY_OUTPUT;
}

export async function publishMissing(
  deps: RecoveryDeps,
  partition: number,
  records: readonly JournalRecord[],
): Promise<void> {
  const tails = new Map<string, OutputPosition>();
  for (const topic of deps.collector.topics(TAILED_ROLES))
    tails.set(topic, await tailPosition(deps.log, topic, partition));
  const deliveries: Promise<DeliveredOffsets>[] = [];
  for (const record of records) {
    const { outputs } = record;
    const missing = missingOutputs(record, (idx) => {
      const role = outputs.role(idx);
      // Forwards share their destination with other senders: all are sent again and the
      // destination drops those it has already taken.
      if (role === ROLE_REPARTITION) return BEFORE_ANY_OUTPUT;
      return TAILED_ROLES.includes(role) ? tails.get(deps.collector.destination(outputs, idx))! : null;
    });
    if (missing.length === 0) continue;
    deps.logger.info(
      { partition, seq: record.seq, outputs: missing.length },
      'publishing outputs the previous owner did not',
    );
    const { delivered } = await deps.collector.publish(record.seq, record.outputs, missing);
    // Handled now, awaited below: one that fails before the others are published is not an
    // unhandled rejection (found by the simulation: a failed delivery during a recovery).
    delivered.catch(() => undefined);
    deliveries.push(delivered);
  }
  await Promise.all(deliveries);
}
