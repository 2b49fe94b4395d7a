/**
 * The LMDB store as a component: opened (with the key of an encrypted store) at start, closed
 * after everything that reads or writes it has stopped. Its gauges say how big it is, how many
 * entries its main stores hold, and the last month of KGD's export loaded into it.
 */
import { statSync } from 'node:fs';
import { monthTimestamp } from '../domain/kgd-export.js';
import { type Component, type Gauge, type GaugeTable, gaugesOf, started } from '../runtime/component.js';
import { type ClusterKeyConfig, clusterKeysOf } from '../security/cluster-key.js';
import { subjectSecretsOfKeys } from '../security/subject-secrets.js';
import { encryptionKeyOf } from '../store/encryption.js';
import { latestKgdExport } from '../store/kgd-exports.js';
import { openStore, type Store } from '../store/store.js';

export interface LmdbStoreDeps extends ClusterKeyConfig {
  readonly dataDir: string;
  readonly store: { readonly encryptionKeyFile: string | null };
}

/** The stores the index_entries gauge counts. */
const COUNTED = [
  'tac',
  'blocklist',
  'declarations',
  'applications',
  'registry',
  'pending',
  'outcomes',
] as const;

export const STORE_GAUGES: GaugeTable<Store> = [
  {
    name: 'lmdb_size_bytes',
    help: 'Size of the LMDB file',
    read: (store) => {
      try {
        return statSync(store.path).size;
      } catch {
        return 0;
      }
    },
  },
  {
    name: 'index_entries',
    help: 'Entries per LMDB store',
    label: 'store',
    read: (store) =>
      Object.fromEntries(
        COUNTED.map((name) => [name, (store[name].getStats() as { entryCount: number }).entryCount]),
      ),
  },
  // Months as 00:00 UTC on their first day: compares directly with the month due (CalendarWatch).
  {
    name: 'kgd_export_last_month_timestamp_seconds',
    help: 'The latest month whose KGD monthly export is loaded, as 00:00 UTC on its first day (0: none)',
    read: (store) => {
      const last = latestKgdExport(store);
      return last === undefined ? 0 : monthTimestamp(last.month).getTime() / 1000;
    },
  },
];

export class LmdbStore implements Component {
  readonly name = 'store';
  readonly #deps: LmdbStoreDeps;
  #store: Store | undefined;
  #encryptionKey: string | undefined;

  constructor(deps: LmdbStoreDeps) {
    this.#deps = deps;
  }

  start(): void {
    this.#encryptionKey = encryptionKeyOf(this.#deps);
    this.#store = openStore({
      dataDir: this.#deps.dataDir,
      ...(this.#encryptionKey === undefined ? {} : { encryptionKey: this.#encryptionKey }),
      // Owners and phones are sealed, and named by pseudonym, with secrets of the cluster key (made
      // here on an embedded cluster's first start, as the signing would).
      secrets: subjectSecretsOfKeys(clusterKeysOf(this.#deps, { create: true })),
    });
  }

  async stop(): Promise<void> {
    await this.#store?.close();
  }

  get store(): Store {
    return started(this.#store, this.name);
  }

  /** The store's key, for the workers that open it too; undefined: not encrypted. */
  get encryptionKey(): string | undefined {
    return this.#encryptionKey;
  }

  get gauges(): readonly Gauge[] {
    return gaugesOf(STORE_GAUGES, this.store);
  }
}
