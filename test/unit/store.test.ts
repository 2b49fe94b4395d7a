import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/domain/rules.js';
import type { OutcomeRecord, RegistryEntry, VerifyRequest } from '../../src/domain/types.js';
import { isImeiflowError } from '../../src/errors.js';
import {
  applyChangelogRecord,
  applyOwnChangelogRecord,
  encodeState,
  registryKey,
} from '../../src/pipeline/changelog.js';
import { decodeJournal, encodeJournal, encodeOutcome, outcomeToStore } from '../../src/pipeline/journal.js';
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
  const view = new MapIndexView().addTac('35209900').declare('35209900176148', { applicationId: 'A' });
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
      applicationId: 'A-1',
      procedure: '40',
      at: '2026-11-23T10:00:00.000Z',
    };
    // A journal of this build carries the packed outcome; one of an earlier build the record.
    const journaled = (outcomes: [string, Uint8Array | OutcomeRecord][]) =>
      decodeJournal(
        encodeJournal({
          seq: 1,
          partition: 3,
          inputs: { requests: 1, commands: 0 },
          outputs: [],
          outcomes,
          at: outcome.at,
        }),
      ).outcomes;
    const [[, packed]] = journaled([['r-1', encodeOutcome(outcome)]]) as [
      [string, Uint8Array | OutcomeRecord],
    ];
    const [[, older]] = journaled([['r-0', outcome]]) as [[string, Uint8Array | OutcomeRecord]];
    await store.env.transaction(() => {
      store.outcomes.put('r-1', outcomeToStore(packed));
      store.outcomes.put('r-0', outcomeToStore(older));
      applyOwnChangelogRecord(store, registryKey('35209900176148'), encodeState(entry));
    });
    expect(store.outcomes.get('r-1')).toEqual(outcome);
    expect(store.outcomes.get('r-0')).toEqual(outcome);
    expect(store.registry.get('35209900176148')).toEqual(entry);
    // A verify worker's read-only handle decodes them too.
    const reader = openStore({ dataDir, readOnly: true });
    expect(reader.outcomes.get('r-1')).toEqual(outcome);
    expect(reader.registry.get('35209900176148')).toEqual(entry);
    await reader.close();
    // A record read from the changelog topic is decoded first: a truncated one fails before it is stored.
    await expect(
      store.env.transaction(() =>
        applyChangelogRecord(store, registryKey('35209900176149'), new Uint8Array([0x92, 0x01])),
      ),
    ).rejects.toThrow();
    expect(store.registry.get('35209900176149')).toBeUndefined();
    await store.close();
  });
});
