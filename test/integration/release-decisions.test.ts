/**
 * Release decisions are never skipped (issue 10). KGD's decisions reach every instance's
 * declaration index through the global tables; a batch whose LMDB write fails must be applied
 * again from its first unapplied decision, once, and a bad decision must reach the DLQ once,
 * however many instances read it.
 *
 * The faults are injected at the seams where they happen: a table write that throws inside the
 * LMDB transaction after writing part of the batch, and a DLQ topic that refuses the validator's
 * writes. The broker is the embedded cluster in its own process; the global tables and the
 * validators run in this process (the real classes), the last test two real service processes.
 */
import { describe, expect, it } from 'vitest';
import { type Config, loadConfig } from '../../src/config/config.js';
import type { ReleaseDecision } from '../../src/domain/release-decision.js';
import { isImeiflowError } from '../../src/errors.js';
import type { KafkaSettings } from '../../src/kafka/client.js';
import { DeliveringProducer } from '../../src/kafka/delivering-producer.js';
import { PartitionReader } from '../../src/kafka/partition-reader.js';
import { ensureTopics } from '../../src/kafka/topics.js';
import { createLogger } from '../../src/log.js';
import { GlobalTables, type IndexChanges } from '../../src/pipeline/global-tables.js';
import type { OutputSink } from '../../src/pipeline/kafka-port.js';
import { SOURCE_HEADER } from '../../src/pipeline/positions.js';
import { RecordValidator } from '../../src/pipeline/record-validator.js';
import { declarationsTable } from '../../src/pipeline/tables.js';
import { openStore, type Store } from '../../src/store/store.js';
import { testDecoders } from '../support/cluster-key.js';
import { APPLE, imei } from '../support/fixtures.js';
import { useRig } from '../support/rig.js';
import { waitUntil } from '../support/wait.js';

const rig = useRig({ name: 'decisions', kafka: { collect: ['dlq'] } });
const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'silent');
const IMEIS_PER_APPLICATION = 3;

function configFor(dataDir: string, decisionsTopic: string): Config {
  return loadConfig({
    env: {
      ...rig.env,
      KAFKA_BROKERS: rig.broker.bootstrap,
      IMEIFLOW_DATA_DIR: dataDir,
      IMEIFLOW_TOPIC_DECISIONS: decisionsTopic,
    },
  });
}

function kafkaOf(): KafkaSettings {
  return { bootstrapServers: rig.broker.bootstrap, clientId: 'decisions-test' };
}

/** Application `prefix-n` releases three IMEIs of its own; serials from `base`. */
function released(prefix: string, n: number, base: number): ReleaseDecision & { imeis: string[] } {
  return {
    applicationId: `${prefix}-${n}`,
    procedure: '40',
    status: 'released',
    imeis: Array.from({ length: IMEIS_PER_APPLICATION }, (_, k) => imei(APPLE, base + n * 10 + k)),
    decidedAt: '2026-11-20T09:00:00Z',
  } as ReleaseDecision & { imeis: string[] };
}

async function send(topic: string, decisions: readonly ReleaseDecision[]): Promise<void> {
  for (const d of decisions) rig.producer.sendJson(topic, d.applicationId, d);
  await rig.producer.flush();
}

/**
 * The real declarations table, counting which messages it applied in a committed batch (the
 * afterCommit hook runs only after the LMDB transaction committed) and throwing, after it wrote
 * the batch, on the attempts `fails` picks.
 */
function injected(fails: (attempt: number) => boolean): {
  table: ReturnType<typeof declarationsTable>;
  committed: Map<string, number>;
  attempts: () => number;
  failed: () => number;
} {
  const real = declarationsTable(log);
  const committed = new Map<string, number>();
  let attempts = 0;
  let failed = 0;
  return {
    table: {
      role: real.role,
      decode: real.decode,
      apply(store: Store, records, changes: IndexChanges) {
        attempts++;
        real.apply(store, records, changes);
        if (fails(attempts)) {
          failed++;
          throw new Error(`injected: the LMDB write of attempt ${attempts} failed`);
        }
      },
      afterCommit(records) {
        for (const { message: m } of records) {
          const at = `${m.partition}/${m.offset}`;
          committed.set(at, (committed.get(at) ?? 0) + 1);
        }
      },
    },
    committed,
    attempts: () => attempts,
    failed: () => failed,
  };
}

function startTables(
  config: Config,
  store: Store,
  table: ReturnType<typeof declarationsTable>,
): { tables: GlobalTables; fatal: Error[]; changed: Set<string> } {
  const fatal: Error[] = [];
  const changed = new Set<string>();
  const tables = new GlobalTables({
    config,
    kafka: kafkaOf(),
    store,
    log,
    tables: [table],
    onChanged: (changes) => {
      for (const id of changes.applications) changed.add(id);
    },
    consumed: () => undefined,
    skipped: () => undefined,
    onFatal: (error) => fatal.push(error),
  });
  return { tables, fatal, changed };
}

/** Every offset of every partition of `topic`, from the broker's high watermarks. */
async function allOffsets(reader: PartitionReader, topic: string, partitions: number): Promise<string[]> {
  const all: string[] = [];
  for (let p = 0; p < partitions; p++) {
    const { high } = await reader.bounds(topic, p);
    for (let o = 0; o < high; o++) all.push(`${p}/${o}`);
  }
  return all.sort();
}

/** What the index says about an application and each IMEI it listed. */
function indexOf(store: Store, decision: ReleaseDecision & { imeis: string[] }) {
  return {
    application: store.applications.get(decision.applicationId),
    entries: decision.imeis.map((i) =>
      store.declarations.get(i.slice(0, 14))?.filter((e) => e.applicationId === decision.applicationId),
    ),
  };
}

function expectIndexed(store: Store, decision: ReleaseDecision & { imeis: string[] }, status: string): void {
  const { application, entries } = indexOf(store, decision);
  expect(application, decision.applicationId).toMatchObject({ status, imeiCount: IMEIS_PER_APPLICATION });
  for (const e of entries) expect(e, decision.applicationId).toEqual([expect.objectContaining({ status })]);
}

describe('global tables under a failing LMDB write', () => {
  it('apply a batch that failed three times from its first unapplied decision, each decision once', async () => {
    const topic = `${rig.topics.decisions}-retry`;
    const dataDir = `${rig.root}/retry`;
    const config = configFor(dataDir, topic);
    const store = openStore({ dataDir });
    let armed = false;
    let failuresLeft = 3;
    const probe = injected(() => armed && failuresLeft-- > 0);
    const reader = await PartitionReader.connect(kafkaOf(), 'decisions-test');
    const { tables, fatal, changed } = startTables(config, store, probe.table);
    try {
      const first = Array.from({ length: 100 }, (_, n) => released('KZ-R1', n, 100_000));
      await send(topic, first);
      await tables.start();
      await waitUntil('the first 100 decisions', 30_000, () => tables.applied === 100);

      // The next batches: 200 more decisions, the first 50 applications of round one revoked.
      armed = true;
      const second = Array.from({ length: 150 }, (_, n) => released('KZ-R2', n, 200_000));
      const revoked = first.slice(0, 50).map((d) => ({ ...d, status: 'revoked' as const }));
      await send(topic, [...second, ...revoked]);
      await waitUntil('all 300 decisions', 60_000, () => tables.applied === 300);
      await new Promise((r) => setTimeout(r, 2000));

      expect(fatal).toEqual([]);
      expect(probe.failed()).toBe(3);
      expect(tables.applied).toBe(300);
      // Every message of the topic was applied in exactly one committed batch.
      const offsets = await allOffsets(reader, topic, 4);
      expect(offsets).toHaveLength(300);
      expect([...probe.committed.keys()].sort()).toEqual(offsets);
      expect([...probe.committed].filter(([, n]) => n !== 1)).toEqual([]);
      // The failed batches left nothing behind: what the index holds is what was decided.
      for (const d of revoked) expectIndexed(store, d, 'revoked');
      for (const d of first.slice(50)) expectIndexed(store, d, 'released');
      for (const d of second) expectIndexed(store, d, 'released');
      // Waiting requests are re-evaluated for every application the retried batches changed.
      for (const d of [...first, ...second]) expect(changed.has(d.applicationId), d.applicationId).toBe(true);
    } finally {
      await tables.stop();
      await reader.close();
      await store.close();
    }
  });

  it('stop the process after five failed attempts, and a restart resumes at the stored positions', async () => {
    const topic = `${rig.topics.decisions}-stop`;
    const dataDir = `${rig.root}/stop`;
    const config = configFor(dataDir, topic);
    const reader = await PartitionReader.connect(kafkaOf(), 'decisions-test');
    const first = Array.from({ length: 60 }, (_, n) => released('KZ-S1', n, 300_000));
    const second = Array.from({ length: 60 }, (_, n) => released('KZ-S2', n, 400_000));
    let store = openStore({ dataDir });
    let armed = false;
    const failing = injected(() => armed);
    const run1 = startTables(config, store, failing.table);
    try {
      await send(topic, first);
      await run1.tables.start();
      await waitUntil('the first 60 decisions', 30_000, () => run1.tables.applied === 60);
      armed = true;
      await send(topic, second);
      await waitUntil('the process to be stopped', 30_000, () => run1.fatal.length > 0);
      expect(failing.failed()).toBe(5);
      const stop = run1.fatal[0]!;
      expect(isImeiflowError(stop, 'KAFKA_FATAL')).toBe(true);
      expect(stop.message).toBe('global tables: a batch failed 5 times; stopping');
      expect((stop.cause as Error).message).toMatch(/^injected: the LMDB write of attempt \d+ failed$/);
      // Five attempts wrote the second round and threw: none of it was kept.
      for (const d of second) expect(indexOf(store, d).application, d.applicationId).toBeUndefined();
    } finally {
      await run1.tables.stop();
      await store.close();
    }

    // The restart, on the same data directory, with the write working again.
    store = openStore({ dataDir });
    const working = injected(() => false);
    const run2 = startTables(config, store, working.table);
    try {
      await run2.tables.start();
      await waitUntil('the second 60 decisions', 30_000, () => run2.tables.applied === 60);
      await new Promise((r) => setTimeout(r, 2000));
      expect(run2.tables.applied).toBe(60);
      expect(run2.fatal).toEqual([]);
      // The two runs applied disjoint halves that together are every message, each once.
      const offsets = await allOffsets(reader, topic, 4);
      const both = [...failing.committed.keys(), ...working.committed.keys()].sort();
      expect(both).toEqual(offsets);
      expect([...failing.committed.values(), ...working.committed.values()].every((n) => n === 1)).toBe(true);
      for (const d of [...first, ...second]) expectIndexed(store, d, 'released');
    } finally {
      await run2.tables.stop();
      await reader.close();
      await store.close();
    }
  });
});

/** A producer whose first `refusals` sends fail, as when the DLQ topic refuses writes. */
function refusing(sink: OutputSink, refusals: number): OutputSink & { refused: () => number } {
  let refused = 0;
  return {
    enqueue: (messages) => sink.enqueue(messages),
    send: async (messages) => {
      if (refused < refusals) {
        refused++;
        throw new Error('injected: the DLQ topic refused the write');
      }
      return sink.send(messages);
    },
    refused: () => refused,
  };
}

/** DLQ entries whose source is `topic`, as `partition/offset`. */
function dlqSources(topic: string): string[] {
  return rig.collector
    .json<{ topic: string; partition: number; offset: number }>(rig.topics.dlq)
    .filter((e) => e.topic === topic)
    .map((e) => `${e.partition}/${e.offset}`);
}

/** Bad decisions: `n` that are not JSON and `n` listing an IMEI with a wrong check digit. */
function badDecisions(prefix: string, n: number): { key: string; value: string }[] {
  const bad: { key: string; value: string }[] = [];
  for (let i = 0; i < n; i++) {
    bad.push({ key: `${prefix}-json-${i}`, value: `{"applicationId": "${prefix}-json-${i}", ` });
    const good = imei(APPLE, 500_000 + i);
    const wrong = good.slice(0, 14) + String((Number(good[14]) + 1) % 10);
    bad.push({
      key: `${prefix}-luhn-${i}`,
      value: JSON.stringify({ ...released(`${prefix}-luhn`, i, 600_000), imeis: [wrong] }),
    });
  }
  return bad;
}

describe('the decision validator', () => {
  it('writes each bad decision to the DLQ once, with two validators and a DLQ that refuses writes', async () => {
    const topic = `${rig.topics.decisions}-validator`;
    const config = configFor(`${rig.root}/validator`, topic);
    const kafka = kafkaOf();
    const validators: RecordValidator[] = [];
    const sinks: ReturnType<typeof refusing>[] = [];
    const closers: (() => Promise<void>)[] = [];
    let partitions = 0;
    const startValidator = async (): Promise<RecordValidator> => {
      const producer = await DeliveringProducer.connect(kafka, 'validator test producer');
      // As the service does at start-up: every topic exists, the DLQ included.
      ({ partitions } = await ensureTopics(producer.client, kafka, config, true));
      const reader = await PartitionReader.connect(kafka, config.kafka.groupId);
      const sink = refusing(producer, 2);
      const validator = new RecordValidator({
        config,
        kafka,
        producer: sink,
        reader,
        log,
        decoders: testDecoders(),
        partitions,
        onFatal: (error) => {
          throw error;
        },
      });
      await validator.start();
      validators.push(validator);
      sinks.push(sink);
      closers.push(async () => {
        await validator.stop();
        await reader.close();
        await producer.close();
      });
      return validator;
    };
    try {
      const first = badDecisions('KZ-V1', 5);
      const good = Array.from({ length: 30 }, (_, n) => released('KZ-VG', n, 700_000));
      for (const { key, value } of first) rig.producer.send(topic, key, value);
      await send(topic, good);
      const a = await startValidator();
      const b = await startValidator();
      await waitUntil('10 DLQ entries', 60_000, () => dlqSources(topic).length >= 10);

      // One validator leaves: the other takes its partitions and finds what is already written.
      await closers.shift()!();
      const second = badDecisions('KZ-V2', 3);
      for (const { key, value } of second) rig.producer.send(topic, key, value);
      await rig.producer.flush();
      await waitUntil('16 DLQ entries', 60_000, () => dlqSources(topic).length >= 16);
      await new Promise((r) => setTimeout(r, 3000));

      const sources = dlqSources(topic);
      expect(sources).toHaveLength(16);
      expect(new Set(sources).size).toBe(16);
      expect(a.rejected + b.rejected).toBe(16);
      // The refusals happened and were retried, not skipped.
      expect(sinks.map((s) => s.refused())).toEqual([2, 2]);
      const dlq = rig.collector.of(rig.topics.dlq).filter((m) => m.value?.includes(`"topic":"${topic}"`));
      for (const m of dlq) {
        const entry = JSON.parse(m.value!) as { partition: number; error: string };
        expect(m.partition).toBe(entry.partition % partitions);
        expect(entry.error).toMatch(/^(not JSON|release decision lists invalid IMEIs)/);
      }
    } finally {
      for (const close of closers) await close();
    }
  });
});

describe('two service instances', () => {
  it('apply every decision once each, and send each bad one to the DLQ once', async () => {
    const topic = `${rig.topics.decisions}-services`;
    const env = { IMEIFLOW_TOPIC_DECISIONS: topic };
    // The DLQ already holds entries the validator wrote for another decisions topic (renamed, or
    // recreated with offsets from 0) at the partitions and offsets this one's will have: they
    // must not be taken for this topic's.
    for (let p = 0; p < 4; p++) {
      const entry = { topic: `${topic}-before`, partition: p, offset: 1000, key: null, error: 'not JSON' };
      rig.producer.send(rig.topics.dlq, null, JSON.stringify(entry), [{ [SOURCE_HEADER]: `${p}.1000` }], p);
    }
    await rig.producer.flush();
    const a = await rig.startService('a', { env });
    const b = await rig.startService('b', { env });
    await Promise.all([a.waitReady(), b.waitReady()]);

    const good = Array.from({ length: 20 }, (_, n) => released('KZ-SV', n, 800_000));
    const bad = badDecisions('KZ-SB', 3);
    for (const { key, value } of bad) rig.producer.send(topic, key, value);
    await send(topic, good);
    await waitUntil('6 DLQ entries', 60_000, () => dlqSources(topic).length >= 6);

    // Both instances read every decision: 26 consumed each, no more.
    const consumed = async (port: number): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`imeiflow_messages_consumed_total{topic="${topic}"}`));
      return line === undefined ? 0 : Number(line.split(' ').at(-1));
    };
    const deadline = Date.now() + 60_000;
    while ((await consumed(a.port)) < 26 || (await consumed(b.port)) < 26) {
      if (Date.now() > deadline) throw new Error('the instances did not read all 26 decisions');
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 3000));
    expect([await consumed(a.port), await consumed(b.port)]).toEqual([26, 26]);
    const sources = dlqSources(topic);
    expect(sources).toHaveLength(6);
    expect(new Set(sources).size).toBe(6);

    // Each instance's index holds every good decision, with its three IMEIs counted once.
    await a.kill('SIGTERM');
    await b.kill('SIGTERM');
    for (const name of ['a', 'b']) {
      const store = openStore({ dataDir: rig.dataDir(name), readOnly: true });
      try {
        for (const d of good) expectIndexed(store, d, 'released');
      } finally {
        await store.close();
      }
    }
  });
});
