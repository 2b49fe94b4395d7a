/**
 * A quoted field left open goes on over the lines after it, up to `maxLineBytes`. The record so
 * far was split again at every line (found in review): 5 004 splits for this test's 5 000-line
 * record, work that grows with the square of the lines a record spans. A line without a quote
 * cannot close the field: the record is split again only at a line that has one. (Measured once,
 * with CI running beside it: 1 000 000 empty lines after an open quote read in 1.1 s before, 0.9 s
 * after; the cap on a record's length kept the square small.)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import * as csv from '../../src/loaders/csv-record.js';
import { openTable, type TableItem } from '../../src/loaders/table-source.js';
import { tempDir } from '../support/tmp.js';

vi.mock('../../src/loaders/csv-record.js', async (original) => {
  const actual = await original<typeof csv>();
  return { ...actual, splitRecord: vi.fn(actual.splitRecord) };
});

const dir = tempDir();

async function items(content: string): Promise<TableItem[]> {
  const path = join(dir, `${Math.random()}.csv`);
  writeFileSync(path, content);
  const table = await openTable(path, { maxLineBytes: 64 * 1024, format: 'csv' });
  const all: TableItem[] = [];
  for await (const item of table.items()) all.push(item);
  return all;
}

describe('a quoted field left open over many lines', () => {
  it('is split again only at lines with a quote, and reads as before', async () => {
    const split = vi.mocked(csv.splitRecord);
    split.mockClear();
    const spanned = Array.from({ length: 5_000 }, (_, i) => `line ${i}`).join('\n');
    const read = await items(
      `imei,reason\n356865110000011,"stolen\n${spanned}\nat last",kcell\n356865110000029,lost\n`,
    );
    expect(read.map((i) => (i.kind === 'row' ? i.cells[0] : i.kind))).toEqual([
      'imei',
      '356865110000011',
      '356865110000029',
    ]);
    expect(read[1]).toMatchObject({
      kind: 'row',
      line: 2,
      cells: ['356865110000011', `stolen\n${spanned}\nat last`, 'kcell'],
    });
    // The header, the record when it opens and when it closes, and the last row.
    expect(split.mock.calls.length).toBeLessThanOrEqual(5);

    split.mockClear();
    const empty = await items(`imei,reason\n"${'\n'.repeat(20_000)}`);
    expect(empty.at(-1)).toMatchObject({
      kind: 'problem',
      line: 2,
      error: 'quoted field is not closed at the end of the file',
    });
    expect(split.mock.calls.length).toBeLessThanOrEqual(3);
  });
});
