/**
 * Global tables (Kafka Streams' GlobalKTable): every instance reads every partition of these
 * topics into its own LMDB, so state users see as one is the same on every instance — the
 * declaration index (from `kgd.release.decisions`, whichever door a decision came through), the
 * TAC table, the block list, local production, the review table (every partition's waiting
 * requests, from the pending changelog), and the months of the KGD exports loaded.
 *
 * They are read by the engine that reads topics into LMDB at stored positions (table-reader.ts):
 * a batch of messages is applied in one LMDB transaction together with the positions after it,
 * so each message is applied exactly once per instance. A batch that fails is not skipped: the
 * reader goes back to the stored positions and tries again; if it keeps failing the process
 * stops with the error (a restart resumes at the same positions).
 *
 * What each table does with its records is in tables.ts.
 */
import type { Component } from '../runtime/component.js';
import {
  type IndexChanges,
  type ReaderKind,
  type Table,
  TableReader,
  type TableReaderDeps,
} from './table-reader.js';

export {
  applyMessages,
  decodeAll,
  type IndexChanges,
  type SkippedRecord,
  type TableRecord,
} from './table-reader.js';

/** A global table: what the engine reads one of the tables' topics into. */
export type GlobalTable<V = unknown> = Table<V>;

export interface GlobalTablesDeps extends TableReaderDeps {
  /** The index changed: owners re-evaluate the requests waiting on it. */
  readonly onChanged: (changes: IndexChanges) => void;
  readonly consumed: (topic: string, count: number) => void;
}

/** LMDB meta key: the next offset of a global table's partition to apply. */
export function positionKey(topic: string, partition: number): string {
  return `global/${topic}/${partition}`;
}

/** Every partition of the tables' topics, from the positions under `global/`. */
const GLOBAL_TABLES: ReaderKind = {
  name: 'global tables',
  client: 'tables',
  label: 'global table reader',
  fetchWaitMs: 10,
  pollMs: 50,
  everyPartition: true,
  positionKey,
  maxConsumeFailures: 50,
  maxAttempts: 5,
};

export class GlobalTables implements Component {
  readonly name = GLOBAL_TABLES.name;
  readonly #reader: TableReader;

  constructor(deps: GlobalTablesDeps) {
    this.#reader = new TableReader(GLOBAL_TABLES, deps);
  }

  /** Messages applied since start. */
  get applied(): number {
    return this.#reader.applied;
  }

  get connected(): boolean {
    return this.#reader.connected;
  }

  notReadyReason(): string | null {
    return this.connected ? null : 'the global table reader is not connected';
  }

  /**
   * The tables hold everything their topics held when the reader started (or later): the broker
   * has reported every partition at its end — not a poll that found nothing.
   */
  get caughtUp(): boolean {
    return this.#reader.caughtUp;
  }

  start(): Promise<void> {
    return this.#reader.start();
  }

  stop(): Promise<void> {
    return this.#reader.stop();
  }
}
