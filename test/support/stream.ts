/** Streaming requests at a steady rate and checking the exactly-once invariants on the outputs. */
import { expect } from 'vitest';
import type { TestProducer, TopicCollector } from '../../bench/lib/harness.js';

/** Produce `count` requests at about `perSecond`, in 100 ms ticks; resolves when all are sent. */
export async function streamRequests(
  producer: TestProducer,
  topic: string,
  count: number,
  perSecond: number,
  requestAt: (i: number) => { imei: string },
): Promise<void> {
  const perTick = Math.max(1, Math.round(perSecond / 10));
  const started = Date.now();
  for (let i = 0, tick = 0; i < count; tick++) {
    for (const end = Math.min(count, i + perTick); i < end; i++) {
      const request = requestAt(i);
      producer.sendJson(topic, request.imei, request);
    }
    const due = started + (tick + 1) * 100;
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
  }
  await producer.flush();
}

interface Result {
  requestId: string;
  outcome: string;
  imei: string;
}

const FINAL = new Set(['confirmed', 'rejected']);

/**
 * Exactly-once over a run of requests `${runId}-${i}`: no outcome message is repeated (at most
 * one pending, one review and one final outcome per request), requests for which `expectFinal`
 * holds have exactly one final outcome, and every confirmed one exactly one confirmation (the
 * requests' IMEIs are unique, so БДИК sees each device once).
 */
export async function expectExactlyOnce(
  collector: TopicCollector,
  topics: Record<string, string>,
  count: number,
  runId: string,
  timeoutMs: number,
  expectFinal: (i: number) => boolean = () => true,
): Promise<void> {
  const prefix = `${runId}-`;
  // Outputs only grow: parse each new result once.
  const finalIds = new Set<string>();
  let parsed = 0;
  const finals = (): Set<string> => {
    const results = collector.of(topics['results']!);
    for (; parsed < results.length; parsed++) {
      const m = results[parsed]!;
      if (!m.key?.startsWith(prefix) || m.value === null) continue;
      const r = JSON.parse(m.value) as Result;
      if (FINAL.has(r.outcome)) finalIds.add(r.requestId);
    }
    return finalIds;
  };
  const wanted = Array.from({ length: count }, (_, i) => i).filter(expectFinal);
  await collector.waitFor(
    () => {
      const have = finals();
      return wanted.every((i) => have.has(`${prefix}${i}`));
    },
    timeoutMs,
    `final outcomes for ${wanted.length} of ${count} requests`,
  );
  // Give late duplicates, if any, a chance to show up before counting.
  await new Promise((r) => setTimeout(r, 2000));

  const perRequest = new Map<string, Map<string, number>>();
  const confirmedIds = new Set<string>();
  for (const result of collector.json<Result>(topics['results']!)) {
    if (!result.requestId.startsWith(prefix)) continue;
    const kind = FINAL.has(result.outcome) ? 'final' : result.outcome;
    const counts = perRequest.get(result.requestId) ?? new Map<string, number>();
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
    perRequest.set(result.requestId, counts);
    if (result.outcome === 'confirmed') confirmedIds.add(result.requestId);
  }
  const repeated = [...perRequest].filter(([, counts]) => [...counts.values()].some((n) => n > 1));
  expect(
    repeated.slice(0, 5).map(([id, c]) => [id, Object.fromEntries(c)]),
    `${repeated.length} requests with a repeated outcome`,
  ).toEqual([]);
  for (let i = 0; i < count; i++)
    expect(perRequest.has(`${prefix}${i}`), `request ${i} has no outcome`).toBe(true);

  const perImei = new Map<string, number>();
  const confirmationIds = new Set<string>();
  for (const c of collector.json<{ requestId: string; imei: string }>(topics['confirmations']!)) {
    if (!c.requestId.startsWith(prefix)) continue;
    perImei.set(c.imei, (perImei.get(c.imei) ?? 0) + 1);
    confirmationIds.add(c.requestId);
  }
  const twice = [...perImei].filter(([, n]) => n !== 1);
  expect(twice.slice(0, 5), `${twice.length} devices confirmed more than once`).toEqual([]);
  expect(confirmationIds.size).toBe(confirmedIds.size);
  for (const id of confirmedIds) expect(confirmationIds.has(id)).toBe(true);
}

/**
 * Release, with one KGD decision, up to `max` requests of `runId` that were answered `pending`
 * from `partitions`, and wait until each is confirmed. Returns how many there were. Used to show
 * that requests waiting in a partition that changed hands are settled by the new owner.
 */
export async function releaseWaiting(
  collector: TopicCollector,
  producer: TestProducer,
  topics: Record<string, string>,
  runId: string,
  partitions: readonly number[],
  applicationId: string,
  max: number,
): Promise<number> {
  const waiting = collector
    .of(topics['results']!)
    .filter((m) => m.key?.startsWith(`${runId}-`) && partitions.includes(m.partition))
    .map((m) => JSON.parse(m.value!) as { requestId: string; outcome: string; imei: string })
    .filter((r) => r.outcome === 'pending')
    .slice(0, max);
  producer.sendJson(topics['decisions']!, applicationId, {
    applicationId,
    procedure: '40',
    status: 'released',
    imeis: waiting.map((r) => r.imei),
    decidedAt: new Date().toISOString(),
  });
  await producer.flush();
  // Results only grow: collect confirmations incrementally.
  const confirmed = new Set<string>();
  let seen = 0;
  await collector.waitFor(
    () => {
      const results = collector.of(topics['results']!);
      for (; seen < results.length; seen++) {
        const m = results[seen]!;
        if (m.value?.includes('"outcome":"confirmed"')) confirmed.add(m.key ?? '');
      }
      return waiting.every((r) => confirmed.has(r.requestId));
    },
    60_000,
    `the new owners confirming ${waiting.length} requests that waited in partitions ${partitions.join(',')}`,
  );
  return waiting.length;
}
