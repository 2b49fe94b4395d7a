/**
 * What the multi-instance tests do to a running cluster: the CLI acting on it through Kafka, an
 * authorised call to one instance's control plane, and waiting (measured) for a change to show.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';
import type { Rig, ServiceProcess } from './rig.js';

const BIN = join(PACKAGE_ROOT, 'bin/imeiflow.js');

export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The CLI acting on the rig's cluster (KAFKA_BROKERS set), from a data directory of its own. */
export function clusterCli(rig: Rig, ...args: string[]): CliRun {
  return clusterCliWith(rig, {}, ...args);
}

/** The same with environment variables of its own on top (another cluster key file, say). */
export function clusterCliWith(rig: Rig, env: Readonly<Record<string, string>>, ...args: string[]): CliRun {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      ...rig.env,
      KAFKA_BROKERS: rig.broker.bootstrap,
      IMEIFLOW_DATA_DIR: mkdtempSync(join(rig.root, 'cli-')),
      IMEIFLOW_LOG_LEVEL: 'warn',
      ...env,
    },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A bearer-token call to one instance's control plane, its answer parsed as JSON. */
export async function callService(
  service: ServiceProcess,
  path: string,
  token: string,
  init: { method?: string; body?: string; type?: string; basis?: string } = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${service.port}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.type === undefined ? {} : { 'content-type': init.type }),
      ...(init.basis === undefined ? {} : { 'x-basis': init.basis }),
    },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** Polls until `check` holds and returns how long it took, or throws after `ms` naming `what`. */
export async function within(ms: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The input partitions an instance owns, as its readiness check reports them. */
export async function ownedPartitions(service: ServiceProcess): Promise<number[]> {
  const response = await fetch(`http://127.0.0.1:${service.port}/readyz`);
  return ((await response.json()) as { partitions?: number[] }).partitions ?? [];
}

/** Starts the rig's named instances and waits until each owns some of the `partitions`, and all are owned. */
export async function startSpread(
  rig: Rig,
  names: readonly string[],
  partitions: number,
): Promise<ServiceProcess[]> {
  const services: ServiceProcess[] = [];
  for (const name of names) services.push(await rig.startService(name));
  await Promise.all(services.map((service) => service.waitReady(120_000)));
  await within(60_000, `the partitions spread over ${names.join(', ')}`, async () => {
    const owned = await Promise.all(services.map(ownedPartitions));
    return owned.every((p) => p.length > 0) && owned.reduce((sum, p) => sum + p.length, 0) === partitions;
  });
  return services;
}
