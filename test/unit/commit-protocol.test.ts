/**
 * The exactly-once commit protocol without a broker (issue 11): the real PartitionTask,
 * RecordCollector, runBatch on LMDB and recoverPartition over an in-memory Kafka. A batch is
 * crashed at every step of its commit — its journal append failing, before the append, after
 * it and after each of its outputs, after all of them with or without the next batch having
 * stored its state — then a new owner (the same instance restarted, or a new one with an empty
 * store) recovers and runs the rest of the input. Recovery must publish exactly the missing
 * outputs, and in the end every request has one final result, every device one БДИК
 * confirmation, no output is published twice, waiting requests still wait (with their
 * deadlines) and the registry is back; forwards sent again are dropped at their destination.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitingDeadline } from '../../src/domain/deadline.js';
import { devicePartition } from '../../src/domain/device-partition.js';
import type { PendingEntry } from '../../src/domain/types.js';
import { isImeiflowError } from '../../src/errors.js';
import { decodeJournal, journalKey, POSITION_HEADER } from '../../src/pipeline/journal.js';
import { headerOf, keyOf, type LogMessage } from '../../src/pipeline/kafka-port.js';
import { ORIGIN_HEADER } from '../../src/pipeline/record-collector.js';
import { ROLE_REPARTITION } from '../../src/pool/batch-contract.js';
import { applyApplicationDecision } from '../../src/store/declarations.js';
import { CHANGELOG_FORMAT } from '../../src/store/state-codec.js';
import { bumpTacVersion, openStore, type Store } from '../../src/store/store.js';
import { structuredPackr } from '../../src/store/structures.js';
import { APPLE, imei } from '../support/fixtures.js';
import { MemoryKafka } from '../support/memory-kafka.js';
import { PipelineInstance, settle, TOPICS } from '../support/pipeline-instance.js';
import { tempDir } from '../support/tmp.js';

const root = tempDir();
let stores = 0;
const opened: Store[] = [];
afterAll(async () => {
  for (const store of opened) await store.close();
});

/** Devices (IMEI bodies' partitions among two) for each role in the story. */
function devices(): Record<'d0a' | 'd0b' | 'w0a' | 'w0b' | 'l0' | 'd1a' | 'd1b', string> {
  const inPartition: [string[], string[]] = [[], []];
  for (let serial = 1000; inPartition[0].length < 5 || inPartition[1].length < 2; serial++) {
    const device = imei(APPLE, serial);
    inPartition[devicePartition(device.slice(0, 14), 2) as 0 | 1].push(device);
  }
  const [p0, p1] = inPartition;
  return { d0a: p0[0]!, d0b: p0[1]!, w0a: p0[2]!, w0b: p0[3]!, l0: p0[4]!, d1a: p1[0]!, d1b: p1[1]! };
}
const D = devices();
const body = (device: string) => device.slice(0, 14);
/** The same device with a wrong check digit. */
const badCheckDigit = (device: string) => device.slice(0, 14) + String((Number(device[14]) + 1) % 10);
const LATE_APPLICATION = 'KZ-LATE';

/** A store as every instance has it: the TAC table and KGD's release decision for the confirmable devices. */
function seededStore(): Store {
  const store = openStore({ dataDir: join(root, `store-${stores++}`) });
  opened.push(store);
  store.env.transactionSync(() => {
    store.tac.put(APPLE, {
      tac: APPLE,
      brand: 'Apple',
      model: 'iPhone 6',
      marketingName: 'iPhone 6',
      manufacturer: 'Apple Inc',
      deviceType: 'Smartphone',
      operatingSystem: 'iOS',
      bands: '',
      allocationDate: null,
    });
    bumpTacVersion(store);
    applyApplicationDecision(store, {
      entry: { applicationId: 'KZ-A', procedure: '40', status: 'released', hsCode: null, decidedAt: null },
      bodies: [D.d0a, D.d0b, D.d1a, D.d1b].map(body),
    });
  });
  return store;
}

/** KGD releases the application the waiting requests name, and the owner hears of it. */
async function releaseLateApplication(instance: PipelineInstance): Promise<void> {
  await instance.store.env.transaction(() => {
    applyApplicationDecision(instance.store, {
      entry: {
        applicationId: LATE_APPLICATION,
        procedure: '40',
        status: 'released',
        hsCode: null,
        decidedAt: null,
      },
      bodies: [D.w0a, D.w0b].map(body),
    });
  });
  instance.task(0).markDirty([], [LATE_APPLICATION]);
}

const RECEIVED = Date.parse('2026-11-23T05:00:00Z');
let sent = 0;

/** A request on requests[0], whatever partition its device belongs to. */
function request(kafka: MemoryKafka, requestId: string, device: string, applicationId?: string): number {
  const value = { requestId, imei: device, operator: 'beeline', channel: 'import', applicationId };
  const timestamp = RECEIVED + sent++ * 1000;
  kafka.append({
    topic: TOPICS.requests,
    partition: 0,
    key: device,
    value: Buffer.from(JSON.stringify(value)),
    timestamp,
  });
  return timestamp;
}

const positionOf = (m: LogMessage) => headerOf(m, POSITION_HEADER) ?? '';
const json = (m: LogMessage) => JSON.parse(m.value!.toString('utf8')) as Record<string, unknown>;

function all(kafka: MemoryKafka, topic: string): LogMessage[] {
  return [...kafka.messages(topic, 0), ...kafka.messages(topic, 1)];
}

/** Every output message's (topic, partition, position), as strings. */
function outputPositions(kafka: MemoryKafka, from?: Map<string, number>): string[] {
  const found: string[] = [];
  for (const topic of [
    TOPICS.results,
    TOPICS.confirmations,
    TOPICS.dlq,
    TOPICS.revocations,
    TOPICS.pendingChangelog,
    TOPICS.repartition,
  ]) {
    for (const partition of [0, 1]) {
      for (const m of kafka.messages(topic, partition)) {
        if (m.offset >= (from?.get(`${topic}/${partition}`) ?? 0))
          found.push(`${topic}[${partition}]@${positionOf(m)}`);
      }
    }
  }
  return found.sort();
}

function highs(kafka: MemoryKafka): Map<string, number> {
  const result = new Map<string, number>();
  for (const topic of Object.values(TOPICS)) {
    for (const partition of [0, 1]) {
      const messages = kafka.messages(topic, partition);
      result.set(`${topic}/${partition}`, (messages[messages.length - 1]?.offset ?? -1) + 1);
    }
  }
  return result;
}

/**
 * Where the crash comes in the batch under test. `budget`: messages the producer still delivers
 * (the journal record first, then the batch's outputs in order).
 */
interface CrashPoint {
  readonly name: string;
  readonly budget: number;
  readonly failJournal?: boolean;
}

/** The batch under test decides four requests into these outputs, in this order. */
const BATCH_OUTPUTS: readonly (readonly [topic: string, what: string])[] = [
  [TOPICS.results, 'b-confirm'],
  [TOPICS.confirmations, 'b-confirm'],
  [TOPICS.repartition, 'b-forward'],
  [TOPICS.results, 'b-luhn'],
  [TOPICS.results, 'b-wait (pending)'],
  [TOPICS.pendingChangelog, 'b-wait'],
];
const FORWARD_INDEX = 2;

const CRASH_POINTS: CrashPoint[] = [
  { name: 'the journal append fails', budget: Number.POSITIVE_INFINITY, failJournal: true },
  { name: 'before the journal append', budget: 0 },
  ...BATCH_OUTPUTS.map((_, k) => ({
    name:
      k === 0
        ? 'right after the journal append'
        : `after ${k} outputs (the last to ${BATCH_OUTPUTS[k - 1]!.join(': ')})`,
    budget: 1 + k,
  })),
  { name: 'after all outputs, before the next batch stored its state', budget: 1 + BATCH_OUTPUTS.length },
];

type NewOwner = 'the same instance' | 'the same instance, next batch stored' | 'a new instance';

interface Story {
  readonly kafka: MemoryKafka;
  readonly first: PipelineInstance;
  readonly owner: PipelineInstance;
  /** Outputs the new owner's recovery published. */
  readonly republished: string[];
  /** What recovery should have published: every forward of the journal window and the outputs the crash lost. */
  readonly missing: string[];
  readonly waitingBeforeCrash: PendingEntry[];
  readonly waitingAfterRecovery: { a: PendingEntry[]; b: PendingEntry[]; byApplication: string[] };
  readonly received: Record<'aWait' | 'bWait', number>;
  /** Copies of the forwarded requests partition 1 is to receive: recovery sends forwards again. */
  readonly forwardCopies: Record<'a' | 'b', number>;
}

/**
 * Batch A (fully committed), then batch B crashed at `point`, then the new owner recovers both
 * partitions and runs the rest: a repeat request for a registered device, and KGD's release of
 * the application two requests wait on. Without `point`, nothing crashes.
 */
async function story(point: CrashPoint | undefined, newOwner: NewOwner): Promise<Story> {
  const kafka = new MemoryKafka();
  const first = new PipelineInstance(kafka, seededStore(), 2);
  await first.recoverAndStart([0, 1]);

  request(kafka, 'a-confirm', D.d0a);
  const aWait = request(kafka, 'a-wait', D.w0a, LATE_APPLICATION);
  request(kafka, 'a-forward', D.d1a);
  await settle(kafka, [first]);
  const startedBefore = first.runner.started;
  const waitingBeforeCrash = first.store.pending.get(body(D.w0a)) ?? [];

  if (point !== undefined) {
    first.producer.crashAfter(point.budget);
    if (point.failJournal) first.producer.failNextTo(TOPICS.journal);
    // The batch under test is decided; the next one (which stores its state) only if asked.
    first.runner.allow(newOwner === 'the same instance, next batch stored' ? 2 : 1);
  }
  request(kafka, 'b-confirm', D.d0b);
  request(kafka, 'b-forward', D.d1b);
  request(kafka, 'b-luhn', badCheckDigit(D.l0));
  const bWait = request(kafka, 'b-wait', D.w0b, LATE_APPLICATION);
  await settle(kafka, [first]);

  let owner = first;
  let republished: string[] = [];
  const missing: string[] = [];
  const forwardCopies = { a: 1, b: 1 };
  if (point !== undefined) {
    const journaled = kafka.messages(TOPICS.journal, 0).map((m) => decodeJournal(m.value!));
    if (point.failJournal) expect(first.fatal.map((e) => isImeiflowError(e, 'KAFKA_FATAL'))).toEqual([true]);
    if (newOwner === 'the same instance, next batch stored') {
      expect(first.runner.started - startedBefore).toBe(2);
      expect(first.store.outcomes.get('b-confirm')).toBeDefined();
    }
    first.crash();
    // The crash came where it was meant to: the batch journaled or not, and so many of its outputs out.
    const batchJournaled = point.budget >= 1 && !point.failJournal;
    /** Outputs of the batch out before the crash, if it was journaled. */
    const published = point.budget - 1;
    expect(journaled.map((r) => r.seq)).toEqual(batchJournaled ? [1, 2] : [1]);
    expect(outputPositions(kafka).filter((p) => p.includes('@2.'))).toHaveLength(
      batchJournaled ? Math.min(published, BATCH_OUTPUTS.length) : 0,
    );

    // What the crash left unpublished, from the journal window: all forwards (their destination
    // drops copies), and the batch's outputs from the first one the crash lost.
    for (const record of journaled.slice(-2)) {
      for (let idx = 0; idx < record.outputs.outputCount; idx++) {
        const role = record.outputs.role(idx);
        const partition = record.outputs.partition(idx);
        const topic = first.collector.topic(role);
        const isBatch = batchJournaled && record === journaled[journaled.length - 1];
        if (role === ROLE_REPARTITION || (isBatch && idx >= published))
          missing.push(`${topic}[${partition}]@${record.seq}.${idx}`);
      }
    }
    missing.sort();
    // Batch A's forward is in the journal window: sent again. B's, if the crash let it through.
    forwardCopies.a = 2;
    forwardCopies.b = batchJournaled && published > FORWARD_INDEX ? 2 : 1;

    owner =
      newOwner === 'a new instance'
        ? new PipelineInstance(kafka, seededStore(), 2)
        : new PipelineInstance(kafka, first.store, 2);
    const before = highs(kafka);
    const starts = [await owner.recover(0), await owner.recover(1)];
    republished = outputPositions(kafka, before);
    owner.start(0, starts[0]!);
    owner.start(1, starts[1]!);
  }
  await settle(kafka, [owner]);
  const waitingAfterRecovery = {
    a: owner.store.pending.get(body(D.w0a)) ?? [],
    b: owner.store.pending.get(body(D.w0b)) ?? [],
    byApplication: [...owner.store.pendingByApplication.getValues(LATE_APPLICATION)],
  };

  // The rest of the input: a repeat for a device of each partition registered before the crash.
  request(kafka, 'c-again', D.d0a);
  request(kafka, 'c-again-forwarded', D.d1a);
  await settle(kafka, [owner]);
  await releaseLateApplication(owner);
  await settle(kafka, [owner]);
  expect(owner.fatal).toEqual([]);
  return {
    kafka,
    first,
    owner,
    republished,
    missing,
    waitingBeforeCrash,
    waitingAfterRecovery,
    received: { aWait, bWait },
    forwardCopies,
  };
}

const FINAL = new Set(['confirmed', 'rejected']);
const REQUESTS = [
  'a-confirm',
  'a-wait',
  'a-forward',
  'b-confirm',
  'b-forward',
  'b-luhn',
  'b-wait',
  'c-again',
  'c-again-forwarded',
];

function checkExactlyOnce(s: Story): void {
  const { kafka, owner } = s;
  const results = all(kafka, TOPICS.results).map(json);
  // Every request: exactly one final result; the two that waited, one `pending` result before it.
  const finals = new Map<string, string[]>();
  for (const r of results) {
    if (!FINAL.has(r['outcome'] as string)) continue;
    finals.set(r['requestId'] as string, [
      ...(finals.get(r['requestId'] as string) ?? []),
      r['outcome'] as string,
    ]);
  }
  expect(Object.fromEntries(finals)).toEqual({
    'a-confirm': ['confirmed'],
    'a-wait': ['confirmed'],
    'a-forward': ['confirmed'],
    'b-confirm': ['confirmed'],
    'b-forward': ['confirmed'],
    'b-luhn': ['rejected'],
    'b-wait': ['confirmed'],
    'c-again': ['confirmed'],
    'c-again-forwarded': ['confirmed'],
  });
  expect(
    results
      .filter((r) => !FINAL.has(r['outcome'] as string))
      .map((r) => `${r['requestId']}:${r['outcome']}`)
      .sort(),
  ).toEqual(['a-wait:pending', 'b-wait:pending']);
  expect(REQUESTS.every((id) => finals.has(id))).toBe(true);
  // Forwarded requests are decided by their device's partition.
  for (const m of kafka.messages(TOPICS.results, 1))
    expect(['a-forward', 'b-forward', 'c-again-forwarded']).toContain(json(m)['requestId']);
  expect(json(kafka.messages(TOPICS.results, 0).find((m) => keyOf(m) === 'b-luhn')!)['reason']).toBe(
    'luhn_mismatch',
  );

  // Every confirmed device: one БДИК confirmation, a repeat for a registered device none.
  expect(
    all(kafka, TOPICS.confirmations)
      .map((m) => keyOf(m))
      .sort(),
  ).toEqual([D.d0a, D.d0b, D.w0a, D.w0b, D.d1a, D.d1b].sort());

  // No output of the owners' own partitions published twice (forwards may be: see below).
  const own = outputPositions(kafka).filter((p) => !p.startsWith(`${TOPICS.repartition}[`));
  expect(own.filter((p, i) => own.indexOf(p) !== i)).toEqual([]);

  // Forwards sent again reached partition 1 and were dropped there: one decision each (above).
  const copies = (requestId: string) =>
    kafka
      .messages(TOPICS.repartition, 1)
      .filter((m) => JSON.parse(m.value!.toString('utf8')).requestId === requestId);
  for (const m of kafka.messages(TOPICS.repartition, 1))
    expect(headerOf(m, ORIGIN_HEADER)).toMatch(/^0\.\d+$/);
  expect([copies('a-forward').length, copies('b-forward').length]).toEqual([
    s.forwardCopies.a,
    s.forwardCopies.b,
  ]);

  // Everything on requests[0] was consumed: the last journal record of partition 0 says so.
  const journal = kafka.messages(TOPICS.journal, 0);
  expect(decodeJournal(journal[journal.length - 1]!.value!).inputs.requests).toBe(
    kafka.messages(TOPICS.requests, 0).length,
  );
  // Nothing waits any more, in the store as in the pending changelog.
  expect([...owner.store.pending.getRange()].map((e) => e.key)).toEqual([]);
}

describe('the commit protocol: crash at every step of a batch, recover, nothing lost or doubled', () => {
  it('without a crash: the story and its outputs, as the crash cases expect them', async () => {
    const s = await story(undefined, 'the same instance');
    checkExactlyOnce(s);
    // The batch under test is the second journal record, with the outputs the crash points name.
    const record = decodeJournal(s.kafka.messages(TOPICS.journal, 0)[1]!.value!);
    const topics = Array.from({ length: record.outputs.outputCount }, (_, i) =>
      s.first.collector.topic(record.outputs.role(i)),
    );
    expect(topics).toEqual(BATCH_OUTPUTS.map(([topic]) => topic));
  });

  for (const newOwner of [
    'the same instance',
    'the same instance, next batch stored',
    'a new instance',
  ] as const) {
    describe(`taken over by ${newOwner}`, () => {
      for (const point of CRASH_POINTS) {
        if (newOwner === 'the same instance, next batch stored' && (point.budget === 0 || point.failJournal))
          continue; // nothing was journaled: there is no next batch to store it
        it(`crash ${point.name}`, async () => {
          const s = await story(point, newOwner);
          // Recovery published exactly what was missing.
          expect(s.republished).toEqual(s.missing);
          checkExactlyOnce(s);
          // The request that waited before the crash still waits after it, with its deadline;
          // so does the one of the crashed batch, and the index by application is back.
          const deadlines = s.owner.runner.context.deadlines;
          expect(s.waitingAfterRecovery.a).toEqual(s.waitingBeforeCrash);
          expect(s.waitingAfterRecovery.a.map((e) => [e.request.requestId, e.stage, e.deadline])).toEqual([
            [
              'a-wait',
              'awaiting_kgd',
              waitingDeadline('awaiting_kgd', new Date(s.received.aWait), undefined, deadlines),
            ],
          ]);
          expect(s.waitingAfterRecovery.b.map((e) => [e.request.requestId, e.stage, e.deadline])).toEqual([
            [
              'b-wait',
              'awaiting_kgd',
              waitingDeadline('awaiting_kgd', new Date(s.received.bWait), undefined, deadlines),
            ],
          ]);
          expect(s.waitingAfterRecovery.byApplication.sort()).toEqual([body(D.w0a), body(D.w0b)].sort());
        });
      }
    });
  }
});
