/**
 * The service's components and the process policy, without Kafka: components start in the
 * root's order and stop in the reverse one, once, each stop isolated, under a deadline; the
 * service is ready when every started component is (the first one's reason otherwise); gauges
 * reach the metrics once their component has started; a fatal error exits with its code.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Metrics } from '../../src/metrics/metrics.js';
import type { Component } from '../../src/runtime/component.js';
import { Lifecycle } from '../../src/runtime/lifecycle.js';
import {
  EXIT_FATAL,
  EXIT_SHUTDOWN_DEADLINE,
  EXIT_STORE_FULL,
  ProcessPolicy,
} from '../../src/runtime/process-policy.js';
import { tempDir } from '../support/tmp.js';

const dataDir = tempDir();

/** A logger whose lines the test reads. */
function capturedLog() {
  const lines: { msg: string; step?: string; clean?: boolean }[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

function setUp(shutdownTimeoutMs = 1_000) {
  const { log, lines } = capturedLog();
  const exits: number[] = [];
  const policy = new ProcessPolicy({
    log,
    dataDir,
    shutdownTimeoutMs,
    exit: (code) => void exits.push(code),
  });
  const metrics = new Metrics({ defaultMetrics: false });
  return { policy, parts: new Lifecycle(policy, metrics), metrics, lines, exits };
}

/** A component that records its start and stop in `events`. */
function part(name: string, events: string[], extra: Partial<Component> = {}): Component {
  return {
    name,
    start: () => void events.push(`start ${name}`),
    stop: () => void events.push(`stop ${name}`),
    ...extra,
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the lifecycle of the components', () => {
  it('starts them in order and stops them in reverse, a placed one in its place, once', async () => {
    const { policy, parts, lines } = setUp();
    const events: string[] = [];
    await parts.start(policy);
    await parts.start(part('store', events));
    const sweep = parts.place(part('sweep', events));
    await parts.start(part('tables', events));
    await parts.start(sweep);
    await parts.start(part('http', events));
    const first = policy.shutdown('SIGTERM');
    expect(policy.shutdown('again')).toBe(first);
    expect(await first).toBe(true);
    expect(events).toEqual([
      'start store',
      'start tables',
      'start sweep',
      'start http',
      'stop http',
      'stop tables',
      'stop sweep',
      'stop store',
    ]);
    expect(lines.map((l) => l.msg)).toEqual(['shutting down', 'stopped']);
  });

  it('a stop that fails is logged, the others still run, and the shutdown is not clean', async () => {
    const { policy, parts, lines } = setUp();
    const events: string[] = [];
    await parts.start(part('store', events));
    await parts.start(
      part('pipeline', events, {
        stop: async () => {
          throw new Error('in-flight batches did not finish');
        },
      }),
    );
    await parts.start(part('http', events));
    expect(await policy.shutdown('SIGTERM')).toBe(false);
    expect(events.filter((e) => e.startsWith('stop'))).toEqual(['stop http', 'stop store']);
    expect(lines.find((l) => l.msg === 'shutdown step failed')?.step).toBe('pipeline');
    expect(lines.at(-1)).toMatchObject({ msg: 'stopped, with a failed step (see above)', clean: false });
  });

  it('a component whose start fails is not stopped; those before it are', async () => {
    const { policy, parts } = setUp();
    const events: string[] = [];
    await parts.start(part('store', events));
    const failing = part('kafka', events, {
      start: () => {
        throw new Error('no brokers');
      },
    });
    await expect(parts.start(failing)).rejects.toThrow('no brokers');
    await policy.shutdown('start-up failed');
    expect(events).toEqual(['start store', 'stop store']);
  });

  it('is ready when every started component is; else the first reason in start order', async () => {
    const { policy, parts } = setUp();
    const state = { brokers: false, tables: false };
    const reason = (ok: () => boolean, text: string) => () => (ok() ? null : text);
    await parts.start(policy);
    await parts.start({ name: 'brokers', stop() {}, notReadyReason: reason(() => state.brokers, 'brokers') });
    const tables = { name: 'tables', stop() {}, notReadyReason: reason(() => state.tables, 'tables') };
    // Not started yet: it does not count.
    parts.place(tables);
    state.brokers = true;
    expect(parts.notReadyReason()).toBeNull();
    await parts.start(tables);
    expect(parts.notReadyReason()).toBe('tables');
    state.brokers = false;
    expect(parts.notReadyReason()).toBe('brokers');
    state.brokers = state.tables = true;
    expect(parts.notReadyReason()).toBeNull();
    const stopping = policy.shutdown('SIGTERM');
    expect(parts.notReadyReason()).toBe('shutting down');
    await stopping;
  });

  it("registers a component's gauges once it has started, and again without a duplicate", async () => {
    const { parts, metrics } = setUp();
    let depth = 3;
    const gauges = [{ name: 'queue_depth', help: 'queued', read: () => depth }];
    const queue = { name: 'queue', stop() {}, gauges };
    parts.place(queue);
    expect(metrics.registry.getSingleMetric('imeiflow_queue_depth')).toBeUndefined();
    await parts.start(queue);
    expect(await metrics.registry.getSingleMetricAsString('imeiflow_queue_depth')).toContain(
      'imeiflow_queue_depth 3',
    );
    metrics.register([{ name: 'queue_depth', help: 'queued', read: () => depth * 10 }]);
    depth = 4;
    expect(await metrics.registry.getSingleMetricAsString('imeiflow_queue_depth')).toContain(
      'imeiflow_queue_depth 40',
    );
  });
});

describe('the process policy', () => {
  it('exits 70 on the first fatal error, and is not ready from then on', async () => {
    const { policy, exits, lines } = setUp();
    expect(policy.notReadyReason()).toBeNull();
    policy.onFatal(Object.assign(new Error('the journal could not be appended'), { code: 'KAFKA_FATAL' }));
    policy.onFatal(new Error('an echo of the same failure'));
    expect(policy.notReadyReason()).toBe('stopping after a fatal error (see the log)');
    await vi.waitFor(() => expect(exits).toEqual([EXIT_FATAL]));
    expect(lines.filter((l) => l.msg === 'fatal pipeline error; exiting for a clean restart')).toHaveLength(
      1,
    );
  });

  it('exits 74 when the store is full, after a moment for the request that found it', async () => {
    const { policy, exits, lines } = setUp();
    policy.onFatal(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
    await vi.waitFor(() => expect(lines.some((l) => l.msg.includes('cannot grow'))).toBe(true));
    expect(exits).toEqual([]);
    await vi.waitFor(() => expect(exits).toEqual([EXIT_STORE_FULL]));
  });

  it('exits when the shutdown outlives its deadline (the drain deadline and 5 s)', async () => {
    vi.useFakeTimers();
    const { policy, parts, exits, lines } = setUp(1_000);
    await parts.start({ name: 'stuck', stop: () => new Promise<void>(() => {}) });
    void policy.shutdown('SIGTERM');
    await vi.advanceTimersByTimeAsync(5_999);
    expect(exits).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(exits).toEqual([EXIT_SHUTDOWN_DEADLINE]);
    expect(lines.at(-1)?.msg).toBe('shutdown deadline passed; exiting');
  });

  it('treats unhandled rejections and uncaught exceptions as fatal while started', async () => {
    const { policy } = setUp();
    const before = process.listenerCount('unhandledRejection');
    policy.start();
    expect(process.listenerCount('unhandledRejection')).toBe(before + 1);
    expect(process.listeners('uncaughtException')).toContain(policy.onFatal);
    policy.stop();
    expect(process.listenerCount('unhandledRejection')).toBe(before);
    expect(process.listeners('uncaughtException')).not.toContain(policy.onFatal);
  });
});
