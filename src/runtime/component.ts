/**
 * A long-running part of the service, as the composition root (src/service.ts) sees it: started
 * in the root's order, stopped in the reverse order, asked whether it is ready, and read for its
 * gauges when Prometheus scrapes. What a component needs it takes in its constructor, by type;
 * what it offers the parts started after it, it offers as its own typed members.
 *
 * This module imports nothing, so any part of the service may declare itself a component.
 */

export interface Component {
  /** Names the part in the logs ('shutdown step failed'). */
  readonly name: string;
  /** Starts the part; the next component starts once this resolves. Absent: nothing to start. */
  start?(): Promise<void> | void;
  /** Stops the part (after every component started after it has stopped). */
  stop(): Promise<void> | void;
  /** Null when this part is ready to serve; otherwise why not, in words /readyz answers with. */
  notReadyReason?(): string | null;
  /** The gauges it owns, registered once it has started (see `gaugesOf`). */
  readonly gauges?: readonly Gauge[];
}

/** A gauge's value: one number, or one per value of its label; undefined leaves it as it was. */
export type GaugeValue = number | Readonly<Record<string, number>> | undefined;

/**
 * One gauge a component owns, declared as data beside it: `read` takes the component and says
 * what the gauge is now. Read when Prometheus scrapes, so a value is never stale.
 */
export interface GaugeDeclaration<Part> {
  /** Without the service's prefix (`imeiflow_`), which the metrics registry adds. */
  readonly name: string;
  readonly help: string;
  /** The one label its values are split by, if any. */
  readonly label?: string;
  readonly read: (part: Part) => GaugeValue | Promise<GaugeValue>;
}

export type GaugeTable<Part> = readonly GaugeDeclaration<Part>[];

/** A declared gauge bound to the part it reads: what the metrics registry takes. */
export interface Gauge {
  readonly name: string;
  readonly help: string;
  readonly label?: string;
  read(): GaugeValue | Promise<GaugeValue>;
}

/** The narrow door through which components' gauges reach the metrics (src/metrics/metrics.ts). */
export interface GaugeRegistry {
  register(gauges: readonly Gauge[]): void;
}

export function gaugesOf<Part>(table: GaugeTable<Part>, part: Part): readonly Gauge[] {
  return table.map((declaration) => ({
    name: declaration.name,
    help: declaration.help,
    ...(declaration.label === undefined ? {} : { label: declaration.label }),
    read: () => declaration.read(part),
  }));
}

/** What a component made at start, asked for by a part that starts later (a bug if it is not there yet). */
export function started<T>(value: T | undefined, component: string): T {
  if (value === undefined) throw new Error(`the ${component} is used before it has started`);
  return value;
}
