/**
 * Destruction on request (`imeiflow purge`, `POST /v1/purge`), cluster-wide. A purge is ordered
 * by one audit entry (action `purge.imei`, `purge.iin` or `purge.application`, the target, the
 * basis, the time): the audit trail records it and is read by every instance, so the entry is
 * also the order each instance carries out when it stores it (`purgeFollower`):
 *
 * - its own derived state: declarations at once (a device's in the same transaction), outcomes
 *   and the rest in a sweep pass started at once (src/retention/retention-sweep.ts);
 * - a mark, so what Kafka brings back later is destroyed too (src/store/purge-marks.ts);
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
import type { AuditFollower } from '../pipeline/global-tables.js';
import type { AuditEvent } from '../security/audit-log.js';
import { removeDeviceDeclarations } from '../store/declarations.js';
import { type PurgeMarkIndex, putPurgeMark } from '../store/purge-marks.js';
import type { AuditEntry } from '../store/records.js';
import type { Store } from '../store/store.js';
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

export interface PurgeFollowerDeps {
  readonly sweep: RetentionSweep;
  readonly retention: RetentionConfig;
  readonly marks: PurgeMarkIndex;
  readonly destroyed: (kind: DestroyedKind, count: number) => void;
  readonly log: Logger;
}

/** Carries out the purges of the audit trail as this instance stores them (the audit table). */
export function purgeFollower(deps: PurgeFollowerDeps): AuditFollower {
  let orders: { target: PurgeTarget; orderedAt: number }[] = [];
  let declarations = 0;
  return {
    apply(store: Store, entries) {
      // A failed transaction is applied again from the start: begin afresh each time.
      orders = [];
      declarations = 0;
      const now = Date.now();
      for (const entry of entries) {
        const target = purgeOfAudit(entry);
        if (target === undefined) continue;
        const orderedAt = Date.parse(entry.at);
        if (!inForce(target, orderedAt, deps.retention, now)) continue;
        putPurgeMark(store, target, orderedAt);
        // In this transaction: a release decision stored after it is kept or ignored by its
        // time (the declarations table), never removed by a step that runs later.
        if (target.kind === 'imei') declarations += removeDeviceDeclarations(store, target.body);
        orders.push({ target, orderedAt });
      }
    },
    afterCommit() {
      if (orders.length === 0) return;
      for (const { target, orderedAt } of orders) deps.marks.put(target, orderedAt);
      if (declarations > 0) deps.destroyed('declaration', declarations);
      deps.log.info(
        { purges: orders.map((o) => `${o.target.kind} at ${new Date(o.orderedAt).toISOString()}`) },
        'purges ordered in the audit trail: carrying them out',
      );
      for (const { target } of orders)
        if (target.kind === 'application') void deps.sweep.purgeApplication(target.applicationId);
      void deps.sweep.requestPass();
      orders = [];
    },
  };
}
