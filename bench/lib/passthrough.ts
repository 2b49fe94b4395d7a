/**
 * The physical limit of this broker, client and machine: the same node-rdkafka consume → produce
 * loop imeiflow uses, with no verification. Consumes `--in`, produces every value unchanged to
 * `--out` (same key, same partition), commits offsets as hints. Runs until killed.
 *
 *   node dist/bench/lib/passthrough.js --brokers B --in TOPIC --out TOPIC --group G
 */
import Kafka from 'node-rdkafka';
import { connect, consume, consumerConfig, producerConfig } from '../../src/kafka/client.js';

function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const value = i === -1 ? undefined : process.argv[i + 1];
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

const settings = { bootstrapServers: arg('brokers'), clientId: 'passthrough' };
const inTopic = arg('in');
const outTopic = arg('out');
const consumer = new Kafka.KafkaConsumer(consumerConfig(settings, arg('group')), {
  'auto.offset.reset': 'earliest',
});
const producer = new Kafka.Producer(producerConfig(settings, { dr_cb: false }));
await connect(consumer, 'passthrough consumer');
await connect(producer, 'passthrough producer');
producer.setPollInterval(5);
consumer.setDefaultConsumeTimeout(5);
consumer.subscribe([inTopic]);
process.once('SIGTERM', () => process.exit(0));
let lastCommit = 0;
for (;;) {
  const messages = await consume(consumer, 1024);
  for (const m of messages) {
    for (;;) {
      try {
        producer.produce(outTopic, m.partition, m.value, m.key, null);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 2));
      }
    }
  }
  const now = Date.now();
  if (messages.length > 0 && now - lastCommit > 1000) {
    lastCommit = now;
    consumer.commit();
  }
}
