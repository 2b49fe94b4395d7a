/**
 * KGD's words as its systems write them (issue 19, point 4): every status and procedure spelling
 * of the one table is read the same on the topic and from a file; a word nobody knows is reported
 * with its value, never guessed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normaliseProcedure } from '../../src/domain/customs.js';
import {
  PROCEDURE_NAMES,
  parseDeclarationStatus,
  STATUS_SPELLINGS,
} from '../../src/domain/kgd-vocabulary.js';
import { parseReleaseDecision } from '../../src/domain/release-decision.js';
import type { DeclarationStatus } from '../../src/domain/types.js';
import { loadDeclarations } from '../../src/loaders/declarations-loader.js';
import { openStore } from '../../src/store/store.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();
const SPELLINGS = Object.entries(STATUS_SPELLINGS).flatMap(([status, spellings]) =>
  spellings.map((spelling) => [spelling, status as DeclarationStatus] as const),
);

const decision = (status: string, procedure = '40') =>
  parseReleaseDecision(
    Buffer.from(
      JSON.stringify({
        applicationId: 'KZ-1',
        procedure,
        status,
        imeis: ['352099001761481'],
        decidedAt: '2026-11-20T09:00:00Z',
      }),
    ),
  );

describe('statuses', () => {
  it.each(SPELLINGS)('%s → %s, on the topic', (spelling, status) => {
    expect(parseDeclarationStatus(spelling)).toBe(status);
    expect(decision(spelling)).toMatchObject({ ok: true, decision: { status } });
  });

  it('case, ё, spacing and punctuation do not matter', () => {
    for (const spelling of ['Выпуск разрешён', 'ВЫПУСК  РАЗРЕШЕН.', '«выпуск разрешен»', ' Released '])
      expect(parseDeclarationStatus(spelling)).toBe('released');
    expect(parseDeclarationStatus('Отказ в регистрации')).toBe('refused');
    expect(parseDeclarationStatus('ТІРКЕЛДІ')).toBe('registered');
  });

  it('an unknown status is an error naming its value, on the topic a rejected decision (the DLQ)', () => {
    const unknown = parseDeclarationStatus('полувыпущено');
    expect(unknown).toBeInstanceOf(Error);
    expect((unknown as Error).message).toContain('"полувыпущено"');
    const parsed = decision('полувыпущено');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain('status: status "полувыпущено" is not a KGD status');
  });

  it('every spelling loads from a KGD file with no rejected row, as the topic reads it', async () => {
    const rows = SPELLINGS.map(
      ([spelling], n) => `KZ-${n},40,${'35209900' + String(100_000 + n).padStart(6, '0')},${spelling}`,
    );
    const file = join(dir, 'statuses.csv');
    writeFileSync(file, ['ID заявки,Код таможенной процедуры,IMEI,Статус', ...rows].join('\n'));
    const store = openStore({ dataDir: join(dir, 'statuses') });
    try {
      const report = await loadDeclarations(store, file);
      expect(report).toMatchObject({ rowsRead: SPELLINGS.length, rowsRejected: 0 });
      SPELLINGS.forEach(([spelling, status], n) => {
        expect(store.applications.get(`KZ-${n}`)?.status, spelling).toBe(status);
      });
    } finally {
      await store.close();
    }
  });

  it('a file with a status nobody knows reports the row with its value', async () => {
    const file = join(dir, 'unknown.csv');
    writeFileSync(
      file,
      'application_id,procedure_code,imei,status\nKZ-1,40,352099001761481,в обработке у соседа\n',
    );
    const store = openStore({ dataDir: join(dir, 'unknown') });
    try {
      const report = await loadDeclarations(store, file);
      expect(report.rowsRejected).toBe(1);
      expect(report.rejections[0]).toMatchObject({
        line: 2,
        error: expect.stringContaining('"в обработке у соседа"'),
      });
      expect(store.applications.get('KZ-1')).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});

describe('procedure names', () => {
  const NAMES = Object.entries(PROCEDURE_NAMES).flatMap(([code, names]) =>
    names.map((n) => [n, code] as const),
  );

  it.each(NAMES)('%s → %s', (name, code) => {
    expect(normaliseProcedure(name)).toBe(code);
    expect(decision('released', name)).toMatchObject({ ok: true, decision: { procedure: code } });
  });

  it('a name nobody knows is an error', () => {
    expect(normaliseProcedure('ввоз по знакомству')).toBeInstanceOf(Error);
  });
});
