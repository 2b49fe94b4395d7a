import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { beforeEach, describe, expect, it } from 'vitest';
import { isImeiflowError } from '../../src/errors.js';
import { BLOCKLIST_SPEC, loadBlocklist } from '../../src/loaders/blocklist-loader.js';
import { loadDeclarations } from '../../src/loaders/declarations-loader.js';
import { loadTable } from '../../src/loaders/load-table.js';
import { loadLocalProduction } from '../../src/loaders/local-production-loader.js';
import { loadTac } from '../../src/loaders/tac-loader.js';
import { openStore, type Store, tacVersion } from '../../src/store/store.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();
let store: Store;
let n = 0;
beforeEach(async () => {
  store = openStore({ dataDir: join(dir, `store-${n++}`) });
  return async () => store.close();
});

function file(name: string, content: string | Buffer): string {
  const path = join(dir, `${n}-${name}`);
  writeFileSync(path, content);
  return path;
}

const GSMA_HEADER =
  'TAC|Marketing Name|Internal Model Name|Manufacturer|Bands|Allocation Date|Country Code|Fixed Code|Manufacturer Code|Radio Interface|Brand Name|Model Name|Operating System|NFC|Bluetooth|WLAN|Device Type';
const tacRow = (tac: string, model = 'iPhone 6', date = '01-Sep-2014') =>
  `${tac}|${model}|A1586|Apple Inc|GSM 900|${date}|840|NK|NK|NONE|Apple|${model}|iOS|Y|Y|Y|Smartphone`;

async function expectHeaderError(promise: Promise<unknown>, text: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isImeiflowError(error, 'LOAD_HEADER_INVALID')).toBe(true);
  expect((error as Error).message).toContain(text);
}

describe('TAC loader', () => {
  it('loads the GSMA pipe export and converts its dates', async () => {
    const report = await loadTac(
      store,
      file('tac.csv', `${GSMA_HEADER}\n${tacRow('35209900')}\n${tacRow('35332811', 'Galaxy')}\n`),
    );
    expect(report).toMatchObject({ rowsRead: 2, rowsLoaded: 2, rowsRejected: 0, format: 'csv' });
    expect(store.tac.get('35209900')).toMatchObject({
      brand: 'Apple',
      model: 'iPhone 6',
      allocationDate: '2014-09-01',
      deviceType: 'Smartphone',
    });
  });

  it('accepts snake_case headers, commas, the old manufacturer header, BOM and CRLF', async () => {
    const content =
      '\uFEFFtac,marketing_name,manufacturer_(or)_applicant,brand_name,model_name,device_type\r\n35209900,"iPhone 6, 64 GB",Apple Inc,Apple,iPhone 6,Smartphone\r\n';
    const report = await loadTac(store, file('snake.csv', content));
    expect(report.rowsLoaded).toBe(1);
    expect(store.tac.get('35209900')).toMatchObject({
      marketingName: 'iPhone 6, 64 GB',
      manufacturer: 'Apple Inc',
    });
  });

  it('reports bad rows with their line numbers and loads the good ones', async () => {
    const content = [
      GSMA_HEADER,
      tacRow('3520990'),
      tacRow('35209900'),
      tacRow('35209901', 'X', '31-Feb-2014'),
      '',
      tacRow('abcdefgh'),
      tacRow('35209902'),
    ].join('\n');
    const report = await loadTac(store, file('bad.csv', content));
    expect(report.rowsLoaded).toBe(2);
    expect(report.rejections).toEqual([
      { line: 2, error: 'TAC "3520990" is not 8 digits' },
      { line: 4, error: expect.stringContaining('Allocation Date "31-Feb-2014" is not a date') },
      { line: 6, error: 'TAC "abcdefgh" is not 8 digits' },
    ]);
    expect(store.tac.get('3520990')).toBeUndefined();
  });

  it('reports two conflicting rows for one TAC and keeps the first', async () => {
    const content = [
      GSMA_HEADER,
      tacRow('35209900'),
      tacRow('35209900'),
      tacRow('35209900', 'iPhone 7'),
    ].join('\n');
    const report = await loadTac(store, file('conflict.csv', content));
    expect(report.rejections).toEqual([
      {
        line: 4,
        error: expect.stringContaining('TAC 35209900 conflicts with line 2 (model, marketingName differ)'),
      },
    ]);
    expect(store.tac.get('35209900')?.model).toBe('iPhone 6');
  });

  it('skips a huge line, reports it, and loads the rows after it', async () => {
    const content = [
      GSMA_HEADER,
      tacRow('35209900'),
      `35209901|${'x'.repeat(200_000)}`,
      tacRow('35209902'),
    ].join('\n');
    const report = await loadTac(store, file('huge.csv', content));
    expect(report.rowsLoaded).toBe(2);
    expect(report.rejections).toEqual([
      { line: 3, error: expect.stringContaining('bytes long; the limit is 65536') },
    ]);
    expect(store.tac.get('35209902')).toBeDefined();
  });

  it('refuses a file with the wrong header and loads nothing', async () => {
    await expectHeaderError(
      loadTac(store, file('wrong.csv', 'imei,reason\n352099001761481,x\n')),
      'lacks "TAC"',
    );
    expect(store.tac.getCount()).toBe(0);
  });

  it('refuses an empty file', async () => {
    await expectHeaderError(loadTac(store, file('empty.csv', '')), 'the file is empty');
    await expectHeaderError(loadTac(store, file('blank.csv', '\n\r\n  \n')), 'the file is empty');
  });

  it('is idempotent and bumps the TAC version readers cache against', async () => {
    const path = file('tac.csv', `${GSMA_HEADER}\n${tacRow('35209900')}\n`);
    const before = tacVersion(store);
    await loadTac(store, path);
    await loadTac(store, path);
    expect(store.tac.getCount()).toBe(1);
    expect(tacVersion(store)).toBe(before + 2);
  });

  it('reads a quoted field that spans lines and reports one left open', async () => {
    const content = `tac,marketing_name,manufacturer\n35209900,"two\nlines",Apple\n35209901,"never closed,Apple\n`;
    const report = await loadTac(store, file('multiline.csv', content));
    expect(store.tac.get('35209900')?.marketingName).toBe('two\nlines');
    expect(report.rejections).toEqual([
      { line: 4, error: 'quoted field is not closed at the end of the file' },
    ]);
  });

  it('reports a missing file as unreadable', async () => {
    const error = await loadTac(store, join(dir, 'nope.csv')).catch((e: unknown) => e);
    expect(isImeiflowError(error, 'LOAD_FILE_UNREADABLE')).toBe(true);
  });
});

describe('declarations loader', () => {
  const RU = 'ID заявки;Код таможенной процедуры;IMEI';

  it('loads the Russian headers of the KGD export, Windows-1251 encoded, ; separated', async () => {
    const text = `${RU}\nKZ-1;40;352099001761481\nKZ-1;40;35209900176149\n`;
    // Encode by hand: TextEncoder only does UTF-8. Cyrillic а–я are 0xE0–0xFF, А–Я 0xC0–0xDF.
    const bytes = [...text].map((ch) => {
      const code = ch.charCodeAt(0);
      if (code >= 0x410 && code <= 0x44f) return code - 0x410 + 0xc0;
      return code;
    });
    const report = await loadDeclarations(store, file('kgd.csv', Buffer.from(bytes)));
    expect(report).toMatchObject({ rowsLoaded: 2, rowsRejected: 0 });
    expect(store.declarations.get('35209900176148')).toEqual([
      { applicationId: 'KZ-1', procedure: '40', status: 'released', hsCode: null, decidedAt: null },
    ]);
    expect(store.applications.get('KZ-1')).toMatchObject({ imeiCount: 2, status: 'released' });
  });

  it('validates every field and reports each bad row by line', async () => {
    const content = [
      'application_id,procedure_code,imei,status,hs_code,decided_at',
      'KZ-1,40,352099001761481,released,8517130000,2026-11-20T09:00:00Z',
      'KZ-1,4,352099001761499,released,,',
      'KZ-1,40,352099001761482,released,,',
      ',40,352099001761499,released,,',
      'KZ-1,40,352099001761499,approved,,',
      'KZ-1,40,352099001761499,released,85171300,',
      'KZ-1,40,352099001761499,released,,20.11.2026 14:00',
      'KZ-1,40,352099001761499,released,,tomorrow',
    ].join('\n');
    const report = await loadDeclarations(store, file('d.csv', content));
    expect(report.rowsLoaded).toBe(3);
    expect(report.rejections.map((r) => r.line)).toEqual([3, 4, 5, 6, 9]);
    // A bad HS code costs the row its HS code, not its IMEI evidence.
    expect(report.warnings.map((w) => w.line)).toEqual([7]);
    expect(report.rejections[1]!.error).toContain('check digit should be 1');
    expect(store.declarations.get('35209900176149')?.[0]?.decidedAt).toBe('2026-11-20T09:00:00.000Z');
  });

  it('is idempotent: loading twice neither duplicates entries nor double-counts', async () => {
    const path = file(
      'd.csv',
      'application_id,procedure_code,imei\nKZ-1,40,352099001761481\nKZ-2,80,352099001761481\n',
    );
    await loadDeclarations(store, path);
    await loadDeclarations(store, path);
    expect(store.declarations.get('35209900176148')).toHaveLength(2);
    expect(store.applications.get('KZ-1')?.imeiCount).toBe(1);
    expect([...store.applicationImeis.getValues('KZ-1')]).toEqual(['35209900176148']);
  });

  it('a later status replaces the earlier one for the same application', async () => {
    await loadDeclarations(
      store,
      file('a.csv', 'application_id,procedure_code,imei,status\nKZ-1,40,352099001761481,registered\n'),
    );
    await loadDeclarations(
      store,
      file('b.csv', 'application_id,procedure_code,imei,status\nKZ-1,40,352099001761481,refused\n'),
    );
    expect(store.declarations.get('35209900176148')).toEqual([
      expect.objectContaining({ status: 'refused' }),
    ]);
  });

  it('reads the XLSX export: Russian headers, IMEIs typed as numbers, dates as dates', async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('Выгрузка');
    sheet.addRow(['ID заявки', 'Код таможенной процедуры', 'IMEI', 'Дата решения']);
    sheet.addRow(['KZ-9', '40', 352099001761481, new Date('2026-11-20T09:00:00Z')]);
    sheet.addRow(['KZ-9', 40, '35209900176149', null]);
    sheet.addRow([]);
    sheet.addRow(['KZ-9', '40', 352099001761482, null]);
    const path = join(dir, `${n}-kgd.xlsx`);
    await workbook.xlsx.writeFile(path);
    const report = await loadDeclarations(store, path);
    expect(report).toMatchObject({ format: 'xlsx', rowsRead: 3, rowsLoaded: 2 });
    expect(report.rejections).toEqual([
      { line: 5, error: expect.stringContaining('check digit should be 1') },
    ]);
    expect(store.declarations.get('35209900176148')?.[0]).toMatchObject({
      applicationId: 'KZ-9',
      decidedAt: '2026-11-20T09:00:00.000Z',
    });
  });

  it('reports a file named .xlsx that is not a workbook', async () => {
    const error = await loadDeclarations(store, file('fake.xlsx', 'ID заявки,IMEI\n')).catch(
      (e: unknown) => e,
    );
    expect(isImeiflowError(error, 'LOAD_FILE_UNREADABLE')).toBe(true);
  });

  it('refuses the legacy .xls format with advice', async () => {
    const error = await loadDeclarations(store, file('old.xls', 'x')).catch((e: unknown) => e);
    expect(isImeiflowError(error, 'LOAD_FORMAT_UNSUPPORTED')).toBe(true);
  });

  it('refuses a file missing the IMEI column', async () => {
    await expectHeaderError(
      loadDeclarations(store, file('x.csv', 'ID заявки,Код таможенной процедуры\nKZ,40\n')),
      'lacks "IMEI"',
    );
  });
});

describe('block list loader', () => {
  it('loads IMEIs in any accepted form, with defaults for the optional columns', async () => {
    const report = await loadBlocklist(
      store,
      file(
        'b.csv',
        'IMEI,Reason,Source,Since\n35-209900-176148-1,stolen,kcell,2026-10-01\n35209900176149,,,\nnot-an-imei,,,\n',
      ),
    );
    expect(report.rejections).toEqual([{ line: 4, error: expect.stringContaining('IMEI "not-an-imei"') }]);
    expect(store.blocklist.get('35209900176148')).toEqual({
      source: 'kcell',
      reason: 'stolen',
      since: '2026-10-01T00:00:00.000Z',
    });
    expect(store.blocklist.get('35209900176149')).toEqual({
      source: 'block list file',
      reason: 'listed',
      since: null,
    });
  });
});

describe('local production loader', () => {
  it('checks the producer BIN', async () => {
    const report = await loadLocalProduction(
      store,
      file(
        'l.csv',
        'imei,producer_id,reference\n352099001761481,990340005977,ACT-1\n35209900176149,990340005978,ACT-2\n',
      ),
    );
    expect(report.rejections).toEqual([{ line: 3, error: 'producer_id "990340005978" is not a valid BIN' }]);
    expect(store.localProduction.get('35209900176148')).toEqual({
      producerId: '990340005977',
      reference: 'ACT-1',
      producedAt: null,
    });
  });
});

describe('a load whose writes fail', () => {
  it('fails with the write’s error, while it goes on reading: nothing is left unhandled', async () => {
    // Batches larger than the reader's 1 MiB chunks: a batch's write fails while the next rows
    // are read, and the reading waits for the file between them.
    const rows = Array.from({ length: 200_000 }, (_, i) => `35686511${String(i).padStart(6, '0')},stolen`);
    const path = file('failing-sink.csv', `imei,reason\n${rows.join('\n')}\n`);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    let writes = 0;
    const failing = {
      write: async () => {
        writes++;
        throw new Error('the broker refused the batch');
      },
    };
    try {
      const error = await loadTable(path, BLOCKLIST_SPEC, failing, { batchRows: 50_000 }).catch(
        (e: unknown) => e,
      );
      expect((error as Error).message).toBe('the broker refused the batch');
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(writes).toBeGreaterThan(0);
    expect(unhandled).toEqual([]);
  });
});
