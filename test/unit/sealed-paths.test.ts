/**
 * The hot paths of sealing (issue 22, point 3): a batch's state, stored by whoever applies it
 * (src/pool/state-ops.ts), keeps owners and phones only sealed, and reads back erased once the
 * owner's keys are destroyed; the journal and the pending changelog are sealed whole under the
 * thread's topic seal, still read when written before it, and refused (not skipped) when they
 * cannot be opened.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { OutcomeRecord, PendingEntry, RegistryEntry } from '../../src/domain/types.js';
import { decodeJournal, encodeJournal, JournalFormatError } from '../../src/pipeline/journal.js';
import { DB_OUTCOMES, DB_PENDING, DB_REGISTRY, OP_PUT } from '../../src/pool/batch-contract.js';
import { BatchOutputs, encodeOutputs } from '../../src/pool/outputs-section.js';
import { applyStateOps } from '../../src/pool/state-ops.js';
import { recordPurge } from '../../src/retention/purge-orders.js';
import { decodePendingRecord, encodePendingRecord, encodeStored } from '../../src/store/state-codec.js';
import { installTopicSeal, isSealed } from '../../src/store/topic-seal.js';
import { testSeal } from '../support/cluster-key.js';
import { testStore } from '../support/sealed.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();
const SUBJECT = '900215400559';
const PHONE = '+77015550123';
const BODY = '35209900176148';
const AT = '2026-11-20T10:00:00.000Z';

const entry: RegistryEntry = {
  requestId: 'r-1',
  partition: 0,
  imei: `${BODY}3`,
  ownerId: SUBJECT,
  msisdn: PHONE,
  evidence: 'kgd-release',
  operator: 'beeline',
  applicationId: 'KZ-1',
  procedure: '40',
  at: AT,
};
const waiting: PendingEntry = {
  request: {
    requestId: 'r-2',
    imei: `${BODY}3`,
    operator: 'kcell',
    channel: 'import',
    ownerId: SUBJECT,
    msisdn: PHONE,
  },
  partition: 0,
  source: '0/2',
  stage: 'awaiting_kgd',
  reason: 'awaiting_kgd',
  detail: 'waiting',
  since: AT,
  deadline: '2026-11-21T04:00:00.000Z',
};
const outcome: OutcomeRecord = {
  decision: {
    outcome: 'confirmed',
    requestId: 'r-1',
    imei: `${BODY}3`,
    body: BODY,
    evidence: 'kgd-release',
    operator: 'beeline',
    applicationId: 'KZ-1',
    procedure: '40',
    device: { tac: '35209900', brand: 'Apple', model: 'iPhone 6', deviceType: 'Smartphone' },
    ownerId: SUBJECT,
    msisdn: PHONE,
    notify: true,
    detail: 'released',
  },
  source: '0/1',
  at: AT,
};

const utf8 = (text: string) => Buffer.from(text, 'utf8');
const holds = (bytes: Uint8Array, text: string) => Buffer.from(bytes).includes(utf8(text));
const filesOf = (dataDir: string) =>
  Buffer.concat(readdirSync(dataDir).map((name) => readFileSync(join(dataDir, name))));

afterEach(() => installTopicSeal(undefined));

describe("a batch's state, as a worker or recovery stores it", () => {
  it('keeps the owner and phone only sealed, reads them back, and reads erased after a purge', async () => {
    const dataDir = join(dir, 'state');
    const store = testStore(dataDir);
    // The section as the worker built it: the records packed in clear (the journal seals them whole).
    const section = encodeOutputs(
      [],
      [
        { db: DB_REGISTRY, op: OP_PUT, key: utf8(BODY), value: encodeStored(entry) },
        { db: DB_PENDING, op: OP_PUT, key: utf8(BODY), value: encodeStored([waiting]) },
        { db: DB_OUTCOMES, op: OP_PUT, key: utf8('r-1'), value: encodeStored(outcome) },
      ],
    );
    expect(holds(section, SUBJECT)).toBe(true);
    await store.env.transaction(() => applyStateOps(store, new BatchOutputs(section)));
    store.env.resetReadTxn();
    expect(store.registry.get(BODY)).toEqual(entry);
    expect(store.pending.get(BODY)).toEqual([waiting]);
    expect(store.outcomes.get('r-1')).toEqual(outcome);
    await store.close();
    const bytes = filesOf(dataDir);
    expect([holds(bytes, SUBJECT), holds(bytes, PHONE)]).toEqual([false, false]);

    const again = testStore(dataDir);
    await again.env.transaction(() => {
      recordPurge(again, { kind: 'iin', owners: again.pseudonyms.all(SUBJECT) }, Date.parse(AT) + 1);
    });
    again.env.resetReadTxn();
    expect(again.registry.get(BODY)).toMatchObject({ ownerId: null, msisdn: null, erased: true });
    expect(again.pending.get(BODY)?.[0]).toMatchObject({ erased: true });
    expect(again.pending.get(BODY)?.[0]?.request).not.toHaveProperty('ownerId');
    expect(again.outcomes.get('r-1')).toMatchObject({
      decision: { ownerId: null, msisdn: null },
      erased: true,
    });
    // Stored again (a later batch, a restore) after the purge: erased, and no new key seals it.
    await again.env.transaction(() => applyStateOps(again, new BatchOutputs(section)));
    again.env.resetReadTxn();
    expect(again.registry.get(BODY)).toMatchObject({ ownerId: null, erased: true });
    await again.close();
  });
});

describe('the journal and the pending changelog on Kafka', () => {
  const record = {
    seq: 7,
    partition: 0,
    inputs: { requests: 3, repartition: 0, commands: 0 },
    forwarded: [],
    at: AT,
  };
  const outputs = encodeOutputs(
    [],
    [{ db: DB_REGISTRY, op: OP_PUT, key: utf8(BODY), value: encodeStored(entry) }],
  );

  it('are sealed whole with the thread’s seal, and read back', () => {
    installTopicSeal(testSeal);
    const journal = encodeJournal(record, outputs);
    const changelog = encodePendingRecord([waiting])!;
    for (const value of [journal, changelog]) {
      expect(isSealed(value)).toBe(true);
      expect([holds(value, SUBJECT), holds(value, PHONE)]).toEqual([false, false]);
    }
    const decoded = decodeJournal(journal);
    expect(decoded.seq).toBe(7);
    expect(Buffer.from(decoded.outputs.opValue(0)!)).toEqual(Buffer.from(encodeStored(entry)));
    expect(decodePendingRecord(changelog)).toEqual([waiting]);
  });

  it('written before sealing, are still read; sealed but not openable here, are refused, not skipped', () => {
    const plainJournal = encodeJournal(record, outputs);
    expect(isSealed(plainJournal)).toBe(false);
    installTopicSeal(testSeal);
    expect(decodeJournal(plainJournal).seq).toBe(7);
    const sealed = encodeJournal(record, outputs);
    installTopicSeal(undefined);
    let refused: unknown;
    try {
      decodeJournal(sealed);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(JournalFormatError);
    // `newer`: recovery stops on it rather than read past a batch it cannot see.
    expect((refused as JournalFormatError).newer).toBe(true);
  });
});
