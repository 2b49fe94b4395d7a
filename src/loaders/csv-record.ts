/**
 * Splits one CSV record into fields (RFC 4180 quoting, any one-character delimiter).
 *
 * Tolerant where real exports are sloppy: a quote inside an unquoted field is kept as a
 * character (GSMA model names like `5.5" phone`). A quoted field left open at the end of the
 * line asks the caller for the next line: quoted fields may span lines.
 */
export type SplitResult =
  | { readonly kind: 'fields'; readonly fields: string[] }
  | { readonly kind: 'open-quote' }
  | { readonly kind: 'error'; readonly error: string };

const QUOTE = 34;

export function splitRecord(text: string, delimiter: string): SplitResult {
  const delim = delimiter.charCodeAt(0);
  const fields: string[] = [];
  const n = text.length;
  let i = 0;
  for (;;) {
    if (i < n && text.charCodeAt(i) === QUOTE) {
      // Quoted field: "" is an escaped quote; the field ends at a lone quote.
      let value = '';
      let from = i + 1;
      let j = from;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q === -1) return { kind: 'open-quote' };
        if (q + 1 < n && text.charCodeAt(q + 1) === QUOTE) {
          value += text.slice(from, q + 1);
          j = q + 2;
          from = j;
          continue;
        }
        value += text.slice(from, q);
        i = q + 1;
        break;
      }
      // Only spaces may sit between the closing quote and the delimiter.
      while (i < n && text.charCodeAt(i) === 32) i++;
      if (i < n && text.charCodeAt(i) !== delim) {
        return {
          kind: 'error',
          error: `unexpected text after the closing quote of field ${fields.length + 1}`,
        };
      }
      fields.push(value);
    } else {
      const end = text.indexOf(delimiter, i);
      const stop = end === -1 ? n : end;
      fields.push(text.slice(i, stop));
      i = stop;
    }
    if (i >= n) return { kind: 'fields', fields };
    if (text.charCodeAt(i) !== delim) return { kind: 'error', error: 'malformed record' };
    i++;
    if (i === n) {
      fields.push('');
      return { kind: 'fields', fields };
    }
  }
}

const CANDIDATES = ['|', ',', ';', '\t'] as const;

/**
 * The delimiter of a line: whichever candidate occurs most outside quotes; undefined when none
 * does (a title line above the header, a one-column file).
 */
export function detectDelimiter(header: string): string | undefined {
  let best: string | undefined;
  let bestCount = 0;
  for (const candidate of CANDIDATES) {
    let count = 0;
    let quoted = false;
    for (let i = 0; i < header.length; i++) {
      const c = header[i];
      if (c === '"') quoted = !quoted;
      else if (!quoted && c === candidate) count++;
    }
    if (count > bestCount) {
      best = candidate;
      bestCount = count;
    }
  }
  return best;
}
