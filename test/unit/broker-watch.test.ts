/**
 * The broker watch: a metadata request that is not answered in time marks the brokers
 * unreachable; the next answer marks them reachable again. The client is a stand-in that answers
 * or stays silent as the test says, with librdkafka's callback shape (an error after the timeout).
 */
import { describe, expect, it } from 'vitest';
import { BrokerWatch, type MetadataClient } from '../../src/kafka/broker-watch.js';
import { Metrics } from '../../src/metrics/metrics.js';

/** Answers while `up`, else fails after the request's timeout, as librdkafka does. */
function client(state: { up: boolean; requests: number }): MetadataClient {
  return {
    getMetadata(options, cb) {
      state.requests++;
      const up = state.up;
      setTimeout(
        () =>
          cb?.(
            up ? (null as never) : (Object.assign(new Error('Local: Timed out'), { code: -185 }) as never),
            {
              orig_broker_id: 1,
              orig_broker_name: 'b',
              brokers: [],
              topics: [],
            },
          ),
        up ? 1 : (options?.timeout ?? 0),
      );
    },
  };
}

async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('broker watch', () => {
  it('goes unreachable when a request times out and reachable on the next answer', async () => {
    const state = { up: true, requests: 0 };
    const changes: boolean[] = [];
    const watch = new BrokerWatch(client(state), {
      intervalMs: 10,
      timeoutMs: 50,
      onChange: (reachable) => changes.push(reachable),
    });
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.register(watch.gauges);
    const gauge = async () =>
      (await metrics.registry.getSingleMetricAsString('imeiflow_kafka_connected')).split('\n').at(-1);
    watch.start();
    try {
      await until('a few answered requests', () => state.requests >= 3);
      expect(watch.reachable).toBe(true);
      expect(await gauge()).toBe('imeiflow_kafka_connected 1');

      state.up = false;
      await until('unreachable', () => !watch.reachable);
      expect(await gauge()).toBe('imeiflow_kafka_connected 0');
      const stoppedAt = state.requests;
      await until('more unanswered requests', () => state.requests >= stoppedAt + 2);
      expect(watch.reachable).toBe(false);

      state.up = true;
      await until('reachable again', () => watch.reachable);
      expect(await gauge()).toBe('imeiflow_kafka_connected 1');
      // Each change reported once, not once per request.
      expect(changes).toEqual([false, true]);
    } finally {
      await watch.stop();
    }
    const after = state.requests;
    await new Promise((r) => setTimeout(r, 50));
    expect(state.requests).toBe(after);
  });
});

describe('the partition count (issue 20)', () => {
  it('a device topic whose partition count changes under the running service is reported', async () => {
    let partitions = 12;
    const watched: MetadataClient = {
      getMetadata(options, cb) {
        const topic = options?.topic;
        setTimeout(
          () =>
            cb?.(null as never, {
              orig_broker_id: 1,
              orig_broker_name: 'b',
              brokers: [],
              topics:
                topic === undefined
                  ? []
                  : [
                      {
                        name: topic,
                        partitions: Array.from({ length: partitions }, (_, id) => ({
                          id,
                          leader: 1,
                          replicas: [1],
                          isrs: [1],
                        })),
                      },
                    ],
            }),
          1,
        );
      },
    };
    const changed: number[] = [];
    const watch = new BrokerWatch(watched, { intervalMs: 10, timeoutMs: 50 });
    watch.watchPartitions({ topic: 'imei.verify.requests', expected: 12, onChanged: (n) => changed.push(n) });
    watch.start();
    try {
      await new Promise((r) => setTimeout(r, 60));
      expect(changed).toEqual([]);
      partitions = 16;
      await until('the change reported', () => changed.length > 0);
      expect(changed[0]).toBe(16);
    } finally {
      await watch.stop();
    }
  });
});
