/**
 * Rule 7's deadline: with a deadline of zero working days and a fast sweep, a request waiting
 * for KGD moves to review (kgd_timeout); a release decision arriving afterwards still settles it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPLE, imei, seedStore } from '../helpers/fixtures.js';
import {
  type BrokerProcess,
  type ServiceProcess,
  startBroker,
  startService,
  TestProducer,
  TopicCollector,
  uniqueTopics,
} from '../helpers/kafka.js';
import { tempDir } from '../helpers/tmp.js';

let broker: BrokerProcess;
let service: ServiceProcess;
let producer: TestProducer;
let collector: TopicCollector;
const { env, topics } = uniqueTopics(`deadline-${Date.now()}`);
const root = tempDir();
const dataDir = join(root, 'data');

beforeAll(async () => {
  broker = await startBroker();
  await seedStore(dataDir);
  const configFile = join(root, 'config.json');
  writeFileSync(configFile, JSON.stringify({ pending: { deadlineWorkingDays: 0, checkIntervalMs: 200 } }));
  collector = await TopicCollector.start(broker.bootstrap, [topics.results!, topics.confirmations!]);
  producer = await TestProducer.connect(broker.bootstrap);
  service = await startService({
    bootstrap: broker.bootstrap,
    dataDir,
    env: { ...env, IMEIFLOW_CONFIG: configFile },
  });
  await service.waitReady();
});

afterAll(async () => {
  await service?.kill('SIGTERM');
  await producer?.close();
  await collector?.stop();
  await broker?.stop();
});

describe('the deadline for KGD', () => {
  it('sends a waiting request to review, once; a later release still confirms it', async () => {
    const device = imei(APPLE, 901);
    producer.sendJson(topics.requests!, device, {
      requestId: 'dl-1',
      imei: device,
      operator: 'tele2',
      channel: 'individual',
    });
    await producer.flush();
    const outcomesOf = () =>
      collector
        .json<{ requestId: string; outcome: string; reason: string | null }>(topics.results!)
        .filter((r) => r.requestId === 'dl-1');
    await collector.waitFor(() => outcomesOf().some((r) => r.outcome === 'review'), 30_000, 'the review');
    expect(outcomesOf().map((r) => `${r.outcome}/${r.reason}`)).toEqual([
      'pending/awaiting_kgd',
      'review/kgd_timeout',
    ]);
    // The sweep keeps running: the request must not be sent to review twice.
    await new Promise((r) => setTimeout(r, 1500));
    expect(outcomesOf()).toHaveLength(2);

    producer.sendJson(topics.decisions!, 'KZ-DL', {
      applicationId: 'KZ-DL',
      procedure: '60',
      status: 'released',
      imeis: [device],
      decidedAt: new Date().toISOString(),
    });
    await producer.flush();
    await collector.waitFor(
      () => outcomesOf().some((r) => r.outcome === 'confirmed'),
      30_000,
      'the confirmation',
    );
    expect(collector.of(topics.confirmations!).map((m) => m.key)).toEqual([device]);
  });
});
