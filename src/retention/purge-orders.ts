/**
 * Destruction on request (`imeiflow purge`, `POST /v1/purge`), cluster-wide. A purge is ordered
 * by one audit entry (action `purge.imei`, `purge.iin` or `purge.application`, the target, the
 * basis, the time): the audit trail records it and is read by every instance, so the entry is
 * also the order each instance carries out when it stores it (`purgeFollower`):
 *
 * - a mark, so what Kafka brings back later is destroyed too (src/store/purge-marks.ts), and
 *   in the same transaction the declarations it names (`recordPurge`); outcomes and the rest in
 *   a sweep pass started at once (src/retention/retention-sweep.ts); an instance that was away
 *   records the purges it missed before its global tables resume (`primePurges`), so a decision
 *   a purge removed is never applied again first;
 * - partition-local state (registry, waiting requests): the sweep sends the owners of the
 *   devices it finds a `purge` command. A device purge also sends one command straight away
 *   (`orderPurge`), so the device's БДИК records on Kafka are tombstoned even where no instance
 *   holds a registry entry for it any more.
 */
import type { RetentionConfig } from '../config/config.js';
import type { Command } from '../domain/commands.js';
import {
  DAY_MS,
  type DestroyedKind,
  type PurgeTarget,
  purgeAuditOf,
  purgeOfAudit,
} from '../domain/retention.js';
import type { Logger } from '../log.js';
import type { CommandSender } from '../pipeline/command-sender.js';
import { positionKey } from '../pipeline/global-tables.js';
import type { LogMessage, PartitionLog } from '../pipeline/kafka-port.js';
import type { Decoded } from '../pipeline/table-decoders.js';
import type { AuditFollower } from '../pipeline/tables.js';
import type { AuditEvent } from '../security/audit-log.js';
import { removeApplicationStep, removeDeviceDeclarations } from '../store/declarations.js';
import { type PurgeMarkIndex, putPurgeMark } from '../store/purge-marks.js';
import type { AuditEntry } from '../store/records.js';
import { allOrNothing, type Store } from '../store/store.js';
import type { RetentionSweep } from './retention-sweep.js';

export interface PurgeOrder {
  readonly target: PurgeTarget;
  readonly actor: string;
  readonly role: string;
  /** Why: the case, court order or request number. Required: every purge is justified. */
  readonly basis: string;
}

/** Where a purge is ordered: the audit trail, and (for a device) its owner's commands. */
export interface PurgeChannel {
  /** Record an event (AuditLog.record); resolves once the cluster's trail (or this store) has it. */
  readonly record: (event: AuditEvent, now: Date) => Promise<AuditEntry>;
  /** Absent without a cluster: then nothing else runs partitions, and the sweep acts alone. */
  readonly commands?: CommandSender;
}

/**
 * Order a purge: its audit entry (which every instance carries out), then for a device the
 * purge command to its owner. Returns the entry.
 */
export async function orderPurge(
  order: PurgeOrder,
  channel: PurgeChannel,
  now = new Date(),
): Promise<AuditEntry> {
  const { action, target } = purgeAuditOf(order.target);
  const entry = await channel.record(
    { actor: order.actor, role: order.role, action, basis: order.basis, target },
    now,
  );
  if (order.target.kind === 'imei' && channel.commands !== undefined) {
    const command: Command = { type: 'purge', body: order.target.body, issuedAt: entry.at };
    await channel.commands.send([command]);
  }
  return entry;
}

/** How long a purge still reaches anything: the longest any of its data can come back. */
function inForce(target: PurgeTarget, orderedAt: number, retention: RetentionConfig, now: number): boolean {
  const days = target.kind === 'iin' ? retention.requestsDays : retention.declarationsDays;
  return orderedAt >= now - days * DAY_MS;
}

interface RecordedOrder {
  readonly target: PurgeTarget;
  readonly orderedAt: number;
  /** Whether its data may still come back from Kafka (its mark is kept that long). */
  readonly inForce: boolean;
}

/**
 * A purge recorded in the audit trail, whatever its age: an instance back after any absence
 * destroys the keys of what it names before it serves a read (src/store/subject-keys.ts).
 */
function purgeOrderOf(
  entry: Pick<AuditEntry, 'action' | 'target' | 'at'>,
  store: Store,
  retention: RetentionConfig,
  now: number,
): RecordedOrder | undefined {
  const target = purgeOfAudit(entry, (iin) => store.pseudonyms.all(iin));
  if (target === undefined) return undefined;
  const orderedAt = Date.parse(entry.at);
  return { target, orderedAt, inForce: inForce(target, orderedAt, retention, now) };
}

/** What recording a purge removed on this instance. */
export interface Removed {
  readonly declarations: number;
  readonly applications: number;
  /** Subject keys destroyed: what they sealed of owners and phones is unreadable from now on. */
  readonly keys: number;
}

/**
 * Record a purge on this instance. First, whatever its age, the subject keys of the owner or the
 * device it names, made before it, are destroyed (zeroed and synced before the transaction
 * commits): from then on nothing this instance holds of them reads back, in any store or free
 * page. Then, while it is in force, its mark and, the first time, the removal of what the
 * declaration index holds of it, in the same transaction. From the mark on, the declarations
 * table ignores the decisions written before the purge, so every decision is either removed here
 * (stored before) or kept or ignored by its own time (stored after): none written after the
 * purge is ever removed by it. An application goes whole in this one transaction: a large one
 * holds the main thread once, for as long as its IMEIs take (not measured). Returns what was
 * removed, or undefined when nothing was new.
 */
export function recordPurge(
  store: Store,
  target: PurgeTarget,
  orderedAt: number,
  inForce = true,
): Removed | undefined {
  const keys =
    target.kind === 'application'
      ? 0
      : store.subjects.destroy(
          target.kind === 'iin' ? { owners: target.owners } : { body: target.body },
          orderedAt,
        );
  store.subjects.flush();
  if (!inForce || !putPurgeMark(store, target, orderedAt))
    return keys === 0 ? undefined : { declarations: 0, applications: 0, keys };
  switch (target.kind) {
    case 'imei':
      return { declarations: removeDeviceDeclarations(store, target.body), applications: 0, keys };
    case 'application': {
      const existed = store.applications.get(target.applicationId) !== undefined;
      const { removed } = removeApplicationStep(store, target.applicationId, Number.POSITIVE_INFINITY);
      return { declarations: removed, applications: existed ? 1 : 0, keys };
    }
    case 'iin':
      return { declarations: 0, applications: 0, keys };
  }
}

function reportRemoved(removed: Removed, destroyed: (kind: DestroyedKind, count: number) => void): void {
  if (removed.declarations > 0) destroyed('declaration', removed.declarations);
  if (removed.applications > 0) destroyed('application', removed.applications);
  if (removed.keys > 0) destroyed('subject_key', removed.keys);
}

const NOTHING: Removed = { declarations: 0, applications: 0, keys: 0 };

function plus(a: Removed, b: Removed | undefined): Removed {
  if (b === undefined) return a;
  return {
    declarations: a.declarations + b.declarations,
    applications: a.applications + b.applications,
    keys: a.keys + b.keys,
  };
}

export interface PurgeFollowerDeps {
  readonly sweep: RetentionSweep;
  readonly retention: RetentionConfig;
  readonly marks: PurgeMarkIndex;
  readonly destroyed: (kind: DestroyedKind, count: number) => void;
  readonly log: Logger;
}

/** Carries out the purges of the audit trail as this instance stores them (the audit table). */
export function purgeFollower(deps: PurgeFollowerDeps): AuditFollower {
  let orders: RecordedOrder[] = [];
  let removed = NOTHING;
  return {
    apply(store: Store, entries) {
      // A failed transaction is applied again from the start: begin afresh each time.
      orders = [];
      removed = NOTHING;
      const now = Date.now();
      for (const entry of entries) {
        const order = purgeOrderOf(entry, store, deps.retention, now);
        if (order === undefined) continue;
        removed = plus(removed, recordPurge(store, order.target, order.orderedAt, order.inForce));
        // At once: a release decision later in this same transaction must already be checked
        // against it (a failed transaction is retried until it commits, or the process stops).
        if (order.inForce) deps.marks.put(order.target, order.orderedAt);
        orders.push(order);
      }
    },
    afterCommit() {
      if (orders.length === 0) return;
      reportRemoved(removed, deps.destroyed);
      deps.log.info(
        { purges: orders.map((o) => `${o.target.kind} at ${new Date(o.orderedAt).toISOString()}`) },
        'purges ordered in the audit trail: carrying them out',
      );
      void deps.sweep.requestPass();
      orders = [];
    },
  };
}

export interface PrimeDeps {
  readonly store: Store;
  readonly reader: Pick<PartitionLog, 'readToEnd'>;
  /** The audit topic (one partition). */
  readonly topic: string;
  /**
   * The audit table's decoder (table-decoders.ts `tableDecoders`): only an entry signed with the
   * cluster key is an order; a forged one is refused here as the table refuses it.
   */
  readonly decode: (m: LogMessage) => Decoded<AuditEntry>;
  readonly retention: RetentionConfig;
  readonly marks: PurgeMarkIndex;
  readonly destroyed: (kind: DestroyedKind, count: number) => void;
}

/**
 * Before the global tables start: the purges of the audit trail this instance has not stored
 * yet, recorded now, so that no release decision they removed is applied again first (an
 * instance rebuilt from Kafka reads the decisions and the audit trail side by side). Reads from
 * the audit table's stored position: on a restart only what came while it was down.
 */
export async function primePurges(deps: PrimeDeps): Promise<number> {
  const { store } = deps;
  store.env.resetReadTxn();
  const from = store.meta.get(positionKey(deps.topic, 0)) ?? 0;
  let recorded = 0;
  const now = Date.now();
  await deps.reader.readToEnd(deps.topic, 0, from, async (batch) => {
    const orders = batch.flatMap((m) => {
      // What the table will not apply is no order (unreadable, or not signed: it counts those).
      const entry = deps.decode(m);
      const order = entry.ok ? purgeOrderOf(entry.value, store, deps.retention, now) : undefined;
      return order === undefined ? [] : [order];
    });
    if (orders.length === 0) return;
    let removed = NOTHING;
    let inBatch = 0;
    await allOrNothing(store, () => {
      removed = NOTHING;
      inBatch = 0;
      for (const { target, orderedAt, inForce } of orders) {
        const done = recordPurge(store, target, orderedAt, inForce);
        if (done === undefined) continue;
        removed = plus(removed, done);
        inBatch++;
      }
    });
    recorded += inBatch;
    for (const { target, orderedAt, inForce } of orders) if (inForce) deps.marks.put(target, orderedAt);
    reportRemoved(removed, deps.destroyed);
  });
  return recorded;
}
