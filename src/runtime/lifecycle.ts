/**
 * Runs the components the composition root lists, in its order: each is started when the one
 * before it has started, its stop goes into the process's ordered shutdown
 * (src/runtime/process-policy.ts), its gauges into the metrics, and its readiness into the
 * service's: ready when every started component is, else the first one's reason, in start order.
 */
import type { Component, GaugeRegistry } from './component.js';

/** Where the stops go: the process's ordered shutdown. */
export interface ShutdownOrder {
  stopsAtShutdown(name: string, stop: () => Promise<void> | void): void;
}

export class Lifecycle {
  readonly #shutdown: ShutdownOrder;
  readonly #gauges: GaugeRegistry;
  readonly #placed = new Set<Component>();
  readonly #started: Component[] = [];

  constructor(shutdown: ShutdownOrder, gauges: GaugeRegistry) {
    this.#shutdown = shutdown;
    this.#gauges = gauges;
  }

  /**
   * Gives a component its place in the shutdown order now, to be started later (`start`): one
   * that later parts use while it waits for its own start (the retention sweep, which the global
   * tables' purges call on, starts once the pipeline owns its partitions).
   */
  place<C extends Component>(component: C): C {
    if (this.#placed.has(component)) return component;
    this.#placed.add(component);
    this.#shutdown.stopsAtShutdown(component.name, () => component.stop());
    return component;
  }

  /** Starts a component; once it has started, it stops at shutdown (in its place, if it had one). */
  async start<C extends Component>(component: C): Promise<C> {
    await component.start?.();
    this.place(component);
    this.#started.push(component);
    if (component.gauges !== undefined) this.#gauges.register(component.gauges);
    return component;
  }

  /** Null when every started component is ready; else why the first one in start order is not. */
  readonly notReadyReason = (): string | null => {
    for (const component of this.#started) {
      const reason = component.notReadyReason?.() ?? null;
      if (reason !== null) return reason;
    }
    return null;
  };
}
