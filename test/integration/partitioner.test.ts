/**
 * imeiflow computes a device's partition itself (src/domain/device-partition.ts). It must be the
 * partition librdkafka's murmur2 partitioner — Kafka's default, and what imeiflow's producers
 * use — gives the IMEI body as a key, or every request keyed as the README says would take an
 * extra hop through the repartition topic.
 */
import Kafka from 'node-rdkafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devicePartition } from '../../src/domain/device-partition.js';
import { connect, disconnect, getMetadata, PRODUCER_TOPIC_CONFIG } from '../../src/kafka/client.js';
import { type EmbeddedCluster, startEmbeddedCluster } from '../../src/kafka/embedded-cluster.js';

let cluster: EmbeddedCluster;
let producer: Kafka.Producer;
const topic = `partitioner-${Date.now()}`;

beforeAll(async () => {
  cluster = await startEmbeddedCluster(1);
  producer = new Kafka.Producer(
    { 'bootstrap.servers': cluster.bootstrapServers, dr_cb: true },
    PRODUCER_TOPIC_CONFIG,
  );
  await connect(producer, 'test producer');
  producer.setPollInterval(5);
});

afterAll(async () => {
  await disconnect(producer);
  await cluster?.stop();
});

describe('the device partition', () => {
  it("is the partition librdkafka's murmur2 partitioner gives the IMEI body", async () => {
    let partitions = 0;
    for (let i = 0; i < 50 && partitions === 0; i++) {
      partitions =
        (await getMetadata(producer, topic)).topics.find((t) => t.name === topic)?.partitions.length ?? 0;
      if (partitions === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(partitions).toBeGreaterThan(1);
    const bodies = Array.from({ length: 200 }, (_, i) =>
      String(35_209_900_000_000 + i * 7919).padStart(14, '0'),
    );
    bodies.push('01326300123456', '99999999000001');
    const placed = new Map<string, number>();
    const delivered = new Promise<void>((resolve, reject) => {
      producer.on('delivery-report', (err, report) => {
        if (err) reject(err);
        placed.set(String(report.key), report.partition);
        if (placed.size === bodies.length) resolve();
      });
    });
    for (const body of bodies) producer.produce(topic, null, Buffer.from('{}'), body);
    await delivered;
    const mismatches = bodies.filter((b) => placed.get(b) !== devicePartition(b, partitions));
    expect(mismatches).toEqual([]);
  });
});
