/** The rules' read-only view (src/domain/types.ts IndexView) over the LMDB stores. */
import type { IndexView, TacRecord } from '../domain/types.js';
import { type Store, tacVersion } from './store.js';

export function lmdbIndexView(store: Store): IndexView {
  const { tac, blocklist, declarations, applications, localProduction, registry, outcomes } = store;
  return {
    tac: (key) => tac.get(key),
    blocked: (body) => blocklist.get(body),
    declarations: (body) => declarations.get(body),
    application: (id) => applications.get(id),
    localProduction: (body) => localProduction.get(body),
    registered: (body) => registry.get(body),
    outcome: (requestId) => outcomes.get(requestId),
  };
}

/**
 * The view for verify workers: as `lmdbIndexView`, plus an in-memory cache of the TAC table,
 * which every request reads and which changes once a month. `refresh()` (once per batch) drops
 * the cache when a TAC load has bumped the store's TAC version.
 */
export class WorkerIndexView implements IndexView {
  readonly #store: Store;
  readonly #base: IndexView;
  readonly #tacs = new Map<string, TacRecord | null>();
  /** Bound on cached TACs (config `pool.tacCacheEntries`). */
  readonly #maxTacs: number;
  #version = -1;

  constructor(store: Store, maxTacs: number) {
    this.#store = store;
    this.#base = lmdbIndexView(store);
    this.#maxTacs = maxTacs;
  }

  refresh(): void {
    this.#store.env.resetReadTxn();
    const version = tacVersion(this.#store);
    if (version !== this.#version) {
      this.#tacs.clear();
      this.#version = version;
    }
  }

  tac(key: string): TacRecord | undefined {
    const cached = this.#tacs.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const record = this.#store.tac.get(key);
    if (this.#tacs.size >= this.#maxTacs) this.#tacs.clear();
    // Unknown TACs are cached too (as null): a flood of one bad TAC costs one lookup.
    this.#tacs.set(key, record ?? null);
    return record;
  }

  blocked = (body: string) => this.#base.blocked(body);
  declarations = (body: string) => this.#base.declarations(body);
  application = (id: string) => this.#base.application(id);
  localProduction = (body: string) => this.#base.localProduction(body);
  registered = (body: string) => this.#base.registered(body);
  outcome = (requestId: string) => this.#base.outcome(requestId);
}
