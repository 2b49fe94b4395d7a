/**
 * The audit trail (seed 001; DESIGN.md §2): every read of personal data, every review decision,
 * every load and every token change, with who, role, basis, target and the time in UTC and in
 * Astana time. Written to the LMDB `audit` store (queryable over HTTP) and appended to
 * `audit.jsonl` in the data directory, a plain file that can be shipped and archived.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { toLocalIso } from '../domain/working-day.js';
import type { AuditEntry } from '../store/records.js';
import type { Store } from '../store/store.js';

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

export class AuditLog {
  readonly #store: Store;
  readonly #file: WriteStream;
  #counter = 0;

  constructor(store: Store, dataDir: string) {
    this.#store = store;
    mkdirSync(dataDir, { recursive: true });
    this.#file = createWriteStream(join(dataDir, 'audit.jsonl'), { flags: 'a' });
  }

  /** Record an event; resolves when it is in LMDB. */
  async record(event: AuditEvent, now = new Date()): Promise<AuditEntry> {
    const entry: AuditEntry = {
      at: now.toISOString(),
      atAstana: toLocalIso(now, ASTANA_OFFSET_MINUTES),
      actor: event.actor,
      role: event.role,
      action: event.action,
      basis: event.basis,
      target: event.target,
    };
    // Keys sort by time; the pid and counter keep two entries of one millisecond apart.
    const key = `${entry.at}#${process.pid}#${String(this.#counter++).padStart(8, '0')}`;
    this.#file.write(`${JSON.stringify(entry)}\n`);
    await this.#store.audit.put(key, entry);
    return entry;
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
