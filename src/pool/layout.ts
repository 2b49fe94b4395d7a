/**
 * Binary entry layouts as field tables (issue 21: each wire format described once). A table lists
 * an entry's fields in order; their offsets, the entry's size and its description are derived
 * from it, and the fast codecs (batch-contract.ts, outputs-section.ts) address fields only through
 * those offsets. `writeEntry` and `readEntry` are the generic pair: slower, for the property tests
 * that hold the fast codecs to the table.
 *
 * Little-endian; every field at a multiple of its own size, so padding is always an explicit field.
 */

/** u8, u16, u32, f64 (a Kafka offset or a timestamp, exact to 2^53); span: u32 offset · u32 length. */
export type FieldType = 'u8' | 'u16' | 'u32' | 'f64' | 'span';

const SIZES: Readonly<Record<FieldType, number>> = { u8: 1, u16: 2, u32: 4, f64: 8, span: 8 };
const ALIGN: Readonly<Record<FieldType, number>> = { u8: 1, u16: 2, u32: 4, f64: 8, span: 4 };

/** A span whose length is this is null (a tombstone's value), not empty. */
export const NULL_LENGTH = 0xffffffff;

export interface Span {
  readonly offset: number;
  readonly length: number;
}

export interface Layout<F extends string> {
  readonly fields: readonly (readonly [name: F, type: FieldType])[];
  /** Each field's offset in the entry. */
  readonly at: Readonly<Record<F, number>>;
  readonly size: number;
}

export function entryLayout<F extends string>(fields: readonly (readonly [F, FieldType])[]): Layout<F> {
  const at = {} as Record<F, number>;
  let offset = 0;
  for (const [name, type] of fields) {
    if (offset % ALIGN[type] !== 0) throw new Error(`field ${name} (${type}) at ${offset} is not aligned`);
    at[name] = offset;
    offset += SIZES[type];
  }
  const align = Math.max(...fields.map(([, type]) => ALIGN[type]));
  if (offset % align !== 0) throw new Error(`an entry of ${offset} bytes breaks the next entry's alignment`);
  return Object.freeze({ fields, at: Object.freeze(at), size: offset });
}

/** `kind u8 · encoding u8 · …` — the table as the docs write it. */
export function describeLayout(layout: Layout<string>): string {
  return layout.fields.map(([name, type]) => `${name} ${type}`).join(' · ');
}

export type EntryValues<F extends string> = Record<F, number | Span>;

/** Writes every field of an entry at `base` (generic: the tests' reference encoder). */
export function writeEntry<F extends string>(
  view: DataView,
  base: number,
  layout: Layout<F>,
  values: EntryValues<F>,
): void {
  for (const [name, type] of layout.fields) {
    const at = base + layout.at[name];
    const value = values[name];
    if (type === 'span') {
      const span = value as Span;
      view.setUint32(at, span.offset, true);
      view.setUint32(at + 4, span.length, true);
    } else if (type === 'u8') view.setUint8(at, value as number);
    else if (type === 'u16') view.setUint16(at, value as number, true);
    else if (type === 'u32') view.setUint32(at, value as number, true);
    else view.setFloat64(at, value as number, true);
  }
}

/** Reads every field of an entry at `base` (generic: the tests' reference decoder). */
export function readEntry<F extends string>(view: DataView, base: number, layout: Layout<F>): EntryValues<F> {
  const values = {} as EntryValues<F>;
  for (const [name, type] of layout.fields) {
    const at = base + layout.at[name];
    if (type === 'span')
      values[name] = { offset: view.getUint32(at, true), length: view.getUint32(at + 4, true) };
    else if (type === 'u8') values[name] = view.getUint8(at);
    else if (type === 'u16') values[name] = view.getUint16(at, true);
    else if (type === 'u32') values[name] = view.getUint32(at, true);
    else values[name] = view.getFloat64(at, true);
  }
  return values;
}
