/**
 * What БДИК holds for devices of partitions this instance does not own, so that
 * `GET /v1/devices/:imei` shows a device's registry entry the same on every instance. The owner
 * of a partition answers from its own registry (current with its last batch); for the others,
 * this view reads the registry's changelog — `bdik.confirmations` and `bdik.revocations` — of
 * exactly the partitions owned elsewhere, re-assigned whenever ownership changes, each from where
 * this instance last stopped. An instance that owns every partition reads nothing here.
 *
 * It is a table of the engine that reads topics into LMDB at stored positions (table-reader.ts),
 * as the global tables are: a batch is applied with its positions (`view/<topic>/<partition>`)
 * in one transaction, a failed batch is read again from them, and a record that is not a
 * confirmation or a revocation of a device (table-decoders.ts) is passed, counted and logged by
 * every instance that reads it, and sent to the DLQ once per cluster by the record validator.
 *
 * A confirmation and a revocation of one device are ordered by their position headers (the
 * journal's `<seq>.<idx>`, monotonic per partition whoever owned it): the later one wins.
 */
import type { RegistryEntry } from '../domain/types.js';
import type { Component } from '../runtime/component.js';
import { SealedWrites } from '../store/sealed-writes.js';
import type { LogMessage } from './kafka-port.js';
import { outputOrder } from './positions.js';
import { type Decoded, decodeConfirmation, decodeRevocation, type Keyed } from './table-decoders.js';
import { type ReaderKind, type Table, TableReader, type TableReaderDeps } from './table-reader.js';

/** LMDB meta key: the next offset of a partition of БДИК's changelog the view applies. */
export function viewPositionKey(topic: string, partition: number): string {
  return `view/${topic}/${partition}`;
}

/** The partitions `owned` gives, from the positions under `view/`. */
const REGISTRY_VIEW: ReaderKind = {
  name: 'registry view',
  client: 'registry-view',
  label: 'registry view',
  fetchWaitMs: 50,
  pollMs: 100,
  everyPartition: false,
  positionKey: viewPositionKey,
  maxConsumeFailures: 30,
  maxAttempts: 30,
};

/** A device's confirmation (its registration, or null for a tombstone) or revocation (null). */
type ViewRecord = Keyed<RegistryEntry>;

/**
 * The view's table of one of БДИК's topics: each device's latest record in its owner's order;
 * `owned` are the partitions this instance owns, whose records are its own registry's.
 */
export function registryViewTable(
  role: 'confirmations' | 'revocations',
  owned: () => ReadonlySet<number>,
): Table<ViewRecord> {
  const decode: (m: LogMessage) => Decoded<ViewRecord> =
    role === 'confirmations' ? decodeConfirmation : decodeRevocation;
  return {
    role,
    decode,
    apply(store, records) {
      // Owners and phones sealed as they are stored (src/store/sealed-writes.ts).
      const writes = new SealedWrites(store);
      for (const { message: m, value } of records) {
        // A partition that came back to this instance is its own registry's again.
        if (owned().has(m.partition)) continue;
        const body = value.key.slice(0, 14);
        // Where it was decided: its owner's order of БДИК's record for the device.
        const order = outputOrder(m);
        const current = store.registryView.get(body);
        if (current !== undefined && current.order > order) continue;
        writes.view(body, order, value.value);
      }
      writes.flush();
    },
  };
}

export interface RegistryViewDeps extends Omit<TableReaderDeps, 'tables' | 'onChanged' | 'consumed'> {
  /** Partitions of the device topics. */
  readonly partitions: number;
}

export class RegistryView implements Component {
  readonly name = REGISTRY_VIEW.name;
  readonly #deps: RegistryViewDeps;
  readonly #reader: TableReader;
  #owned: ReadonlySet<number> = new Set();

  constructor(deps: RegistryViewDeps) {
    this.#deps = deps;
    const owned = () => this.#owned;
    const tables = [registryViewTable('confirmations', owned), registryViewTable('revocations', owned)];
    this.#reader = new TableReader(REGISTRY_VIEW, { ...deps, tables });
  }

  /** The entry of a device of a partition owned elsewhere, as its owner published it. */
  entry(body: string): RegistryEntry | undefined {
    const value = this.#deps.store.registryView.get(body);
    return value === undefined || value.entry === null ? undefined : value.entry;
  }

  start(): Promise<void> {
    return this.#reader.start();
  }

  /** Ownership changed: read the partitions owned elsewhere, and only those. */
  owned(partitions: readonly number[]): void {
    this.#owned = new Set(partitions);
    const { config } = this.#deps;
    const assignment = [];
    for (let partition = 0; partition < this.#deps.partitions; partition++) {
      if (this.#owned.has(partition)) continue;
      for (const topic of [config.topics.confirmations, config.topics.revocations])
        assignment.push({ topic, partition });
    }
    this.#reader.assign(assignment);
  }

  stop(): Promise<void> {
    return this.#reader.stop();
  }
}
