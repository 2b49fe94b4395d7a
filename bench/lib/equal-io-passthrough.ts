/**
 * The floor imeiflow is measured against (DESIGN.md §6): the I/O the job must do and nothing
 * else. Consumes `--in`, parses each request (the same parser imeiflow uses), and writes its
 * result to `--results` and, for a confirmable one, its БДИК confirmation to `--confirmations`,
 * both to the request's partition, built by the same output builders. No lookups, no state:
 * "confirmable" is read off the bench's own request mix (check digit holds, a known TAC range,
 * a serial below the blocked and undeclared ranges of bench/lib/dataset.ts). At-least-once:
 * the group's offsets are committed only after every output of what they cover is delivered.
 * Same client settings as imeiflow (src/kafka/client.ts). Runs until killed.
 *
 *   node dist/bench/lib/equal-io-passthrough.js --brokers B --in T --results T --confirmations T --group G
 */
import Kafka from 'node-rdkafka';
import { luhnDigit } from '../../src/domain/imei.js';
import { confirmationMessage, resultMessage } from '../../src/domain/outputs.js';
import { parseRequest } from '../../src/domain/request.js';
import type { ConfirmedDecision, Decision } from '../../src/domain/types.js';
import { connect, consume, consumerConfig, producerConfig } from '../../src/kafka/client.js';

function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const value = i === -1 ? undefined : process.argv[i + 1];
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

const settings = { bootstrapServers: arg('brokers'), clientId: 'equal-io-passthrough' };
const inTopic = arg('in');
const resultsTopic = arg('results');
const confirmationsTopic = arg('confirmations');
const consumer = new Kafka.KafkaConsumer(consumerConfig(settings, arg('group')), {
  'auto.offset.reset': 'earliest',
});
const producer = new Kafka.Producer(producerConfig(settings));
await connect(consumer, 'passthrough consumer');
await connect(producer, 'passthrough producer');
producer.setPollInterval(2);
consumer.setDefaultConsumeTimeout(5);
consumer.subscribe([inTopic]);
process.once('SIGTERM', () => process.exit(0));

/** A batch's outputs not yet delivered, and the positions they cover. */
interface Batch {
  remaining: number;
  readonly offsets: Map<number, number>;
}
const undelivered: Batch[] = [];
producer.on('delivery-report', (err, report) => {
  if (err) {
    process.stderr.write(`delivery failed: ${err.message}\n`);
    process.exit(1);
  }
  (report.opaque as Batch).remaining--;
  let done: Batch | undefined;
  while (undelivered.length > 0 && undelivered[0]!.remaining === 0) done = undelivered.shift();
  if (done !== undefined) {
    consumer.commit([...done.offsets].map(([partition, offset]) => ({ topic: inTopic, partition, offset })));
  }
});

const SAMPLE_DEVICE = { tac: '', brand: 'Brand', model: 'Model', deviceType: 'Smartphone' };

/** What the bench mix makes confirmable, read off the IMEI alone (see the header). */
function confirmable(imei: string): boolean {
  if (!/^\d{15}$/.test(imei) || imei.startsWith('99')) return false;
  const body = imei.slice(0, 14);
  return luhnDigit(body) === Number(imei[14]) && Number(body.slice(8)) < 800_000;
}

function produce(topic: string, partition: number, value: Uint8Array, key: string, batch: Batch): void {
  for (;;) {
    try {
      producer.produce(topic, partition, value as Buffer, key, null, batch);
      batch.remaining++;
      return;
    } catch {
      // Local queue full: deliveries drain it.
    }
  }
}

for (;;) {
  const messages = await consume(consumer, 1024);
  if (messages.length === 0) continue;
  const at = new Date().toISOString();
  const batch: Batch = { remaining: 0, offsets: new Map() };
  undelivered.push(batch);
  for (const m of messages) {
    const parsed = parseRequest(m.value, 'json', 1_048_576);
    if (parsed.kind !== 'ok') continue;
    const { request } = parsed;
    const decision: Decision = confirmable(request.imei)
      ? ({
          outcome: 'confirmed',
          requestId: request.requestId,
          imei: request.imei,
          body: request.imei.slice(0, 14),
          evidence: 'kgd-release',
          applicationId: null,
          procedure: '40',
          device: { ...SAMPLE_DEVICE, tac: request.imei.slice(0, 8) },
          ownerId: request.ownerId ?? null,
          msisdn: request.msisdn ?? null,
          notify: true,
          detail: 'released under application KZ-BENCH, procedure 40',
        } satisfies ConfirmedDecision)
      : {
          outcome: 'rejected',
          requestId: request.requestId,
          imei: request.imei,
          body: null,
          reason: 'luhn_mismatch',
          detail: 'check digit should be 0',
        };
    produce(resultsTopic, m.partition, resultMessage(decision, at), request.requestId, batch);
    if (decision.outcome === 'confirmed')
      produce(confirmationsTopic, m.partition, confirmationMessage(decision, at), decision.imei, batch);
    batch.offsets.set(m.partition, m.offset + 1);
  }
}
