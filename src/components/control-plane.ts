/**
 * The control plane (src/http/app.ts) as a component: listening last, closed first, so that
 * readiness answers 503 before anything else stops.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { devicePartition } from '../domain/device-partition.js';
import type { RegistryEntry } from '../domain/types.js';
import { buildControlPlane } from '../http/app.js';
import type { ControlPlaneDeps } from '../http/deps.js';
import { PACKAGE_ROOT } from '../paths.js';
import type { OutputSink } from '../pipeline/kafka-port.js';
import type { RegistryView } from '../pipeline/registry-view.js';
import { type Component, started } from '../runtime/component.js';
import type { Store } from '../store/store.js';

export const VERSION = (
  JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

/**
 * A device's registration wherever its partition is owned: this instance's own state for its
 * partitions, the registry view (every partition's changelog) for the others'.
 */
export function registryLookup(deps: {
  readonly store: Store;
  readonly partitions: number;
  readonly ownedPartitions: () => readonly number[];
  readonly registryView: RegistryView;
}): (body: string) => RegistryEntry | undefined {
  return (body) =>
    deps.ownedPartitions().includes(devicePartition(body, deps.partitions))
      ? deps.store.registry.get(body)
      : deps.registryView.entry(body);
}

/** What the service gives its control plane, from which the rest of its dependencies follow. */
export interface ControlPlaneComponentDeps
  extends Omit<ControlPlaneDeps, 'info' | 'loads' | 'purge' | 'registryOf' | 'commands'> {
  readonly commands: NonNullable<ControlPlaneDeps['commands']>;
  /** Loads go to the cluster through it. */
  readonly producer: OutputSink;
  readonly registryView: RegistryView;
  readonly kafka: { readonly bootstrapServers: string; readonly embedded: boolean };
  readonly partitions: number;
  readonly pool: { readonly workers: number };
}

export class ControlPlane implements Component {
  readonly name = 'http';
  readonly #deps: ControlPlaneDeps;
  #http: FastifyInstance | undefined;
  #address: string | undefined;

  constructor(deps: ControlPlaneComponentDeps) {
    const { config, audit, commands, kafka, partitions } = deps;
    this.#deps = {
      ...deps,
      loads: { sink: deps.producer, topics: config.topics },
      registryOf: registryLookup(deps),
      purge: { record: (event, now) => audit.record(event, now), commands },
      info: {
        version: VERSION,
        embeddedKafka: kafka.embedded,
        brokers: kafka.bootstrapServers,
        topics: { ...config.topics },
        partitions,
        workers: deps.pool.workers,
      },
    };
  }

  async start(): Promise<void> {
    const http = await buildControlPlane(this.#deps);
    const { host, port } = this.#deps.config.http;
    this.#address = await http.listen({ host, port });
    this.#http = http;
  }

  async stop(): Promise<void> {
    await this.#http?.close();
  }

  get http(): FastifyInstance {
    return started(this.#http, 'control plane');
  }

  /** Where it listens (`http.listen`'s answer). */
  get address(): string {
    return started(this.#address, 'control plane');
  }
}
