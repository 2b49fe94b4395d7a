/**
 * Makes a partition consistent before its new owner runs it (Kafka Streams' changelog reader):
 *
 * 1. the last JOURNAL_WINDOW journal records: publish exactly the outputs missing after the last
 *    position header in each output partition (forwards are all sent again: their destination
 *    drops the ones it has);
 * 2. the partition's state written by whoever owned it since this instance last did: waiting
 *    requests from the pending changelog, the registry from the БДИК confirmations and
 *    revocations themselves, merged in the order they were decided;
 * 3. the journal records' state stored again (idempotent), last: it is the newest, and each
 *    record's changes are relative to the state before its batch, which step 2 has rebuilt;
 * 4. where to resume: the journaled positions (or the group's offsets when there is no journal).
 *
 * A journal or changelog record this build cannot read stops the partition with an error naming
 * topic, partition and offset: nothing is ever skipped silently.
 */

import type { Database } from 'lmdb';
import { devicePartition } from '../domain/device-partition.js';
import type { RegistryEntry } from '../domain/types.js';
import { ImeiflowError } from '../errors.js';
import type { Logger } from '../log.js';
import { bodyOfPendingKey } from '../pool/batch-writer.js';
import { applyStateOps } from '../pool/state-ops.js';
import { putPending } from '../store/pending-index.js';
import { rangeSteps } from '../store/range-steps.js';
import { putRestoredPending, putRestoredRegistry } from '../store/sealed-writes.js';
import { ChangelogFormatError, decodePendingRecord } from '../store/state-codec.js';
import { allOrNothing, type Store } from '../store/store.js';
import {
  decodeJournal,
  type InputPositions,
  JOURNAL_WINDOW,
  JournalFormatError,
  type JournalRecord,
} from './journal.js';
import { keyOf, type LogMessage, type OutputSink, type PartitionLog } from './kafka-port.js';
import { lastOutputSeq, publishMissing } from './output-tails.js';
import type { TaskStart } from './partition-task.js';
import { outputOrder } from './positions.js';
import type { RecordCollector } from './record-collector.js';
import { decodeConfirmationValue } from './table-decoders.js';

export interface RecoveryTopics {
  readonly journal: string;
  readonly requests: string;
  readonly repartition: string;
  readonly commands: string;
  readonly pendingChangelog: string;
  readonly confirmations: string;
  readonly revocations: string;
}

export interface RecoveryDeps {
  readonly store: Store;
  readonly log: PartitionLog;
  readonly sink: OutputSink;
  readonly collector: RecordCollector;
  readonly topics: RecoveryTopics;
  readonly logger: Logger;
  /** The group's committed positions, when the journal has nothing for a partition. */
  readonly committed: (partition: number) => Promise<InputPositions>;
  /** Input the broker deleted before anyone read it. */
  readonly inputLost: (topic: string, count: number) => void;
  /**
   * A record imeiflow does not write, passed while restoring (the record validator sends the
   * changelog's to the DLQ once per cluster). A record of a newer format stops the partition.
   */
  readonly skipped?: (message: LogMessage, error: string) => void;
  /** Partitions of the device topics. */
  readonly partitions: number;
  /**
   * How long a local copy of a partition's state may be trusted to catch up from the changelogs:
   * less than the changelogs keep a tombstone (`delete.retention.ms`), or a deletion compacted
   * away while this instance did not hold the partition would never reach it.
   */
  readonly localStateMaxAgeMs: number;
  readonly now?: () => number;
}

/** LMDB meta key: when this instance last held a partition's state current (ms since epoch). */
export function heldKey(partition: number): string {
  return `held/${partition}`;
}

/**
 * Forget this instance's copy of a partition's waiting requests and registry, so it is restored
 * whole from the changelogs (Kafka Streams wipes a task's state it can no longer trust the same
 * way). In steps, the event loop free between them.
 */
async function forgetPartition(deps: RecoveryDeps, partition: number): Promise<number> {
  const { store, topics } = deps;
  // The checkpoints go first, in one transaction: a recovery that dies after forgetting part of
  // the copy must not find them next time and catch up from them, never restoring what it forgot
  // (found by the simulation: a device dropped from the registry, confirmed to БДИК again).
  await store.env.transaction(() => {
    for (const topic of [topics.pendingChangelog, topics.confirmations, topics.revocations])
      store.meta.remove(restoredKey(topic, partition));
  });
  let forgotten = 0;
  for (const db of ['pending', 'registry'] as const) {
    for await (const step of rangeSteps<unknown>(store, store[db] as Database<unknown, string>)) {
      const bodies = step
        .map((e) => e.key)
        .filter((body) => devicePartition(body, deps.partitions) === partition);
      if (bodies.length === 0) continue;
      await store.env.transaction(() => {
        for (const body of bodies) {
          if (db === 'pending') putPending(store, body, null);
          else store.registry.remove(body);
        }
      });
      forgotten += bodies.length;
    }
  }
  return forgotten;
}

/**
 * A partition task's own changelog writes up to `next` are stored in LMDB: a later restore may
 * start after them, and this instance holds the partition's state current as of `now`. Returns
 * the write to wait for, if there is one.
 */
export function recordCheckpoint(
  store: Store,
  partition: number,
  topic: string,
  next: number,
  now: number,
): Promise<boolean> | undefined {
  void store.meta.put(heldKey(partition), now);
  const key = restoredKey(topic, partition);
  if ((store.meta.get(key) ?? -1) >= next) return undefined;
  return store.meta.put(key, next);
}

/** LMDB meta key: the changelog offset up to which this instance's state of a partition is current. */
export function restoredKey(topic: string, partition: number): string {
  return `restored/${topic}/${partition}`;
}

function unreadable(topic: string, partition: number, offset: number, reason: string): ImeiflowError {
  return new ImeiflowError(
    'RECORD_UNREADABLE',
    `${topic}[${partition}] offset ${offset} cannot be read by this imeiflow (${reason}); ` +
      'the partition stays stopped: run the imeiflow version that wrote it, or see docs/operations.md',
  );
}

export async function recoverPartition(deps: RecoveryDeps, partition: number): Promise<TaskStart> {
  const { store, topics } = deps;
  // The checkpoints this instance's tasks wrote last (a drain just before this, on a rebalance
  // that gives the partition back to it) must be visible: read before they commit, a fresh copy
  // looked unknown and was restored whole for nothing.
  await store.env.committed;
  // Where this instance's copy of the partition's state stands, read before anything below
  // publishes changelog records (publishing moves the ends past records not yet read).
  store.env.resetReadTxn();
  let restoredFrom = {
    pending: store.meta.get(restoredKey(topics.pendingChangelog, partition)) ?? 0,
    confirmations: store.meta.get(restoredKey(topics.confirmations, partition)) ?? 0,
    revocations: store.meta.get(restoredKey(topics.revocations, partition)) ?? 0,
  };
  const heldAt = store.meta.get(heldKey(partition));
  const now = deps.now?.() ?? Date.now();
  const hasCopy = restoredFrom.pending + restoredFrom.confirmations + restoredFrom.revocations > 0;
  if (hasCopy && (heldAt === undefined || now - heldAt > deps.localStateMaxAgeMs)) {
    // Too old to catch up: a deletion's tombstone may have been compacted away meanwhile.
    const forgotten = await forgetPartition(deps, partition);
    restoredFrom = { pending: 0, confirmations: 0, revocations: 0 };
    deps.logger.info(
      { partition, heldAt: heldAt === undefined ? null : new Date(heldAt).toISOString(), forgotten },
      'local copy of the partition too old to catch up: restoring it whole',
    );
  }
  const records = await readJournal(deps, partition);
  let start: TaskStart;
  const newest = records[records.length - 1];
  if (newest !== undefined) {
    await publishMissing(deps, partition, records);
    start = { seq: newest.seq, positions: newest.inputs, forwarded: newest.forwarded };
  } else {
    // No journal (deleted, or never written): sequences still only grow, from past the last one
    // any output of this partition carries, so positions stay comparable with what is already in
    // the output topics and the registry's merge order (issue 20).
    start = {
      seq: await lastOutputSeq(deps, partition),
      positions: await deps.committed(partition),
      forwarded: [],
    };
  }
  start = { ...start, positions: await checkRetention(deps, partition, start.positions) };
  const pending = await restorePending(deps, partition, restoredFrom.pending);
  const registry = await restoreRegistry(
    deps,
    partition,
    restoredFrom.confirmations,
    restoredFrom.revocations,
  );
  // After the changelogs, not before, for two reasons. A record stores changes against the state
  // before its batch (the index by application changes only when the applications a device's
  // waiting requests name do): stored first into a new instance's empty store, a device whose
  // requests changed in the window without changing their applications was left out of that
  // index, as restoring its older changelog records then found its newer requests already there.
  // And the changelogs replay older changes: a revocation whose partition was slow is read back
  // while the confirmation that registered the device again one batch later, already stored and
  // checkpointed, is not, and the device was removed from the registry; the window's own
  // registry change now comes after it.
  await allOrNothing(store, () => {
    for (const record of records) applyStateOps(store, record.outputs);
  });
  deps.logger.info(
    {
      partition,
      seq: start.seq,
      positions: start.positions,
      pendingRecords: pending,
      registryRecords: registry,
    },
    'partition recovered',
  );
  return start;
}

async function readJournal(deps: RecoveryDeps, partition: number): Promise<JournalRecord[]> {
  const topic = deps.topics.journal;
  // The last JOURNAL_WINDOW records, whatever else was written after them: a record imeiflow does
  // not write is nobody's batch, so the read goes further back past it.
  for (let count = JOURNAL_WINDOW; ; count *= 2) {
    const messages = await deps.log.lastMessages(topic, partition, count);
    const records: JournalRecord[] = [];
    const skipped: [LogMessage, string][] = [];
    for (const m of messages) {
      if (m.value === null) continue;
      try {
        records.push(decodeJournal(m.value));
      } catch (error) {
        if (!(error instanceof JournalFormatError)) throw error;
        if (error.newer) throw unreadable(topic, partition, m.offset, error.message);
        skipped.push([m, error.message]);
      }
    }
    if (records.length >= JOURNAL_WINDOW || messages.length < count || skipped.length === 0) {
      for (const [m, error] of skipped) deps.skipped?.(m, error);
      return records.sort((a, b) => a.seq - b.seq).slice(-JOURNAL_WINDOW);
    }
  }
}

/**
 * Messages the broker deleted before anyone read them are lost input: say so loudly (the
 * embedded cluster keeps ~5 MB per partition; a real cluster's retention can expire too).
 */
async function checkRetention(
  deps: RecoveryDeps,
  partition: number,
  positions: InputPositions,
): Promise<InputPositions> {
  let result = positions;
  for (const input of ['requests', 'repartition', 'commands'] as const) {
    const topic = deps.topics[input];
    const { low } = await deps.log.bounds(topic, partition);
    const next = result[input];
    if (next < low) {
      deps.logger.error(
        { topic, partition, next, firstKept: low, lost: low - next },
        'input was deleted by the broker before it was read: these messages cannot be answered',
      );
      deps.inputLost(topic, low - next);
      result = { ...result, [input]: low };
    }
  }
  return result;
}

async function restorePending(deps: RecoveryDeps, partition: number, from: number): Promise<number> {
  const { store } = deps;
  const topic = deps.topics.pendingChangelog;
  let applied = 0;
  const end = await deps.log.readToEnd(topic, partition, from, async (batch) => {
    const changes: [string, ReturnType<typeof decodePendingRecord> | null][] = [];
    for (const m of batch) {
      const body = bodyOfPendingKey(keyOf(m) ?? '');
      if (body === undefined) {
        deps.skipped?.(m, 'a key that is not p/<IMEI body>');
        continue;
      }
      try {
        changes.push([body, m.value === null ? null : decodePendingRecord(m.value)]);
      } catch (error) {
        if (!(error instanceof ChangelogFormatError)) throw error;
        if (error.newer) throw unreadable(topic, partition, m.offset, error.message);
        deps.skipped?.(m, error.message);
      }
    }
    await allOrNothing(store, () => putRestoredPending(store, changes));
    applied += batch.length;
  });
  await store.meta.put(restoredKey(topic, partition), end);
  return applied;
}

/**
 * The registry's changelog is what БДИК itself receives: a device is registered by its latest
 * confirmation unless a later revocation withdrew it.
 */
async function restoreRegistry(
  deps: RecoveryDeps,
  partition: number,
  confirmationsFrom: number,
  revocationsFrom: number,
): Promise<number> {
  const { store, topics } = deps;
  const revoked = new Map<string, number>();
  const revocationsEnd = await deps.log.readToEnd(
    topics.revocations,
    partition,
    revocationsFrom,
    async (batch) => {
      for (const m of batch) {
        const imei = keyOf(m);
        if (imei !== null) revoked.set(imei, Math.max(revoked.get(imei) ?? -1, outputOrder(m)));
      }
    },
  );
  const confirmedAt = new Map<string, number>();
  let applied = 0;
  const topic = topics.confirmations;
  const confirmationsEnd = await deps.log.readToEnd(topic, partition, confirmationsFrom, async (batch) => {
    const entries: RegistryEntry[] = [];
    for (const m of batch) {
      if (m.value === null) continue;
      const entry = decodeConfirmationValue(m.value, partition);
      if (!entry.ok) {
        // Not a confirmation imeiflow wrote: no registration of this partition.
        deps.skipped?.(m, entry.error);
        continue;
      }
      entries.push(entry.value);
      if (revoked.has(entry.value.imei)) confirmedAt.set(entry.value.imei, outputOrder(m));
    }
    await allOrNothing(store, () => putRestoredRegistry(store, entries));
    applied += batch.length;
  });
  // The removals and both checkpoints in one transaction: a crash between two of them would
  // restart the revocations from their old checkpoint and the confirmations from their new one,
  // and a device confirmed again after its revocation would be removed (issue 20). All or nothing,
  // so that one that throws midway leaves nothing behind.
  await allOrNothing(store, () => {
    for (const [imei, at] of revoked) {
      if ((confirmedAt.get(imei) ?? -1) < at) store.registry.remove(imei.slice(0, 14));
    }
    store.meta.put(restoredKey(topic, partition), confirmationsEnd);
    store.meta.put(restoredKey(topics.revocations, partition), revocationsEnd);
  });
  return applied + revoked.size;
}
