/**
 * Schema 2 → 3 from the previous release's own store (test/fixtures/store-v2: made by the build
 * before schema 3, owners and phones sealed, registrations without their operator). Schema 3 only
 * appends record shapes, so the store is upgraded where it lies: its records read back as they
 * were, with the registering operator unknown (null), and what is written from then on names it.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConfirmedDecision, RegistryEntry } from '../../src/domain/types.js';
import { openStore, SCHEMA_VERSION } from '../../src/store/store.js';
import { TEST_SECRETS } from '../support/cluster-key.js';
import { releasedStore } from '../support/released-stores.js';
import { putSealed } from '../support/sealed.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();
const SUBJECT = '900215400559';
const PHONE = '+77015550123';

/** A fresh copy of the schema 2 store. */
const v2Store = (name: string): string => releasedStore(2, join(dir, name));

describe('a store of schema 2', () => {
  it('is upgraded on open: its records read as they were, the registering operator unknown', async () => {
    const dataDir = v2Store('upgraded');
    const store = openStore({ dataDir, secrets: TEST_SECRETS });
    try {
      expect(store.schema.get('meta')).toMatchObject({ schemaVersion: SCHEMA_VERSION });
      expect(SCHEMA_VERSION).toBe(4);
      expect(store.registry.get('35209900176148')).toEqual({
        requestId: 's-1',
        partition: 0,
        imei: '352099001761481',
        ownerId: SUBJECT,
        msisdn: PHONE,
        evidence: 'kgd-release',
        applicationId: 'KZ-1',
        procedure: '40',
        at: '2026-11-20T10:00:00.000Z',
        operator: null,
      } satisfies RegistryEntry);
      expect(store.registryView.get('35209900500037')?.entry).toMatchObject({
        requestId: 's-3',
        ownerId: SUBJECT,
        operator: null,
      });
      const outcome = store.outcomes.get('s-1')?.decision as ConfirmedDecision | undefined;
      expect(outcome).toMatchObject({
        outcome: 'confirmed',
        requestId: 's-1',
        ownerId: SUBJECT,
        msisdn: PHONE,
      });
      expect(outcome?.operator).toBeUndefined();

      // What is written from now on names its operator, beside the old records.
      await putSealed(store, (put) =>
        put.registry('35209900176149', {
          requestId: 'kcell-1',
          partition: 0,
          imei: '352099001761499',
          ownerId: SUBJECT,
          msisdn: PHONE,
          evidence: 'kgd-release',
          operator: 'kcell',
          applicationId: 'KZ-1',
          procedure: '40',
          at: '2026-12-07T10:00:00.000Z',
        }),
      );
      expect(store.registry.get('35209900176149')).toMatchObject({ operator: 'kcell', ownerId: SUBJECT });
      expect(store.registry.get('35209900176148')).toMatchObject({ operator: null, ownerId: SUBJECT });
    } finally {
      await store.close();
    }
    // Reopened: the version as recorded, nothing to upgrade again.
    const again = openStore({ dataDir, secrets: TEST_SECRETS });
    try {
      expect(again.registry.get('35209900176149')).toMatchObject({ operator: 'kcell' });
    } finally {
      await again.close();
    }
  });

  it('opened read-only, is read as it is and left at schema 2', async () => {
    const dataDir = v2Store('read-only');
    const store = openStore({ dataDir, readOnly: true });
    try {
      expect(store.schema.get('meta')).toMatchObject({ schemaVersion: 2 });
      expect(store.registry.get('35209900176148')).toMatchObject({ requestId: 's-1', operator: null });
    } finally {
      await store.close();
    }
  });
});
