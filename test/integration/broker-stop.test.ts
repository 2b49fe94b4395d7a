/**
 * The broker stops answering mid-stream (issue 10): the embedded cluster's process is stopped
 * with SIGSTOP for 20 s while requests keep coming, then resumed with SIGCONT. Its connections
 * stay open, so only requests that go unanswered show it. Every request still gets exactly one
 * final outcome and every confirmed one exactly one БДИК confirmation; meanwhile /readyz answers
 * 503 and imeiflow_kafka_connected is 0, and both recover once the broker answers again.
 */
import { describe, expect, it } from 'vitest';
import { kindAt, requestAt } from '../../bench/lib/dataset.js';
import { indexed, useRig } from '../support/rig.js';
import { expectExactlyOnce, streamRequests } from '../support/stream.js';

const N = Number(process.env['IMEIFLOW_TEST_BROKER_STOP'] ?? 50_000);
const RATE_PER_SECOND = 2_500;
const STOP_MS = 20_000;

const rig = useRig({
  name: 'broker-stop',
  stores: { data: indexed(N) },
  kafka: { collect: ['results', 'confirmations', 'dlq'] },
  service: { store: 'data' },
});
const { topics } = rig;

interface Probe {
  readonly at: number;
  readonly status: number;
  readonly detail?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the broker stops answering for 20 s', () => {
  it(`loses nothing, duplicates nothing, and is unready while it is gone (${N} requests)`, async () => {
    const base = `http://127.0.0.1:${rig.service.port}`;
    const connected = async (): Promise<number> => {
      const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
      const line = text.split('\n').find((l) => l.startsWith('imeiflow_kafka_connected '));
      return Number(line?.split(' ')[1]);
    };
    expect(await connected()).toBe(1);

    const runId = `stop-${Date.now()}`;
    const started = Date.now();
    const streaming = streamRequests(rig.producer, topics.requests!, N, RATE_PER_SECOND, (i) =>
      requestAt(i, N, runId),
    );
    await rig.collector.waitFor(
      () => rig.collector.of(topics.results!).length >= N / 5,
      120_000,
      'the first fifth of the outcomes',
    );

    // Readiness, twice a second, from now until the end.
    const probes: Probe[] = [];
    let probing = true;
    const probeLoop = (async () => {
      while (probing) {
        const at = Date.now();
        try {
          const response = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) });
          const body = (await response.json()) as { detail?: string };
          probes.push({
            at,
            status: response.status,
            ...(body.detail === undefined ? {} : { detail: body.detail }),
          });
        } catch {
          probes.push({ at, status: 0 });
        }
        await sleep(500);
      }
    })();
    const firstAfter = (from: number, status: number) =>
      probes.find((p) => p.at >= from && p.status === status);

    const answeredAtStop = rig.collector.of(topics.results!).length;
    process.kill(rig.broker.pid, 'SIGSTOP');
    const stoppedAt = Date.now();
    let metricWhileStopped: number;
    try {
      await rig.collector.waitFor(
        () => firstAfter(stoppedAt, 503) !== undefined,
        15_000,
        'a 503 from /readyz',
      );
      metricWhileStopped = await connected();
      await sleep(stoppedAt + STOP_MS - Date.now());
    } finally {
      process.kill(rig.broker.pid, 'SIGCONT');
    }
    const resumedAt = Date.now();
    const answeredWhileStopped = rig.collector.of(topics.results!).length - answeredAtStop;

    await rig.collector.waitFor(
      () => firstAfter(resumedAt, 200) !== undefined,
      120_000,
      'a 200 from /readyz',
    );
    const metricAfter = await connected();
    await streaming;
    // A service that exits cannot finish the stream: say so at once, with its last words.
    const ended = await Promise.race([
      expectExactlyOnce(rig.collector, topics, N, runId, 300_000, (i) => kindAt(i) !== 'pending').then(
        () => undefined,
      ),
      rig.service.exited().then((code) => ({ code })),
    ]);
    if (ended !== undefined)
      throw new Error(`the service exited (${ended.code}):\n${rig.service.output.slice(-3).join('\n')}`);
    probing = false;
    await probeLoop;

    const unready = firstAfter(stoppedAt, 503)!;
    const ready = firstAfter(resumedAt, 200)!;
    expect(unready.detail).toBe('the Kafka brokers did not answer within 5 s');
    expect(unready.at - stoppedAt).toBeLessThan(10_000);
    expect(metricWhileStopped).toBe(0);
    expect(metricAfter).toBe(1);
    // While the broker was stopped, readiness never said ready.
    expect(probes.filter((p) => p.at >= unready.at && p.at < resumedAt && p.status === 200)).toEqual([]);
    expect(rig.collector.of(topics.dlq!)).toHaveLength(0);
    const stopLines = rig.service.output.filter((l) => l.includes('the Kafka brokers do not answer'));
    expect(stopLines.length).toBeGreaterThanOrEqual(1);
    expect(rig.service.output.some((l) => l.includes('the Kafka brokers answer again'))).toBe(true);
    expect(rig.service.output.filter((l) => l.includes('"level":"fatal"'))).toEqual([]);

    const finals = new Set(
      rig.collector
        .json<{ requestId: string; outcome: string }>(topics.results!)
        .filter(
          (r) =>
            r.requestId.startsWith(`${runId}-`) && (r.outcome === 'confirmed' || r.outcome === 'rejected'),
        )
        .map((r) => r.requestId),
    ).size;
    const confirmations = rig.collector.of(topics.confirmations!).length;
    console.log(
      JSON.stringify({
        test: 'broker-stop',
        requests: N,
        ratePerSecond: RATE_PER_SECOND,
        outcomesBeforeStop: answeredAtStop,
        outcomesWhileStopped: answeredWhileStopped,
        stoppedMs: resumedAt - stoppedAt,
        unreadyAfterMs: unready.at - stoppedAt,
        readyAgainAfterResumeMs: ready.at - resumedAt,
        finalOutcomes: finals,
        confirmations,
        totalSeconds: Math.round((Date.now() - started) / 1000),
      }),
    );
  }, 600_000);
});
