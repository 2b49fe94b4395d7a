/**
 * A synthetic but realistic index and request mix, shared by the benchmarks: a TAC table, a
 * block list, N declared IMEIs in applications of 100, and requests in the mix of the
 * benchmark issue: 85 % confirmable, 5 % bad Luhn, 3 % unknown TAC, 2 % blocked, 5 % pending.
 */

import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { iinBinCheckDigit } from '../../src/domain/ids.js';
import { luhnDigit } from '../../src/domain/imei.js';
import type { DeclarationEntry, TacRecord } from '../../src/domain/types.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { applyApplicationDecision } from '../../src/store/declarations.js';
import { openStore, SCHEMA_VERSION, type Store } from '../../src/store/store.js';
import { note } from './report.js';

export const TAC_COUNT = 2000;
const IMEIS_PER_APPLICATION = 100;

export function tacAt(i: number): string {
  return String(35_000_000 + i * 17).padStart(8, '0');
}

/** The i-th declared IMEI body: spread over the TAC table. */
export function declaredBody(i: number): string {
  return tacAt(i % TAC_COUNT) + String(Math.floor(i / TAC_COUNT)).padStart(6, '0');
}

/** Bodies that are never declared: serials above the declared range. */
export function undeclaredBody(i: number): string {
  return tacAt(i % TAC_COUNT) + String(900_000 + (Math.floor(i / TAC_COUNT) % 100_000)).padStart(6, '0');
}

export function blockedBody(i: number): string {
  return tacAt(i % TAC_COUNT) + String(800_000 + (Math.floor(i / TAC_COUNT) % 100_000)).padStart(6, '0');
}

export const BLOCKED_COUNT = 20_000;

export function withCheckDigit(body: string): string {
  return body + String(luhnDigit(body));
}

/** The i-th TAC record of the synthetic TAC table. */
export function benchTacRecord(i: number): TacRecord {
  return {
    tac: tacAt(i),
    brand: `Brand ${i % 40}`,
    model: `Model ${i}`,
    marketingName: `Phone ${i}`,
    manufacturer: `Maker ${i % 40}`,
    deviceType: i % 10 === 0 ? 'Tablet' : 'Smartphone',
    operatingSystem: 'Android',
    bands: 'GSM 900,GSM 1800,LTE FDD BAND 3',
    allocationDate: '2021-01-01',
  };
}

/** `.bench-data/<name>-<declared>`: the index of `declared` IMEIs, built once and reused. */
export async function ensureBenchIndex(name: string, declared: number): Promise<string> {
  // Per store schema: an index an older build made is not opened by this one (STORE_SCHEMA_MISMATCH).
  const dataDir = join(PACKAGE_ROOT, `.bench-data/${name}-${declared}-schema${SCHEMA_VERSION}`);
  const marker = join(dataDir, 'complete');
  if (existsSync(marker)) return dataDir;
  rmSync(dataDir, { recursive: true, force: true });
  const store = openStore({ dataDir });
  const started = performance.now();
  await buildIndex(store, declared, (done) => note(`index: ${done} declared IMEIs`));
  await store.close();
  mkdirSync(marker);
  note(`index built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return dataDir;
}

export async function buildIndex(
  store: Store,
  declared: number,
  onProgress?: (done: number) => void,
): Promise<void> {
  await store.env.transaction(() => {
    for (let i = 0; i < TAC_COUNT; i++) store.tac.put(tacAt(i), benchTacRecord(i));
    for (let i = 0; i < BLOCKED_COUNT; i++) {
      store.blocklist.put(blockedBody(i), {
        source: 'bench',
        reason: 'reported stolen',
        since: '2026-01-01T00:00:00.000Z',
      });
    }
  });
  const chunk = 50_000;
  for (let start = 0; start < declared; start += chunk) {
    const end = Math.min(declared, start + chunk);
    await store.env.transaction(() => {
      for (let a = start; a < end; a += IMEIS_PER_APPLICATION) {
        const entry: DeclarationEntry = {
          applicationId: `KZ-BENCH-${String(a / IMEIS_PER_APPLICATION).padStart(8, '0')}`,
          procedure: '40',
          status: 'released',
          hsCode: '8517130000',
          decidedAt: '2026-11-01T09:00:00.000Z',
        };
        const bodies: string[] = [];
        for (let i = a; i < Math.min(end, a + IMEIS_PER_APPLICATION); i++) bodies.push(declaredBody(i));
        applyApplicationDecision(store, { entry, bodies });
      }
    });
    onProgress?.(end);
  }
}

export type RequestKind = 'confirmable' | 'bad_luhn' | 'unknown_tac' | 'blocked' | 'pending';

/** Percentages of each kind, in the order of RequestKind: `85/5/3/2/5`. */
export type Mix = readonly [number, number, number, number, number];

/** The bench's usual mix: 85 % confirmable, 5 % waiting for KGD. */
export const DEFAULT_MIX: Mix = [85, 5, 3, 2, 5];

/** `75/5/3/2/15` → a mix; an Error when it is not five percentages adding up to 100. */
export function parseMix(text: string): Mix | Error {
  const parts = text.split('/').map(Number);
  if (
    parts.length !== 5 ||
    parts.some((p) => !Number.isInteger(p) || p < 0) ||
    parts.reduce((a, b) => a + b) !== 100
  )
    return new Error(
      `mix ${JSON.stringify(text)} is not five whole percentages adding up to 100 (confirmable/bad check digit/unknown TAC/blocked/waiting)`,
    );
  return parts as unknown as Mix;
}

export function mixText(mix: Mix): string {
  return mix.join('/');
}

const KINDS: readonly RequestKind[] = ['confirmable', 'bad_luhn', 'unknown_tac', 'blocked', 'pending'];

/** The kind of the i-th request of the mix (deterministic, evenly spread). */
export function kindAt(i: number, mix: Mix = DEFAULT_MIX): RequestKind {
  const r = (i * 7919) % 100;
  let bound = 0;
  for (let k = 0; k < KINDS.length; k++) {
    bound += mix[k]!;
    if (r < bound) return KINDS[k]!;
  }
  return 'pending';
}

export interface BenchRequest {
  readonly requestId: string;
  readonly imei: string;
  readonly operator: string;
  readonly channel: 'import';
  readonly ownerId: string;
  readonly msisdn: string;
  readonly submittedAt: string;
}

/**
 * The owner of the i-th request: a valid IIN of its own, as operators send (a person registers a
 * device or two). imeiflow seals an owner's data under a key per owner and device (issue 22,
 * point 3): one owner for every request would measure one key made once.
 */
export function ownerAt(i: number): string {
  for (let n = i; ; n += 1_000_003) {
    const first = `9${String(n % 10_000_000_000).padStart(10, '0')}`;
    const check = iinBinCheckDigit(first);
    if (check !== undefined) return first + String(check);
  }
}

/** The i-th request of a run; `runId` keeps requestIds unique across runs. */
export function requestAt(i: number, declared: number, runId: string, mix: Mix = DEFAULT_MIX): BenchRequest {
  const kind = kindAt(i, mix);
  let imei: string;
  switch (kind) {
    case 'confirmable':
      imei = withCheckDigit(declaredBody((i * 104_729) % declared));
      break;
    case 'bad_luhn': {
      const good = withCheckDigit(declaredBody(i % declared));
      imei = good.slice(0, 14) + String((Number(good[14]) + 1) % 10);
      break;
    }
    case 'unknown_tac':
      imei = withCheckDigit(`99${String(i % 1_000_000).padStart(6, '0')}000001`);
      break;
    case 'blocked':
      imei = withCheckDigit(blockedBody(i % BLOCKED_COUNT));
      break;
    case 'pending':
      imei = withCheckDigit(undeclaredBody(i));
      break;
  }
  return {
    requestId: `${runId}-${i}`,
    imei,
    operator: ['beeline', 'kcell', 'tele2'][i % 3]!,
    channel: 'import',
    ownerId: ownerAt(i),
    msisdn: `+7701${String(i % 10_000_000).padStart(7, '0')}`,
    submittedAt: '2026-11-20T10:15:00Z',
  };
}
