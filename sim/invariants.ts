/**
 * The invariants every schedule must keep (docs/simulation.md lists them in words). Each returns
 * the violations it finds, as sentences; none found is an empty list.
 */

import { operatorResultTopics } from '../src/kafka/result-topics.js';
import type { LogMessage } from '../src/pipeline/kafka-port.js';
import { outputPositionOf } from '../src/pipeline/positions.js';
import type { MemoryKafka } from '../test/support/memory-kafka.js';
import { TOPICS } from '../test/support/pipeline-instance.js';
import { type RequestEvent, SIM_RESULTS, type SimInstance } from './world.js';

interface Result {
  readonly requestId: string;
  readonly outcome: string;
  readonly reason: string | null;
}

/**
 * Every message a topic was written, all partitions, in offset order per partition: what its
 * consumers (operators, БДИК) saw as it came, before compaction removed any of it.
 */
function messagesOf(kafka: MemoryKafka, topic: string, partitions: number): LogMessage[] {
  const all: LogMessage[] = [];
  for (let p = 0; p < partitions; p++) all.push(...kafka.history(topic, p));
  return all;
}

/** Every topic a result can be on: the shared one and each operator's. */
const RESULT_TOPICS = [SIM_RESULTS.topics.shared, ...SIM_RESULTS.topics.byTenant.values()];

function resultsOf(kafka: MemoryKafka, partitions: number): Result[] {
  return RESULT_TOPICS.flatMap((topic) =>
    messagesOf(kafka, topic, partitions).map((m) => JSON.parse(m.value!.toString('utf8')) as Result),
  );
}

/**
 * I6: each result is on its operator's topic — one of its own when it has one, else the shared
 * topic — and nowhere else: operators are tenants (Kafka ACLs give each only its own topic).
 */
export function resultsOnOwnTopic(
  kafka: MemoryKafka,
  partitions: number,
  requests: readonly RequestEvent[],
): string[] {
  const own = new Map(operatorResultTopics(SIM_RESULTS.config).map((o) => [o.operator, o.topic]));
  const expected = new Map(
    requests.map((r) => [r.requestId, own.get(r.operator) ?? SIM_RESULTS.topics.shared]),
  );
  const problems: string[] = [];
  for (const topic of RESULT_TOPICS) {
    for (const m of messagesOf(kafka, topic, partitions)) {
      const { requestId } = JSON.parse(m.value!.toString('utf8')) as Result;
      const where = expected.get(requestId);
      if (where !== undefined && where !== topic)
        problems.push(`the result of ${requestId} is on ${topic}, not ${where}`);
    }
  }
  return problems;
}

const isFinal = (r: Result) => r.outcome === 'confirmed' || r.outcome === 'rejected';

/** Final outcome per requestId, as `outcome/reason` (confirmed: `confirmed`). */
export function finalOutcomes(kafka: MemoryKafka, partitions: number): Map<string, string> {
  const finals = new Map<string, string>();
  for (const r of resultsOf(kafka, partitions)) {
    if (isFinal(r)) finals.set(r.requestId, r.outcome === 'confirmed' ? 'confirmed' : `rejected/${r.reason}`);
  }
  return finals;
}

/**
 * БДИК's record of each device: its confirmations and revocations in the order their owner
 * published them (the position header: the journal's seq, then the output's index).
 */
export function bdikRecords(kafka: MemoryKafka, partitions: number): Map<string, ('C' | 'R')[]> {
  const events: { imei: string; kind: 'C' | 'R'; seq: number; idx: number }[] = [];
  for (const [topic, kind] of [
    [TOPICS.confirmations, 'C'],
    [TOPICS.revocations, 'R'],
  ] as const) {
    for (const m of messagesOf(kafka, topic, partitions)) {
      // Tombstones are compaction's business, not a record for БДИК.
      if (m.value === null || m.key === null || m.key === undefined) continue;
      const position = outputPositionOf(m);
      if (position === undefined) continue;
      events.push({ imei: m.key.toString(), kind, ...position });
    }
  }
  events.sort((a, b) => a.seq - b.seq || a.idx - b.idx);
  const byDevice = new Map<string, ('C' | 'R')[]>();
  for (const e of events) {
    const list = byDevice.get(e.imei);
    if (list === undefined) byDevice.set(e.imei, [e.kind]);
    else list.push(e.kind);
  }
  return byDevice;
}

/** Devices registered with БДИК at the end: their record ends with a confirmation. */
export function registeredDevices(records: Map<string, ('C' | 'R')[]>): string[] {
  return [...records]
    .filter(([, kinds]) => kinds[kinds.length - 1] === 'C')
    .map(([imei]) => imei)
    .sort();
}

/** I1: every request has one final outcome (or still waits), after at most one pending result. */
export function oneFinalOutcome(
  kafka: MemoryKafka,
  partitions: number,
  requests: readonly RequestEvent[],
): string[] {
  const problems: string[] = [];
  const byId = new Map<string, Result[]>();
  for (const r of resultsOf(kafka, partitions)) {
    const list = byId.get(r.requestId);
    if (list === undefined) byId.set(r.requestId, [r]);
    else list.push(r);
  }
  for (const { requestId } of requests) {
    const results = byId.get(requestId) ?? [];
    const finals = results.filter(isFinal).length;
    const pendings = results.filter((r) => r.outcome === 'pending').length;
    if (finals > 1) problems.push(`request ${requestId} has ${finals} final outcomes`);
    if (pendings > 1) problems.push(`request ${requestId} has ${pendings} pending results`);
  }
  for (const requestId of byId.keys())
    if (!requests.some((r) => r.requestId === requestId))
      problems.push(`a result for ${requestId}, never sent`);
  return problems;
}

/** I2: each device's БДИК record alternates confirmation and revocation, starting with a confirmation. */
export function alternatingRecords(kafka: MemoryKafka, partitions: number): string[] {
  const problems: string[] = [];
  for (const [imei, kinds] of bdikRecords(kafka, partitions)) {
    const text = kinds.join('');
    if (!/^(CR)*C?$/.test(text))
      problems.push(`device ${imei}: БДИК got ${text} (C confirmation, R revocation)`);
  }
  return problems;
}

/** I3: a request without a final outcome still waits, at the owner of its device's partition. */
export function noWaitingLost(
  kafka: MemoryKafka,
  partitions: number,
  requests: readonly RequestEvent[],
  ownerOf: (partition: number) => SimInstance | undefined,
  partitionOf: (device: string) => number,
): string[] {
  const finals = finalOutcomes(kafka, partitions);
  const problems: string[] = [];
  for (const request of requests) {
    if (finals.has(request.requestId)) continue;
    const partition = partitionOf(request.device);
    const owner = ownerOf(partition);
    const waiting = owner?.store.pending.get(request.device.slice(0, 14)) ?? [];
    if (!waiting.some((e) => e.request.requestId === request.requestId))
      problems.push(
        `request ${request.requestId} has no final outcome and does not wait at partition ${partition}'s owner`,
      );
  }
  return problems;
}

/** I4: the global tables (the declaration index) are the same on every live instance. */
export function tablesEqual(instances: readonly SimInstance[]): string[] {
  const snapshot = (i: SimInstance) =>
    JSON.stringify({
      declarations: [...i.store.declarations.getRange()].map(({ key, value }) => [key, value]),
      applications: [...i.store.applications.getRange()].map(({ key, value }) => [key, value]),
    });
  const [first, ...rest] = instances;
  if (first === undefined) return [];
  const reference = snapshot(first);
  return rest
    .filter((i) => snapshot(i) !== reference)
    .map((i) => `the declaration index of ${i.name} differs from ${first.name}'s`);
}

/** I5: the final state is the fault-free run's: each request's final outcome, БДИК's registered devices. */
export function sameAsFaultFree(
  faulty: { finals: Map<string, string>; registered: string[] },
  reference: { finals: Map<string, string>; registered: string[] },
): string[] {
  const problems: string[] = [];
  for (const [requestId, outcome] of reference.finals) {
    const got = faulty.finals.get(requestId);
    if (got !== outcome)
      problems.push(`request ${requestId}: ${got ?? 'no final outcome'}, fault-free ${outcome}`);
  }
  for (const requestId of faulty.finals.keys())
    if (!reference.finals.has(requestId))
      problems.push(`request ${requestId}: final here, waiting fault-free`);
  const a = faulty.registered.join();
  const b = reference.registered.join();
  if (a !== b) problems.push(`БДИК's registered devices differ: ${a} vs fault-free ${b}`);
  return problems;
}
