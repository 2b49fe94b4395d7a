import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/domain/rules.js';
import type { OutcomeRecord, RegistryEntry, VerifyRequest } from '../../src/domain/types.js';
import { isImeiflowError } from '../../src/errors.js';
import { decodeJournal, encodeJournal } from '../../src/pipeline/journal.js';
import { DB_OUTCOMES, DB_REGISTRY, OP_PUT } from '../../src/pool/batch-contract.js';
import { encodeOutputs } from '../../src/pool/outputs-section.js';
import { applyStateOps } from '../../src/pool/state-ops.js';
import { decodePendingRecord, encodePendingRecord, encodeStored } from '../../src/store/state-codec.js';
import { openStore, SCHEMA_VERSION } from '../../src/store/store.js';
import { STRUCTURES_FINGERPRINT, structuredPackr } from '../../src/store/structures.js';
import { MapIndexView } from '../support/map-view.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();

describe('store', () => {
  const openFails = (dataDir: string): unknown => {
    try {
      openStore({ dataDir });
    } catch (e) {
      return e;
    }
    return undefined;
  };

  it('records its schema version and refuses a store of another version', async () => {
    const dataDir = join(dir, 'versioned');
    const store = openStore({ dataDir });
    expect(store.schema.get('meta')).toMatchObject({
      schemaVersion: SCHEMA_VERSION,
      structures: STRUCTURES_FINGERPRINT,
    });
    await store.schema.put('meta', {
      schemaVersion: SCHEMA_VERSION + 1,
      structures: STRUCTURES_FINGERPRINT,
      createdAt: 'x',
    });
    await store.close();
    expect(isImeiflowError(openFails(dataDir), 'STORE_SCHEMA_MISMATCH')).toBe(true);
  });

  it('refuses a store written with another msgpack structure list, even at the same version', async () => {
    const dataDir = join(dir, 'restructured');
    const store = openStore({ dataDir });
    await store.schema.put('meta', {
      schemaVersion: SCHEMA_VERSION,
      structures: '0123456789abcdef',
      createdAt: 'x',
    });
    await store.close();
    const error = openFails(dataDir);
    expect(isImeiflowError(error, 'STORE_SCHEMA_MISMATCH')).toBe(true);
    expect((error as Error).message).toContain('0123456789abcdef');
  });

  it('a read-only opener sees what the writer committed', async () => {
    const dataDir = join(dir, 'shared');
    const writer = openStore({ dataDir });
    const reader = openStore({ dataDir, readOnly: true });
    await writer.blocklist.put('35209900176148', { source: 's', reason: 'r', since: null });
    reader.env.resetReadTxn();
    expect(reader.blocklist.get('35209900176148')).toEqual({ source: 's', reason: 'r', since: null });
    await reader.close();
    await writer.close();
  });

  it('a read-only open of a missing store fails clearly', () => {
    let error: unknown;
    try {
      openStore({ dataDir: join(dir, 'missing'), readOnly: true });
    } catch (e) {
      error = e;
    }
    expect(isImeiflowError(error, 'STORE_OPEN_FAILED')).toBe(true);
  });
});

describe('shared msgpack structures', () => {
  // A value whose shape is not a shared structure carries its keys inline (record definition
  // 0xd4 0x72): correct but slower. The hot shapes must all be shared.
  const inlineDefinition = (bytes: Uint8Array) => Buffer.from(bytes).includes(Buffer.from([0xd4, 0x72]));
  const packr = structuredPackr();
  const view = new MapIndexView()
    .addTac('35209900')
    .declare('35209900176148', { applicationId: 'A' })
    .declare('35209900176149', { applicationId: 'ZV-1', procedure: null });
  const request: VerifyRequest = {
    requestId: 'r',
    imei: '352099001761481',
    operator: 'o',
    channel: 'import',
  };

  it.each([
    ['a confirmed decision', evaluate(request, view, { eligibleProcedures: new Set(['40']) })],
    [
      'a rejected decision',
      evaluate({ ...request, imei: '1' }, view, { eligibleProcedures: new Set(['40']) }),
    ],
    ['a TAC record', view.tac('35209900')],
    ['declarations', view.declarations('35209900176148')],
    ['an EAEU import (no procedure)', view.declarations('35209900176149')],
    ['an application', view.application('A')],
    [
      'an outcome record',
      {
        decision: {
          outcome: 'rejected',
          requestId: 'r',
          imei: 'x',
          body: null,
          reason: 'tac_unknown',
          detail: 'd',
        },
        source: '1/2',
        at: 'now',
      },
    ],
  ])('%s packs without inline keys and round-trips', (_what, value) => {
    const bytes = packr.pack(value);
    expect(inlineDefinition(bytes)).toBe(false);
    expect(structuredPackr().unpack(bytes)).toEqual(value);
  });

  it('an unlisted shape still round-trips, even through a plain msgpack reader', () => {
    const bytes = packr.pack({ novel: 1, shape: 'yes' });
    expect(new Packr().unpack(bytes)).toEqual({ novel: 1, shape: 'yes' });
    expect(structuredPackr().unpack(bytes)).toEqual({ novel: 1, shape: 'yes' });
  });
  it('an optional field present only on rare values (grounds of a refusal) round-trips through LMDB to a reader', async () => {
    const dataDir = join(dir, 'grounds');
    const store = openStore({ dataDir });
    const refused = {
      applicationId: 'KZ-1',
      procedure: '40',
      status: 'refused' as const,
      hsCode: null,
      decidedAt: null,
      grounds: 'нет сертификата',
    };
    const outcome: OutcomeRecord = {
      decision: {
        outcome: 'rejected',
        requestId: 'r-1',
        imei: '352099001761481',
        body: '35209900176148',
        reason: 'declaration_refused',
        detail: 'KGD refused release under application KZ-1: нет сертификата',
        grounds: 'нет сертификата',
      },
      source: '1/2',
      at: 'now',
    };
    const { grounds: _, ...withoutGrounds } = { ...refused, applicationId: 'KZ-2' };
    // The extra field takes the entry off its shared structure: its keys travel inline.
    expect(inlineDefinition(packr.pack(refused))).toBe(true);
    // One entry with the extra field, one in the shared shape, side by side in one value.
    await store.declarations.put('35209900176148', [refused, withoutGrounds]);
    await store.outcomes.put('r-1', outcome);
    const reader = openStore({ dataDir, readOnly: true });
    expect(reader.declarations.get('35209900176148')).toEqual([refused, withoutGrounds]);
    expect(reader.outcomes.get('r-1')).toEqual(outcome);
    await reader.close();
    await store.close();
  });

  it('stores values the pipeline packed itself as they are, and readers decode them', async () => {
    const dataDir = join(dir, 'as-is');
    const store = openStore({ dataDir });
    const outcome: OutcomeRecord = {
      decision: {
        outcome: 'rejected',
        requestId: 'r-1',
        imei: '352099001761481',
        body: '35209900176148',
        reason: 'blocklisted',
        detail: 'on the block list',
      },
      source: '3/17',
      at: '2026-11-23T10:00:00.000Z',
    };
    const entry: RegistryEntry = {
      requestId: 'r-2',
      partition: 3,
      imei: '352099001761481',
      ownerId: null,
      msisdn: null,
      evidence: 'kgd-release',
      operator: 'beeline',
      applicationId: 'A-1',
      procedure: '40',
      at: '2026-11-23T10:00:00.000Z',
    };
    // A journaled batch carries its state changes already packed; recovery stores them as they are.
    const record = decodeJournal(
      encodeJournal(
        {
          seq: 1,
          partition: 3,
          inputs: { requests: 1, repartition: 0, commands: 0 },
          forwarded: [],
          at: outcome.at,
        },
        encodeOutputs(
          [],
          [
            { db: DB_OUTCOMES, op: OP_PUT, key: Buffer.from('r-1'), value: encodeStored(outcome) },
            { db: DB_REGISTRY, op: OP_PUT, key: Buffer.from('35209900176148'), value: encodeStored(entry) },
          ],
        ),
      ),
    );
    // One written by an earlier build (journal format 1) holds the outcome record itself.
    const older = decodeJournal(
      structuredPackr().pack({
        seq: 1,
        partition: 3,
        inputs: { requests: 1, commands: 0 },
        outputs: [],
        outcomes: [['r-0', outcome]],
        at: outcome.at,
      }),
    );
    await store.env.transaction(() => {
      applyStateOps(store, record.outputs);
      applyStateOps(store, older.outputs);
    });
    expect(store.outcomes.get('r-1')).toEqual(outcome);
    expect(store.outcomes.get('r-0')).toEqual(outcome);
    expect(store.registry.get('35209900176148')).toEqual(entry);
    // A verify worker's read-only handle decodes them too.
    const reader = openStore({ dataDir, readOnly: true });
    expect(reader.outcomes.get('r-1')).toEqual(outcome);
    expect(reader.registry.get('35209900176148')).toEqual(entry);
    await reader.close();
    // A pending changelog record carries its format (1); records of earlier builds (format 0,
    // the bare entries) still restore; a truncated or unknown one is refused.
    const waiting = [
      {
        request: { requestId: 'w-1', imei: '352099001761481', operator: 'kcell', channel: 'import' as const },
        partition: 3,
        source: '3/9',
        stage: 'awaiting_kgd' as const,
        reason: 'awaiting_kgd' as const,
        detail: 'waiting',
        since: outcome.at,
        deadline: outcome.at,
      },
    ];
    expect(decodePendingRecord(encodePendingRecord(waiting)!)).toEqual(waiting);
    expect(decodePendingRecord(structuredPackr().pack(waiting))).toEqual(waiting);
    expect(encodePendingRecord([])).toBeNull();
    expect(() => decodePendingRecord(new Uint8Array([0x92, 0x01]))).toThrow();
    expect(() => decodePendingRecord(structuredPackr().pack([99, []]))).toThrow(/format 99/);
    // A field of another type than imeiflow writes is refused, naming it (not passed on, to throw
    // in every instance's review table and again after each restart).
    const [first] = waiting;
    for (const [bad, field] of [
      [{ ...first!, request: { ...first!.request, ownerId: 5 } }, 'ownerId'],
      [{ ...first!, partition: 'three' }, 'partition'],
      [{ ...first!, deadline: 7 }, 'deadline'],
    ] as const) {
      expect(() =>
        decodePendingRecord(encodePendingRecord([bad as unknown as (typeof waiting)[0]])!),
      ).toThrow(new RegExp(`waiting request w-1: ${field} is not what imeiflow writes`));
    }
    // Absent or null where imeiflow writes nothing: read as before.
    const plain = { ...first!, deadline: null };
    expect(decodePendingRecord(encodePendingRecord([plain])!)).toHaveLength(1);
    await store.close();
  });
});

describe('journal records', () => {
  it('read back whatever numbers they hold (plain msgpack uses 0x40–0x7f for 64–127, format 1 for its record ids)', () => {
    const outputs = encodeOutputs([], []);
    const numbers = [...Array.from({ length: 300 }, (_, i) => i), 65_535, 65_536, 2 ** 31, 2 ** 40];
    for (const n of numbers) {
      const header = {
        seq: n,
        partition: n % 200,
        inputs: { requests: n, repartition: n + 1, commands: n + 64 },
        forwarded: [n, -1, 64 + (n % 64)],
        at: '2026-11-23T10:00:00.000Z',
      };
      const record = decodeJournal(encodeJournal(header, outputs));
      expect({ ...record, outputs: undefined }, String(n)).toEqual({
        ...header,
        format: 2,
        outputs: undefined,
      });
    }
  });

  it('refuse a format this build does not know, naming it', () => {
    const packr = new Packr({ useRecords: false });
    const future = packr.pack({ format: 3, seq: 70, partition: 0, outputs: new Uint8Array(0) });
    expect(() => decodeJournal(future)).toThrow('record format 3; this imeiflow reads formats 1 and 2');
    expect(() => decodeJournal(Uint8Array.from([0x82, 0xa1]))).toThrow(/^not msgpack/);
  });
});
