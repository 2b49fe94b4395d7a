/** Test data: IMEIs with correct check digits and a store loaded with known records. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { luhnDigit } from '../../src/domain/imei.js';
import type { RegistryEntry, TacRecord } from '../../src/domain/types.js';
import { loadBlocklist } from '../../src/loaders/blocklist-loader.js';
import { loadDeclarations } from '../../src/loaders/declarations-loader.js';
import { loadLocalProduction } from '../../src/loaders/local-production-loader.js';
import { loadTac } from '../../src/loaders/tac-loader.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import type { PendingEntry } from '../../src/store/records.js';
import { bumpTacVersion, openStore, type Store } from '../../src/store/store.js';

/** The 15-digit IMEI of TAC + 6-digit serial. */
export function imei(tac: string, serial: number): string {
  const body = tac + String(serial).padStart(6, '0');
  return body + String(luhnDigit(body));
}

export const APPLE = '35209900';

/** A GSMA TAC record of an iPhone 6 under `tac`, with the fields a test cares about overridden. */
export function tacRecord(tac: string, overrides: Partial<TacRecord> = {}): TacRecord {
  return {
    tac,
    brand: 'Apple',
    model: 'iPhone 6',
    marketingName: 'iPhone 6',
    manufacturer: 'Apple Inc',
    deviceType: 'Smartphone',
    operatingSystem: 'iOS',
    bands: '',
    allocationDate: null,
    ...overrides,
  };
}

/** A store in `dataDir` that knows the APPLE TAC, so its devices' requests are decided; the caller closes it. */
export function storeKnowingApple(dataDir: string): Store {
  const store = openStore({ dataDir });
  store.env.transactionSync(() => {
    store.tac.put(APPLE, tacRecord(APPLE));
    bumpTacVersion(store);
  });
  return store;
}

/** A data directory with the sample TAC table, declarations and block list, plus `extraCsv`. */
export async function seedStore(
  dataDir: string,
  extra: { declarations?: string; localProduction?: string } = {},
): Promise<void> {
  const samples = join(PACKAGE_ROOT, 'config/samples');
  const store = openStore({ dataDir });
  try {
    await loadTac(store, join(samples, 'tac.csv'));
    await loadDeclarations(store, join(samples, 'declarations.csv'));
    await loadBlocklist(store, join(samples, 'blocklist.csv'));
    if (extra.declarations !== undefined) {
      const file = join(dataDir, 'extra-declarations.csv');
      writeFileSync(file, extra.declarations);
      await loadDeclarations(store, file);
    }
    if (extra.localProduction !== undefined) {
      const file = join(dataDir, 'extra-local.csv');
      writeFileSync(file, extra.localProduction);
      await loadLocalProduction(store, file);
    }
  } finally {
    await store.close();
  }
}

/** The i-th waiting request of a test backlog; awaiting KGD until `deadline` unless in review. */
export function waitingEntry(
  i: number,
  partition: number,
  stage: PendingEntry['stage'],
  deadline: string | null = stage === 'review' ? null : '2026-11-21T04:00:00.000Z',
): PendingEntry {
  return {
    request: { requestId: `r-${i}`, imei: '352099001761481', operator: 'kcell', channel: 'import' },
    partition,
    source: `${partition}/${i}`,
    stage,
    reason: stage === 'review' ? 'kgd_timeout' : 'awaiting_kgd',
    detail: 'waiting',
    since: '2026-11-20T10:00:00.000Z',
    deadline,
  };
}

/** A registry entry confirmed by release under KZ-1, procedure 40, with a phone number. */
export function registryEntry(
  entry: Pick<RegistryEntry, 'requestId' | 'partition' | 'imei' | 'ownerId' | 'at'>,
): RegistryEntry {
  return {
    ...entry,
    msisdn: '+77011234567',
    evidence: 'kgd-release',
    operator: 'beeline',
    applicationId: 'KZ-1',
    procedure: '40',
  };
}
