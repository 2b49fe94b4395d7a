/**
 * The audit trail (seed 001; DESIGN.md §2): every read of personal data, every review decision,
 * every load and every token change, with who, role, basis, target and the time in UTC and in
 * Astana time.
 *
 * One ordered trail for the cluster: an instance (or the CLI acting on a cluster) publishes each
 * entry to the audit topic and returns once Kafka has it; every instance reads the topic into its
 * LMDB `audit` store (what GET /v1/audit queries) and appends it to `audit.jsonl` in its data
 * directory, a plain file that can be shipped and archived — so each instance holds the whole
 * trail. With no cluster to reach (the CLI on a stopped embedded service) an entry is written
 * to the store and the file directly.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { toLocalIso } from '../domain/working-day.js';
import type { OutputSink } from '../pipeline/kafka-port.js';
import type { AuditEntry } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { EventSigner } from './signed-events.js';

export interface AuditEvent {
  readonly actor: string;
  readonly role: string;
  readonly action: string;
  readonly basis: string | null;
  readonly target: string | null;
}

export interface AuditQuery {
  readonly from?: string;
  readonly to?: string;
  readonly actor?: string;
  readonly action?: string;
  readonly limit: number;
}

const ASTANA_OFFSET_MINUTES = 300;

/** Sends an entry to the cluster's audit trail; resolves once Kafka has it. */
export type AuditPublisher = (entry: AuditEntry) => Promise<void>;

/**
 * An audit publisher over imeiflow's producer: one partition, so the trail has one order. Every
 * entry is signed with the cluster key: a purge's entry is an order every instance carries out,
 * and they refuse one that is not signed (src/security/signed-events.ts).
 */
export function kafkaAuditPublisher(sink: OutputSink, topic: string, signer: EventSigner): AuditPublisher {
  return async (entry) => {
    await sink.send([
      signer.sign('audit', {
        topic,
        partition: 0,
        key: entry.actor,
        value: Buffer.from(JSON.stringify(entry)),
      }),
    ]);
  };
}

/** An event as the trail records it: the time in UTC and in Astana time. */
export function auditEntryOf(event: AuditEvent, now = new Date()): AuditEntry {
  return {
    at: now.toISOString(),
    atAstana: toLocalIso(now, ASTANA_OFFSET_MINUTES),
    actor: event.actor,
    role: event.role,
    action: event.action,
    basis: event.basis,
    target: event.target,
  };
}

export class AuditLog {
  readonly #store: Store;
  readonly #file: WriteStream;
  readonly #publish: AuditPublisher | undefined;
  #counter = 0;

  /** `publish`: the cluster's trail; without it, entries go to this store and file only. */
  constructor(store: Store, dataDir: string, publish?: AuditPublisher) {
    this.#store = store;
    this.#publish = publish;
    mkdirSync(dataDir, { recursive: true });
    this.#file = createWriteStream(join(dataDir, 'audit.jsonl'), { flags: 'a' });
  }

  /** Record an event; resolves when the cluster's trail (or, alone, this store) has it. */
  async record(event: AuditEvent, now = new Date()): Promise<AuditEntry> {
    const entry = auditEntryOf(event, now);
    if (this.#publish !== undefined) {
      await this.#publish(entry);
      return entry;
    }
    // Keys sort by time; the pid and counter keep two entries of one millisecond apart.
    const key = `${entry.at}#${process.pid}#${String(this.#counter++).padStart(8, '0')}`;
    this.archive([entry]);
    await this.#store.audit.put(key, entry);
    return entry;
  }

  /** Append entries to `audit.jsonl` (the audit global table calls it for the cluster's trail). */
  archive(entries: readonly AuditEntry[]): void {
    for (const entry of entries) this.#file.write(`${JSON.stringify(entry)}\n`);
  }

  query(query: AuditQuery): AuditEntry[] {
    this.#store.env.resetReadTxn();
    const entries: AuditEntry[] = [];
    const range = this.#store.audit.getRange({
      ...(query.from === undefined ? {} : { start: query.from }),
      // '~' sorts after the '#' suffix of every key of that instant.
      ...(query.to === undefined ? {} : { end: `${query.to}~` }),
    });
    for (const { value } of range) {
      if (query.actor !== undefined && value.actor !== query.actor) continue;
      if (query.action !== undefined && value.action !== query.action) continue;
      entries.push(value);
      if (entries.length >= query.limit) break;
    }
    return entries;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#file.end(() => resolve()));
  }
}

/**
 * The purges of owners in this store's trail that name any of `pseudonyms`: how an admin checks
 * whether an IIN was purged, the trail naming owners only by pseudonym (src/store/pseudonyms.ts).
 */
export function purgesNaming(store: Store, pseudonyms: readonly string[]): AuditEntry[] {
  store.env.resetReadTxn();
  const entries: AuditEntry[] = [];
  for (const { value } of store.audit.getRange()) {
    if (value.action !== 'purge.iin' || value.target === null) continue;
    const named = value.target.split(' ');
    if (pseudonyms.some((p) => named.includes(p))) entries.push(value);
  }
  return entries;
}
