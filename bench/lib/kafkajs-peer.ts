/**
 * What a careful Node engineer would write without imeiflow: KafkaJS, `eachBatch`, the same
 * verification code inline (imeiflow's own rules and output builders), the index in `Map`s,
 * one batched `send` per batch, offsets resolved after the send (at-least-once), partitions
 * processed concurrently and fetches that wait at most 100 ms. Runs until killed.
 *
 *   node dist/bench/lib/kafkajs-peer.js --brokers B --in TOPIC --results T --confirmations T --group G --declared N
 */
import { Kafka, logLevel } from 'kafkajs';
import { confirmationMessage, resultMessage } from '../../src/domain/outputs.js';
import { registryEntryOf } from '../../src/domain/registry-entry.js';
import { parseRequest } from '../../src/domain/request.js';
import { decide } from '../../src/domain/rules.js';
import type {
  BlockEntry,
  DeclarationEntry,
  IndexView,
  OutcomeRecord,
  RegistryEntry,
  TacRecord,
} from '../../src/domain/types.js';
import { BLOCKED_COUNT, benchTacRecord, blockedBody, declaredBody, TAC_COUNT, tacAt } from './dataset.js';

function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const value = i === -1 ? undefined : process.argv[i + 1];
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

const declared = Number(arg('declared'));
const tacs = new Map<string, TacRecord>();
const blocked = new Map<string, BlockEntry>();
const declarations = new Map<string, DeclarationEntry[]>();
const registry = new Map<string, RegistryEntry>();
const outcomes = new Map<string, OutcomeRecord>();
for (let i = 0; i < TAC_COUNT; i++) tacs.set(tacAt(i), benchTacRecord(i));
for (let i = 0; i < BLOCKED_COUNT; i++)
  blocked.set(blockedBody(i), { source: 'bench', reason: 'reported stolen', since: null });
for (let i = 0; i < declared; i++) {
  declarations.set(declaredBody(i), [
    {
      applicationId: `KZ-BENCH-${String(Math.floor(i / 100)).padStart(8, '0')}`,
      procedure: '40',
      status: 'released',
      hsCode: '8517130000',
      decidedAt: '2026-11-01T09:00:00.000Z',
    },
  ]);
}
const view: IndexView = {
  tac: (t) => tacs.get(t),
  blocked: (b) => blocked.get(b),
  declarations: (b) => declarations.get(b),
  application: () => undefined,
  localProduction: () => undefined,
  registered: (b) => registry.get(b),
  outcome: (r) => outcomes.get(r),
};
const rules = { eligibleProcedures: new Set(['40', '53', '60', '94']) };

const kafka = new Kafka({
  clientId: 'kafkajs-peer',
  brokers: arg('brokers').split(','),
  logLevel: logLevel.ERROR,
});
const producer = kafka.producer();
const consumer = kafka.consumer({ groupId: arg('group'), maxWaitTimeInMs: 100 });
await producer.connect();
await consumer.connect();
await consumer.subscribe({ topic: arg('in'), fromBeginning: true });
const resultsTopic = arg('results');
const confirmationsTopic = arg('confirmations');
process.once('SIGTERM', () => process.exit(0));

await consumer.run({
  eachBatchAutoResolve: false,
  partitionsConsumedConcurrently: 4,
  eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
    const at = new Date().toISOString();
    const results: { key: string; value: Buffer }[] = [];
    const confirmations: { key: string; value: Buffer }[] = [];
    for (const message of batch.messages) {
      const parsed = parseRequest(message.value, 'json', 65536);
      if (parsed.kind !== 'ok') continue;
      const { decision } = decide(parsed.request, `${batch.partition}/${message.offset}`, view, rules);
      results.push({ key: decision.requestId, value: Buffer.from(resultMessage(decision, at)) });
      if (decision.outcome === 'confirmed') {
        if (decision.notify)
          confirmations.push({ key: decision.imei, value: Buffer.from(confirmationMessage(decision, at)) });
        outcomes.set(decision.requestId, { decision, source: null, at });
        registry.set(decision.body, registryEntryOf(decision, batch.partition, at));
      }
    }
    await producer.sendBatch({
      topicMessages: [
        { topic: resultsTopic, messages: results },
        { topic: confirmationsTopic, messages: confirmations },
      ],
    });
    const last = batch.messages[batch.messages.length - 1];
    if (last !== undefined) resolveOffset(last.offset);
    await heartbeat();
  },
});
