/**
 * A batch is decided against one LMDB snapshot, but its own earlier decisions must count: a
 * requestId repeated within the batch is a duplicate, and a device confirmed by an earlier
 * message is registered for a later one. The overlay layers those effects over the view.
 */
import { registryEntryOf } from './registry-entry.js';
import type { Decision, IndexView, OutcomeRecord, RegistryEntry, SourceId } from './types.js';

export class BatchOverlay implements IndexView {
  readonly #base: IndexView;
  readonly #outcomes = new Map<string, OutcomeRecord>();
  readonly #registry = new Map<string, RegistryEntry>();

  constructor(base: IndexView) {
    this.#base = base;
  }

  tac = (tac: string) => this.#base.tac(tac);
  blocked = (body: string) => this.#base.blocked(body);
  declarations = (body: string) => this.#base.declarations(body);
  application = (id: string) => this.#base.application(id);
  localProduction = (body: string) => this.#base.localProduction(body);

  registered = (body: string): RegistryEntry | undefined =>
    this.#registry.get(body) ?? this.#base.registered(body);

  outcome = (requestId: string): OutcomeRecord | undefined =>
    this.#outcomes.get(requestId) ?? this.#base.outcome(requestId);

  /** Record the effect of a decision just made, for the rest of the batch. */
  record(decision: Decision, source: SourceId | null, partition: number, at: string): void {
    if (decision.outcome === 'confirmed') {
      this.#outcomes.set(decision.requestId, { decision, source, at });
      // A re-registration that tells БДИК nothing new leaves the registry as it was.
      if (decision.notify) this.#registry.set(decision.body, registryEntryOf(decision, partition, at));
    } else if (decision.outcome === 'rejected' && decision.reason !== 'duplicate_request') {
      this.#outcomes.set(decision.requestId, { decision, source, at });
    }
  }
}
