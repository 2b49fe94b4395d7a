/**
 * KGD files read exactly as written (issue 10): the monthly export is an Excel file typed by
 * people. Every workbook here is made by exceljs the way Excel writes one: numbers in number
 * cells with number formats, title rows above the header, cover sheets.
 */
import fs, { readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { beforeEach, describe, expect, it } from 'vitest';
import { normaliseHsCode, normaliseProcedure } from '../../src/domain/customs.js';
import { parseReleaseDecision } from '../../src/domain/release-decision.js';
import { isImeiflowError } from '../../src/errors.js';
import { loadBlocklist } from '../../src/loaders/blocklist-loader.js';
import { loadDeclarations } from '../../src/loaders/declarations-loader.js';
import { minIntegerDigits, numberAsShown } from '../../src/loaders/excel-number.js';
import { cellRef } from '../../src/loaders/load-table.js';
import { PART_LIMITS, workbookSheets } from '../../src/loaders/xlsx-sheets.js';
import { openStore, type Store } from '../../src/store/store.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();
let store: Store;
let n = 0;
beforeEach(async () => {
  store = openStore({ dataDir: join(dir, `store-${n++}`) });
  return async () => store.close();
});

const HEADER = ['ID заявки', 'Код таможенной процедуры', 'IMEI', 'Код ТН ВЭД'];
/** 013263001234565: a valid IMEI whose TAC starts with 0. Its 14 digits after the 0 are another body. */
const ZERO_IMEI = '013263001234565';
const ZERO_BODY = '01326300123456';
const WRONG_BODY = '13263001234565';

type CellInput = string | number | null | { value: ExcelJS.CellValue; numFmt: string };

/** A workbook of one or more sheets; a cell given with `numFmt` gets that number format. */
async function workbook(sheets: Record<string, CellInput[][]>): Promise<string> {
  const book = new ExcelJS.Workbook();
  for (const [name, rows] of Object.entries(sheets)) {
    const sheet = book.addWorksheet(name);
    rows.forEach((row, r) => {
      row.forEach((input, c) => {
        const cell = sheet.getCell(r + 1, c + 1);
        if (input !== null && typeof input === 'object') {
          cell.value = input.value;
          cell.numFmt = input.numFmt;
        } else if (input !== null) {
          cell.value = input;
        }
      });
    });
  }
  const path = join(dir, `${n}-${Object.keys(sheets).length}-kgd.xlsx`);
  await book.xlsx.writeFile(path);
  return path;
}

function file(name: string, content: string | Buffer): string {
  const path = join(dir, `${n}-${name}`);
  writeFileSync(path, content);
  return path;
}

const FIFTEEN_ZEROS = '000000000000000';

describe('IMEIs in number cells', () => {
  it('a number formatted with fifteen zeros gives the IMEI as shown, leading 0 included', async () => {
    const path = await workbook({
      Выгрузка: [HEADER, ['KZ-1', '40', { value: Number(ZERO_IMEI), numFmt: FIFTEEN_ZEROS }, null]],
    });
    const report = await loadDeclarations(store, path);
    expect(report).toMatchObject({ rowsLoaded: 1, rowsRejected: 0 });
    expect(store.declarations.get(ZERO_BODY)).toHaveLength(1);
    expect(store.declarations.get(WRONG_BODY)).toBeUndefined();
  });

  it('a formula whose number result is formatted with fifteen zeros reads the same', async () => {
    const path = await workbook({
      Выгрузка: [
        HEADER,
        ['KZ-1', '40', { value: { formula: '1*1', result: Number(ZERO_IMEI) }, numFmt: FIFTEEN_ZEROS }, null],
      ],
    });
    const report = await loadDeclarations(store, path);
    expect(report.rowsLoaded).toBe(1);
    expect(store.declarations.get(ZERO_BODY)).toHaveLength(1);
  });

  it('a 14-digit number under General or 0 is rejected naming the cell, never given a new check digit', async () => {
    const path = await workbook({
      Выгрузка: [
        HEADER,
        ['KZ-1', '40', Number(ZERO_IMEI), null],
        ['KZ-1', '40', { value: Number(ZERO_IMEI), numFmt: '0' }, null],
        ['KZ-1', '40', 352099001761481, null],
      ],
    });
    const report = await loadDeclarations(store, path);
    expect(report).toMatchObject({ rowsLoaded: 1, rowsRejected: 2 });
    expect(report.rejections).toEqual([
      { line: 2, error: expect.stringContaining('cell C2 holds the number 13263001234565, 14 digits') },
      { line: 3, error: expect.stringContaining('cell C3 holds the number 13263001234565') },
    ]);
    expect(report.rejections[0]!.error).toContain('write the IMEI as text');
    expect(store.declarations.get(WRONG_BODY)).toBeUndefined();
    expect(store.declarations.get('35209900176148')).toHaveLength(1);
  });

  it('a number beyond what a double holds exactly is rejected naming the cell', async () => {
    // 9 007 199 254 740 993 (2^53 + 1) becomes 2^53 as a number: the digits read back are not those typed.
    const path = await workbook({
      Выгрузка: [HEADER, ['KZ-1', '40', Number('9007199254740993'), null]],
    });
    const report = await loadDeclarations(store, path);
    expect(report.rejections).toEqual([
      { line: 2, error: expect.stringContaining('cell C2 holds the number 9007199254740992') },
    ]);
    expect(report.rejections[0]!.error).toContain('more digits than a spreadsheet number keeps exactly');
  });

  it('a 16-digit IMEISV number within exact range loads under its body', async () => {
    const path = await workbook({ Выгрузка: [HEADER, ['KZ-1', '40', 3520990017614801, null]] });
    const report = await loadDeclarations(store, path);
    expect(report.rowsLoaded).toBe(1);
    expect(store.declarations.get('35209900176148')).toHaveLength(1);
  });

  it('text cells keep their digits as typed, 14-digit bodies included', async () => {
    const path = await workbook({
      Выгрузка: [HEADER, ['KZ-1', '40', ZERO_IMEI, null], ['KZ-1', '40', '35209900176148', null]],
    });
    const report = await loadDeclarations(store, path);
    expect(report.rowsLoaded).toBe(2);
    expect(store.declarations.get(ZERO_BODY)).toHaveLength(1);
    expect(store.declarations.get('35209900176148')).toHaveLength(1);
  });

  it('other loaders read IMEI number cells the same way', async () => {
    const path = await workbook({
      'Block list': [
        ['IMEI', 'Reason'],
        [{ value: Number(ZERO_IMEI), numFmt: FIFTEEN_ZEROS }, 'stolen'],
        [Number(ZERO_IMEI), 'stolen'],
      ],
    });
    const report = await loadBlocklist(store, path);
    expect(report.rejections).toEqual([{ line: 3, error: expect.stringContaining('cell A3') }]);
    expect(store.blocklist.get(ZERO_BODY)).toMatchObject({ reason: 'stolen' });
    expect(store.blocklist.get(WRONG_BODY)).toBeUndefined();
  });

  it('number formats: zero placeholders of the integer part, literals and sections ignored', () => {
    expect(minIntegerDigits(undefined)).toBe(0);
    expect(minIntegerDigits('General')).toBe(0);
    expect(minIntegerDigits('@')).toBe(0);
    expect(minIntegerDigits('0')).toBe(1);
    expect(minIntegerDigits(FIFTEEN_ZEROS)).toBe(15);
    expect(minIntegerDigits('#,##0.00')).toBe(1);
    expect(minIntegerDigits('[$-419]"IMEI "000000000000000;[Red]0')).toBe(15);
    expect(minIntegerDigits('\\0000')).toBe(3);
    expect(numberAsShown(13263001234565, FIFTEEN_ZEROS)).toBe(ZERO_IMEI);
    expect(numberAsShown(352099001761481, undefined)).toBe('352099001761481');
    expect(numberAsShown(7, '000')).toBe('007');
    expect(numberAsShown(-7, '000')).toBe('-007');
    expect(numberAsShown(1.5, '000')).toBe('1.5');
  });

  it('cell addresses past Z', () => {
    expect(cellRef(0, 1)).toBe('A1');
    expect(cellRef(2, 7)).toBe('C7');
    expect(cellRef(25, 3)).toBe('Z3');
    expect(cellRef(26, 3)).toBe('AA3');
    expect(cellRef(27 + 26 * 26 - 1, 9)).toBe('AAA9');
  });
});

describe('HS codes as the seeds write them', () => {
  it('normalises spaces and dots to ten digits', () => {
    expect(normaliseHsCode('8517130000')).toBe('8517130000');
    expect(normaliseHsCode('8517 13 000 0')).toBe('8517130000');
    expect(normaliseHsCode('8517.13.000.0')).toBe('8517130000');
    expect(normaliseHsCode('8471\u00a030\u00a0000\u00a00')).toBe('8471300000');
    expect(normaliseHsCode('851713')).toBeInstanceOf(Error);
    expect(normaliseHsCode('8517-13-000-0')).toBeInstanceOf(Error);
  });

  it('a bad HS code is reported on its line and the IMEI evidence still loads', async () => {
    const path = await workbook({
      Выгрузка: [
        HEADER,
        ['KZ-1', '40', '352099001761481', '8517 13 000 0'],
        ['KZ-1', '40', '35209900176149', '8517.13.000.0'],
        ['KZ-2', '40', ZERO_IMEI, '8517 13'],
        ['KZ-2', '40', '35332811000005', { value: 8471300000, numFmt: '0' }],
      ],
    });
    const report = await loadDeclarations(store, path);
    expect(report).toMatchObject({ rowsLoaded: 4, rowsRejected: 0, rowsWarned: 1 });
    expect(report.warnings).toEqual([
      {
        line: 4,
        warning: 'HS code "8517 13" is not a ten-digit EAEU HS code; loaded without an HS code',
      },
    ]);
    expect(store.declarations.get('35209900176148')?.[0]?.hsCode).toBe('8517130000');
    expect(store.declarations.get('35209900176149')?.[0]?.hsCode).toBe('8517130000');
    expect(store.declarations.get(ZERO_BODY)?.[0]).toMatchObject({ applicationId: 'KZ-2', hsCode: null });
    expect(store.declarations.get('35332811000005')?.[0]?.hsCode).toBe('8471300000');
  });
});

describe('customs procedures as KGD systems write them', () => {
  const SPELLINGS = ['40', 'ИМ40', 'ИМ 40', 'им 40', 'IM40', '4000', '4000000', '40 00 000', 'ИМ 40 00 000'];

  it.each(SPELLINGS)('%s is procedure 40', (text) => {
    expect(normaliseProcedure(text)).toBe('40');
  });

  it.each(['', '4', '400', '40000', '40 0', 'ЭК 10', 'ИМ', '00', 'forty', '40/00'])(
    '%j is reported',
    (text) => {
      expect(normaliseProcedure(text)).toBeInstanceOf(Error);
    },
  );

  it('the file loader accepts every spelling and reports anything else on its line', async () => {
    const rows: CellInput[][] = [HEADER];
    const imeis = ['352099001761481', '35209900176149', '35209900176150', '35209900176151', '35209900176152'];
    ['ИМ 40', '40 00 000', '4000000', 'ИМ53'].forEach((p, i) => {
      rows.push([`KZ-${i}`, p, imeis[i]!, null]);
    });
    rows.push(['KZ-9', { value: 4000000, numFmt: '0' }, '35209900176153', null]);
    rows.push(['KZ-X', 'ТТ 80', imeis[4]!, null]);
    const report = await loadDeclarations(store, await workbook({ Выгрузка: rows }));
    expect(report).toMatchObject({ rowsLoaded: 5, rowsRejected: 1 });
    expect(report.rejections).toEqual([
      { line: 7, error: expect.stringContaining('customs procedure "ТТ 80" is not a procedure code') },
    ]);
    expect(store.declarations.get('35209900176148')?.[0]?.procedure).toBe('40');
    expect(store.declarations.get('35209900176151')?.[0]?.procedure).toBe('53');
    expect(store.declarations.get('35209900176153')?.[0]?.procedure).toBe('40');
    expect(store.applications.get('KZ-1')?.procedure).toBe('40');
  });

  it('the decisions topic accepts the same spellings and publishes the canonical codes', () => {
    const parse = (fields: Record<string, unknown>) =>
      parseReleaseDecision(
        Buffer.from(
          JSON.stringify({
            applicationId: 'KZ-1',
            status: 'released',
            imeis: ['352099001761481'],
            decidedAt: '2026-11-20T09:00:00Z',
            ...fields,
          }),
        ),
      );
    for (const procedure of SPELLINGS) {
      const parsed = parse({ procedure, hsCode: '8517 13 000 0' });
      expect(parsed).toMatchObject({ ok: true, decision: { procedure: '40', hsCode: '8517130000' } });
    }
    expect(parse({ procedure: '4' })).toMatchObject({
      ok: false,
      error: expect.stringContaining('procedure: customs procedure "4" is not a procedure code'),
    });
    // A bad procedure is named with the other bad fields, not only once they are fixed.
    const both = parse({ procedure: '4', decidedAt: 'x' });
    expect(both).toMatchObject({
      ok: false,
      error: expect.stringContaining('procedure: customs procedure "4"'),
    });
    expect(both).toMatchObject({ ok: false, error: expect.stringContaining('decidedAt') });
    expect(parse({ procedure: '40', hsCode: '8517.13' })).toMatchObject({
      ok: false,
      error: expect.stringContaining('hsCode: HS code "8517.13" is not a ten-digit EAEU HS code'),
    });
    expect(parse({ procedure: '40', hsCode: null })).toMatchObject({ ok: true, decision: { hsCode: null } });
  });
});

describe('where the header is', () => {
  it('finds the header below a title row and empty rows; rows keep their sheet row numbers', async () => {
    const path = await workbook({
      Выгрузка: [
        ['Сведения о выпуске товаров (абонентские устройства сотовой связи) за октябрь 2026 г.'],
        [],
        ['Для служебного пользования'],
        HEADER,
        ['KZ-1', '40', '352099001761481', null],
        ['KZ-1', '40', '352099001761482', null],
      ],
    });
    const report = await loadDeclarations(store, path);
    expect(report).toMatchObject({ rowsRead: 2, rowsLoaded: 1, header: { line: 4, sheet: 'Выгрузка' } });
    expect(report.rejections).toEqual([
      { line: 6, error: expect.stringContaining('check digit should be 1') },
    ]);
  });

  it('reads the first sheet that has a header, and only that one', async () => {
    const path = await workbook({
      'Сопроводительное письмо': [['Для служебного пользования'], ['Исх. № 12-3/456 от 03.11.2026']],
      Выгрузка: [HEADER, ['KZ-1', '40', '352099001761481', null]],
      Итого: [HEADER, ['KZ-2', '40', '35209900176149', null]],
    });
    // ExcelJS's own streaming reader parks a sheet stored before the shared strings in a temporary
    // file (`tmp-<pid>-…`); imeiflow's (src/loaders/xlsx-sheets.ts) parks none.
    const parked = () => readdirSync(tmpdir()).filter((f) => f.startsWith(`tmp-${process.pid}-`));
    const parkedBefore = parked();
    const report = await loadDeclarations(store, path);
    expect(report).toMatchObject({ rowsLoaded: 1, header: { line: 1, sheet: 'Выгрузка' } });
    expect(store.applications.get('KZ-2')).toBeUndefined();
    expect(parked()).toEqual(parkedBefore);
  });

  it('a workbook stored with its sheets first loads whole, however slowly temporary files open, and leaves none', async () => {
    const path = await workbook({
      Выгрузка: [HEADER, ['KZ-3', '40', '352099001761481', null]],
      Итого: [HEADER, ['KZ-4', '40', '35209900176149', null]],
    });
    // ExcelJS (the writer here, and Excel at times) stores the sheets before the shared strings,
    // the styles and the workbook's part. ExcelJS's streaming reader parked such sheets in
    // temporary files: with their opens slowed down, this load failed every time ("Cannot read
    // properties of undefined (reading 'sheets')", exceljs issue #3064), and at full speed it
    // failed 18 times in 1 000, and 2 loads in 400 ended in an uncaught ENOENT (a parked file
    // removed while it was still opening), which stops the service.
    const parkedFile = new RegExp(`/tmp-${process.pid}-`);
    const open = fs.open;
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    (fs as { open: unknown }).open = (file: fs.PathLike, ...rest: unknown[]) => {
      const later = () => (open as (...args: unknown[]) => void)(file, ...rest);
      if (parkedFile.test(String(file))) setTimeout(later, 50);
      else later();
    };
    try {
      const report = await loadDeclarations(store, path);
      expect(report).toMatchObject({ rowsLoaded: 1, header: { sheet: 'Выгрузка' } });
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      (fs as { open: unknown }).open = open;
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught).toEqual([]);
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith(`tmp-${process.pid}-`))).toEqual([]);
  });

  it('a workbook cut short is refused as unreadable, naming the file', async () => {
    const whole = await workbook({ Выгрузка: [HEADER, ['KZ-5', '40', '352099001761481', null]] });
    const cut = file('cut.xlsx', readFileSync(whole).subarray(0, 3000));
    const error = await loadDeclarations(store, cut).catch((e: unknown) => e);
    expect(isImeiflowError(error, 'LOAD_FILE_UNREADABLE')).toBe(true);
    expect((error as Error).message).toContain(`${cut} is not a readable XLSX workbook`);
    expect(store.applications.get('KZ-5')).toBeUndefined();
  });

  it('a part kept whole that inflates past its limit is refused before it fills the memory', async () => {
    const rows = Array.from({ length: 200 }, (_, i) => [`KZ-${i}`, '40', `note ${'x'.repeat(40)} ${i}`]);
    const path = await workbook({ Выгрузка: [HEADER, ...rows] });
    const read = async (limits: typeof PART_LIMITS) => {
      for await (const sheet of workbookSheets(path, () => undefined, limits)) for await (const _ of sheet);
    };
    await expect(read({ sharedStrings: 1024, other: PART_LIMITS.other })).rejects.toThrow(
      'xl/sharedStrings.xml inflates to more than 1024 bytes',
    );
    await expect(read({ sharedStrings: PART_LIMITS.sharedStrings, other: 64 })).rejects.toThrow(
      /inflates to more than 64 bytes/,
    );
    await read(PART_LIMITS);
  });

  it('a workbook removed while its sheet is being opened: the read fails, and nothing is left uncaught', async () => {
    const path = await workbook({ Выгрузка: [HEADER, ['KZ-6', '40', '352099001761481', null]] });
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const reading = (async () => {
        for await (const sheet of workbookSheets(path, () => undefined)) {
          // The sheet's part is opened only now, from a file that is no longer there.
          unlinkSync(path);
          for await (const _ of sheet);
        }
      })();
      await expect(reading).rejects.toThrow(/ENOENT/);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught).toEqual([]);
  });

  it('a header further down than the search window is not a header: the error names the closest row', async () => {
    const titles: CellInput[][] = Array.from({ length: 20 }, (_, i) => [`note ${i + 1}`]);
    titles.splice(2, 0, ['ID заявки', 'IMEI']);
    const path = await workbook({ Выгрузка: [...titles, HEADER, ['KZ-1', '40', '352099001761481']] });
    const error = await loadDeclarations(store, path).catch((e: unknown) => e);
    expect(isImeiflowError(error, 'LOAD_HEADER_INVALID')).toBe(true);
    expect((error as Error).message).toContain('no header among the first 20 rows of any sheet');
    expect((error as Error).message).toContain('row 3 of sheet "Выгрузка", lacks "Код таможенной процедуры"');
    expect(store.applications.get('KZ-1')).toBeUndefined();
  });

  it('a CSV saved from such a sheet loads the same way, whether its title line has delimiters or not', async () => {
    const rows = ['ID заявки;Код таможенной процедуры;IMEI', 'KZ-1;ИМ 40;352099001761481'];
    const excel = ['Сведения о выпуске товаров за октябрь 2026 г.;;', ';;', ...rows].join('\r\n');
    const typed = ['Сведения о выпуске товаров за октябрь 2026 г.', '', ...rows].join('\n');
    for (const [name, csv] of [
      ['excel.csv', excel],
      ['typed.csv', typed],
    ] as const) {
      const report = await loadDeclarations(store, file(name, csv));
      expect(report, name).toMatchObject({ rowsLoaded: 1, header: { line: 3, sheet: null } });
    }
  });

  it('a CSV without its header in the first 20 lines stops there, naming the closest line', async () => {
    const lines = ['application_id,imei', ...Array.from({ length: 30 }, () => 'KZ-1,352099001761481')];
    const error = await loadDeclarations(store, file('noheader.csv', lines.join('\n'))).catch(
      (e: unknown) => e,
    );
    expect(isImeiflowError(error, 'LOAD_HEADER_INVALID')).toBe(true);
    expect((error as Error).message).toContain(
      'no header among the first 20 rows; the closest, line 1, lacks',
    );
  });
});

describe('legacy .xls', () => {
  const OLE2 = Buffer.concat([
    Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]),
    Buffer.alloc(504),
  ]);

  it.each([
    ['named .xls', 'export.xls', undefined],
    ['named .xlsx', 'export.xlsx', undefined],
    ['uploaded as CSV', 'upload.csv', 'csv' as const],
    ['uploaded as XLSX', 'upload.xlsx', 'xlsx' as const],
  ])('an OLE2 compound file %s is refused with the conversion command', async (_what, name, format) => {
    const path = file(name, OLE2);
    const error = await loadDeclarations(store, path, format === undefined ? {} : { format }).catch(
      (e: unknown) => e,
    );
    expect(isImeiflowError(error, 'LOAD_FORMAT_UNSUPPORTED')).toBe(true);
    expect((error as Error).message).toContain('libreoffice --headless --convert-to xlsx FILE.xls');
  });

  it('an XLSX uploaded as CSV (or named .xls) is read as the workbook it is', async () => {
    const xlsx = await workbook({ Выгрузка: [HEADER, ['KZ-1', '40', '352099001761481', null]] });
    const report = await loadDeclarations(store, xlsx, { format: 'csv' });
    expect(report).toMatchObject({ format: 'xlsx', rowsLoaded: 1 });
  });
});

describe('imports from EAEU member states (seed 000 §4(6))', () => {
  const EAEU_HEADER = ['ID заявки', 'Код таможенной процедуры', 'Вид ввоза', 'IMEI'];

  it('a row marked ЕАЭС (procedure cell or import kind) loads with no procedure; a blank procedure alone does not', async () => {
    const path = await workbook({
      Выгрузка: [
        EAEU_HEADER,
        ['ZV-1', 'ЕАЭС', null, '352099001761481'],
        ['ZV-2', null, 'ввоз из ЕАЭС', '35209900176149'],
        ['ZV-3', 'EAEU', 'eaeu', '35209900176150'],
        ['KZ-4', 'ИМ 40', 'ДТ', '35209900176151'],
        ['ZV-5', null, null, '35209900176152'],
        ['ZV-6', '40', 'ЕАЭС', '35209900176153'],
        ['ZV-7', 'ЕАЭС', 'таможенная декларация', '35209900176154'],
        ['ZV-8', null, 'Россия', '35209900176155'],
      ],
    });
    const report = await loadDeclarations(store, path);
    expect(report).toMatchObject({ rowsLoaded: 4, rowsRejected: 4 });
    expect(report.rejections).toEqual([
      {
        line: 6,
        error: expect.stringContaining(
          'customs procedure code is empty (an import from an EAEU member state',
        ),
      },
      { line: 7, error: expect.stringContaining('has no customs procedure, but "40" is given') },
      { line: 8, error: expect.stringContaining('but the import kind says customs') },
      { line: 9, error: expect.stringContaining('import kind "Россия" is neither eaeu') },
    ]);
    for (const [body, applicationId] of [
      ['35209900176148', 'ZV-1'],
      ['35209900176149', 'ZV-2'],
      ['35209900176150', 'ZV-3'],
    ]) {
      expect(store.declarations.get(body!)).toEqual([
        { applicationId, procedure: null, status: 'released', hsCode: null, decidedAt: null },
      ]);
    }
    expect(store.applications.get('ZV-1')).toMatchObject({ procedure: null, imeiCount: 1 });
    expect(store.declarations.get('35209900176151')?.[0]?.procedure).toBe('40');
  });

  it('the file needs no import-kind column: ЕАЭС in the procedure column is enough', async () => {
    const report = await loadDeclarations(
      store,
      file(
        'eaeu.csv',
        'ID заявки;Код таможенной процедуры;IMEI\nZV-1;ЕАЭС;352099001761481\nZV-2;;35209900176149\n',
      ),
    );
    expect(report.rejections.map((r) => r.line)).toEqual([3]);
    expect(store.declarations.get('35209900176148')?.[0]?.procedure).toBeNull();
  });

  it('on the decisions topic: importKind eaeu with no procedure, or procedure ЕАЭС', () => {
    const parse = (fields: Record<string, unknown>) =>
      parseReleaseDecision(
        Buffer.from(
          JSON.stringify({
            applicationId: 'ZV-1',
            status: 'released',
            imeis: ['352099001761481'],
            decidedAt: '2026-11-20T09:00:00Z',
            ...fields,
          }),
        ),
      );
    expect(parse({ importKind: 'eaeu' })).toMatchObject({ ok: true, decision: { procedure: null } });
    expect(parse({ importKind: 'eaeu', procedure: null })).toMatchObject({
      ok: true,
      decision: { procedure: null },
    });
    expect(parse({ procedure: 'ЕАЭС' })).toMatchObject({ ok: true, decision: { procedure: null } });
    expect(parse({ importKind: 'customs', procedure: 'ИМ 40' })).toMatchObject({
      ok: true,
      decision: { procedure: '40' },
    });
    expect(parse({})).toMatchObject({
      ok: false,
      error: expect.stringContaining('procedure: customs procedure code is empty'),
    });
    expect(parse({ importKind: 'eaeu', procedure: '40' })).toMatchObject({
      ok: false,
      error: expect.stringContaining('has no customs procedure'),
    });
    expect(parse({ importKind: 'mars', procedure: '40' })).toMatchObject({ ok: false });
  });
});

describe('reasoned refusals (seeds 002, 003)', () => {
  const GROUNDS = 'Не представлен сертификат соответствия (п. 10 Стандарта); представить сертификат';

  it('a grounds column loads with the refusal; the application record follows its latest decision', async () => {
    const long = 'х'.repeat(4001);
    const report = await loadDeclarations(
      store,
      await workbook({
        Выгрузка: [
          ['ID заявки', 'Код таможенной процедуры', 'IMEI', 'Статус', 'Основание отказа'],
          ['KZ-1', '40', '352099001761481', 'отказ в выпуске', `  ${GROUNDS} `],
          ['KZ-2', '40', '35209900176149', 'refused', long],
          ['KZ-3', '40', '35209900176150', 'released', null],
        ],
      }),
    );
    expect(report).toMatchObject({ rowsLoaded: 3, rowsRejected: 0, rowsWarned: 1 });
    expect(report.warnings).toEqual([
      { line: 3, warning: 'grounds are 4001 characters long; the first 4000 are kept' },
    ]);
    expect(store.declarations.get('35209900176148')).toEqual([
      {
        applicationId: 'KZ-1',
        procedure: '40',
        status: 'refused',
        hsCode: null,
        decidedAt: null,
        grounds: GROUNDS,
      },
    ]);
    expect(store.applications.get('KZ-1')).toMatchObject({ status: 'refused', grounds: GROUNDS });
    expect(store.declarations.get('35209900176149')?.[0]?.grounds).toHaveLength(4000);
    // No grounds: no field at all, so the entry keeps its shared stored shape.
    expect(store.declarations.get('35209900176150')?.[0]).not.toHaveProperty('grounds');

    // A release without a time never overrides the refusal (KGD's order, src/domain/kgd-order.ts)…
    await loadDeclarations(
      store,
      file('untimed.csv', 'application_id,procedure_code,imei,status\nKZ-1,40,352099001761481,released\n'),
    );
    expect(store.applications.get('KZ-1')).toMatchObject({ status: 'refused', grounds: GROUNDS });
    // …but KGD releasing KZ-1 after all, at a time, does: its grounds no longer stand.
    await loadDeclarations(
      store,
      file(
        'later.csv',
        'application_id,procedure_code,imei,status,decided_at\nKZ-1,40,352099001761481,released,2026-12-01T09:00:00Z\n',
      ),
    );
    expect(store.applications.get('KZ-1')).toMatchObject({ status: 'released' });
    expect(store.applications.get('KZ-1')).not.toHaveProperty('grounds');
    expect(store.declarations.get('35209900176148')?.[0]).not.toHaveProperty('grounds');
  });

  it('on the decisions topic: an optional grounds field, trimmed; empty is none', () => {
    const parse = (fields: Record<string, unknown>) =>
      parseReleaseDecision(
        Buffer.from(
          JSON.stringify({
            applicationId: 'KZ-1',
            procedure: '40',
            status: 'refused',
            imeis: ['352099001761481'],
            decidedAt: '2026-11-20T09:00:00Z',
            ...fields,
          }),
        ),
      );
    expect(parse({ grounds: ` ${GROUNDS}\n` })).toMatchObject({ ok: true, decision: { grounds: GROUNDS } });
    for (const grounds of [undefined, null, '', '   ']) {
      const parsed = parse({ grounds });
      expect(parsed.ok).toBe(true);
      if (parsed.ok) expect(parsed.decision).not.toHaveProperty('grounds');
    }
    expect(parse({ grounds: 'х'.repeat(4001) })).toMatchObject({
      ok: false,
      error: expect.stringContaining('grounds'),
    });
  });
});
