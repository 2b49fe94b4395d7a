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
 * With `--state DIR --journal T` it is the minimal verifier: the same, plus what any verifier
 * with state must do at the least, in one thread. Per request one LMDB lookup (the IMEI's release
 * decisions, in the index at DIR, decide confirmable) and one outcome record written (the record
 * imeiflow stores, encoded the same way); per batch one write transaction, committed before the
 * offsets move, and one journal message holding the batch's output bytes, the outputs produced
 * once the journal has it (as exactly once by a journal asks).
 * It shows how near the equal-I/O floor a verifier can come on this machine at all.
 *
 * With `--sealed` as well it is the sealed minimal verifier: the least a verifier must do that
 * also keeps issue 22's promise that a purge leaves nothing readable of an owner (point 3). An
 * outcome's owner and phone are sealed under the key of their owner and device, found or made
 * and installed by imeiflow's own code (src/store/sealed-writes.ts: the scope key looked up, a
 * new one given a slot and its two index entries, the key file synced before the commit), and the
 * journal message is sealed with the topic key. It measures what crypto-shredding costs any
 * verifier, apart from what imeiflow does besides.
 *
 *   node dist/bench/lib/equal-io-passthrough.js --brokers B --in T --results T --confirmations T --group G
 *     [--state DIR --journal T [--sealed]]
 */
import Kafka from 'node-rdkafka';
import { luhnDigit } from '../../src/domain/imei.js';
import { confirmationMessage, resultMessage } from '../../src/domain/outputs.js';
import { parseRequest } from '../../src/domain/request.js';
import type { ConfirmedDecision, Decision, OutcomeRecord } from '../../src/domain/types.js';
import { connect, consume, consumerConfig, producerConfig } from '../../src/kafka/client.js';
import { SealedWrites } from '../../src/store/sealed-writes.js';
import { encodeStored } from '../../src/store/state-codec.js';
import { openStore, storedAsIs } from '../../src/store/store.js';
import { sealForTopic } from '../../src/store/topic-seal.js';
import { sealingForThisRun } from './bench-secrets.js';

function optionalArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

function arg(name: string): string {
  const value = optionalArg(name);
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

const settings = { bootstrapServers: arg('brokers'), clientId: 'equal-io-passthrough' };
const inTopic = arg('in');
const resultsTopic = arg('results');
const confirmationsTopic = arg('confirmations');
const stateDir = optionalArg('state');
const sealed = process.argv.includes('--sealed');
// Sealed as the service seals, with the secrets of a cluster key of this run (as bench/batch).
const secrets = sealed ? sealingForThisRun() : undefined;
const store =
  stateDir === undefined
    ? undefined
    : openStore({ dataDir: stateDir, ...(secrets === undefined ? {} : { secrets }) });
const journalTopic = store === undefined ? undefined : arg('journal');
const ELIGIBLE = new Set(['40', '53', '60', '94']);
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
  const opaque = report.opaque as Batch | JournalTicket;
  if ('outputs' in opaque) {
    // The journal has the batch: now its outputs may go out (what exactly once asks).
    for (const [topic, partition, value, key] of opaque.outputs)
      produce(topic, partition, value, key, opaque.batch);
    delivered(opaque.batch);
  } else {
    delivered(opaque);
  }
});

type Output = readonly [topic: string, partition: number, value: Uint8Array, key: string];

/** A batch's journal message, carrying the outputs to produce once it is delivered. */
interface JournalTicket {
  readonly batch: Batch;
  readonly outputs: readonly Output[];
}

/** One more of a batch's effects is durable; commit what every finished batch covers. */
function delivered(batch: Batch): void {
  batch.remaining--;
  let done: Batch | undefined;
  while (undelivered.length > 0 && undelivered[0]!.remaining === 0) done = undelivered.shift();
  if (done !== undefined) {
    consumer.commit([...done.offsets].map(([partition, offset]) => ({ topic: inTopic, partition, offset })));
  }
}

const SAMPLE_DEVICE = { tac: '', brand: 'Brand', model: 'Model', deviceType: 'Smartphone' };

/**
 * What the bench mix makes confirmable: read off the IMEI alone (see the header), or, with a
 * store, whether a release decision of an eligible procedure lists it (one lookup).
 */
function confirmable(imei: string): boolean {
  if (!/^\d{15}$/.test(imei) || imei.startsWith('99')) return false;
  const body = imei.slice(0, 14);
  if (luhnDigit(body) !== Number(imei[14])) return false;
  if (store === undefined) return Number(body.slice(8)) < 800_000;
  const declarations = store.declarations.get(body);
  return declarations?.some((d) => d.status === 'released' && ELIGIBLE.has(d.procedure ?? '')) ?? false;
}

function produce(
  topic: string,
  partition: number,
  value: Uint8Array,
  key: string,
  batch: Batch,
  opaque: Batch | JournalTicket = batch,
): void {
  for (;;) {
    try {
      producer.produce(topic, partition, value as Buffer, key, null, opaque);
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
  const outcomes: [string, Uint8Array][] = [];
  const records: [string, OutcomeRecord][] = [];
  const outputs: Output[] = [];
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
          operator: request.operator,
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
    if (store !== undefined) {
      const record: OutcomeRecord = { decision, source: `${m.partition}/${m.offset}`, at };
      if (sealed) records.push([request.requestId, record]);
      else outcomes.push([request.requestId, encodeStored(record)]);
    }
    outputs.push([resultsTopic, m.partition, resultMessage(decision, at), request.requestId]);
    if (decision.outcome === 'confirmed')
      outputs.push([confirmationsTopic, m.partition, confirmationMessage(decision, at), decision.imei]);
    batch.offsets.set(m.partition, m.offset + 1);
  }
  if (store === undefined || journalTopic === undefined) {
    for (const [topic, partition, value, key] of outputs) produce(topic, partition, value, key, batch);
    continue;
  }
  // The offsets move once the outcomes are stored as well as the outputs delivered.
  batch.remaining++;
  void store.env
    .transaction(() => {
      for (const [requestId, value] of outcomes) store.outcomes.put(requestId, storedAsIs(value));
      if (records.length === 0) return;
      // Encoded once, sealed under the scope's key; the key file synced last in the transaction.
      const writes = new SealedWrites(store);
      for (const [requestId, record] of records) writes.outcome(requestId, record);
      writes.flush();
    })
    .then(() => delivered(batch));
  const journal = sealForTopic('journal', Buffer.concat(outputs.map((o) => o[2])));
  produce(journalTopic, messages[0]!.partition, journal, 'batch', batch, { batch, outputs });
}
