/** Cell parsers shared by the loaders. Each returns the value or an Error naming the problem. */
import { type NormalisedImei, normaliseImei } from '../domain/imei.js';
import type { CellOrigin } from './load-table.js';

const MONTHS: Record<string, string> = {
  jan: '01',
  feb: '02',
  mar: '03',
  apr: '04',
  may: '05',
  jun: '06',
  jul: '07',
  aug: '08',
  sep: '09',
  oct: '10',
  nov: '11',
  dec: '12',
};

function isRealDate(y: number, m: number, d: number): boolean {
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** GSMA dates are `DD-Mon-YYYY` ("07-Mar-2019"); ISO `YYYY-MM-DD` is accepted too. → `YYYY-MM-DD`. */
export function parseGsmaDate(text: string): string | Error {
  const gsma = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(text);
  if (gsma !== null) {
    const month = MONTHS[gsma[2]!.toLowerCase()];
    const day = gsma[1]!.padStart(2, '0');
    const year = gsma[3]!;
    if (month !== undefined && isRealDate(Number(year), Number(month), Number(day)))
      return `${year}-${month}-${day}`;
    return new Error(`"${text}" is not a date`);
  }
  const iso = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (iso !== null && isRealDate(Number(iso[1]), Number(iso[2]), Number(iso[3]))) return iso[0];
  return new Error(`"${text}" is not a date in DD-Mon-YYYY form`);
}

/**
 * A timestamp: ISO 8601, `YYYY-MM-DD`, or the Russian `DD.MM.YYYY[ HH:MM[:SS]]` of KGD exports
 * (read as Astana time, UTC+5). → ISO 8601 UTC.
 */
export function parseTimestamp(text: string): string | Error {
  // Exports repeat one decision time over thousands of rows: remember the last answer.
  if (text === lastTimestamp.text) return lastTimestamp.result;
  const result = parseTimestampUncached(text);
  lastTimestamp = { text, result };
  return result;
}

let lastTimestamp: { text: string; result: string | Error } = {
  text: '',
  result: new Error('"" is not a date or timestamp'),
};

function parseTimestampUncached(text: string): string | Error {
  const ru = /^(\d{2})\.(\d{2})\.(\d{4})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (ru !== null) {
    const [, d, m, y, hh = '00', mm = '00', ss = '00'] = ru;
    if (!isRealDate(Number(y), Number(m), Number(d))) return new Error(`"${text}" is not a date`);
    return new Date(`${y}-${m}-${d}T${hh}:${mm}:${ss}+05:00`).toISOString();
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return new Error(`"${text}" is not a date or timestamp`);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) return new Error(`"${text}" is not a date or timestamp`);
  return new Date(ms).toISOString();
}

/**
 * An IMEI cell, normalised like a request (rule 2); a bad check digit rejects the row.
 *
 * A spreadsheet cell holding a number, not text, is read as the digits it shows (its number
 * format's leading zeros included, see excel-number.ts), and only when those can be nothing but
 * the IMEI that was typed: 15 digits (an IMEI, whose check digit is then checked) or 16 (an
 * IMEISV), within the integers a spreadsheet number holds exactly. Anything else is rejected
 * naming the cell, never read as another IMEI:
 * - 14 digits or fewer: a 15-digit IMEI whose leading 0 was dropped (TACs 01… are common) looks
 *   exactly like a 14-digit body, to which rule 2 would add a new check digit;
 * - beyond 2^53: the double holds other digits than were typed.
 */
export function parseImeiCell(text: string, origin?: CellOrigin): NormalisedImei | Error {
  if (text.length === 0) return new Error('IMEI is empty');
  if (origin?.number === true) {
    const problem = numberImeiProblem(text);
    if (problem !== undefined) {
      const cell = origin.ref === null ? 'the IMEI cell' : `cell ${origin.ref}`;
      return new Error(
        `${cell} holds the number ${text}, ${problem}; write the IMEI as text and load the row again`,
      );
    }
  }
  const result = normaliseImei(text);
  return result.ok ? result : new Error(`IMEI ${JSON.stringify(text)}: ${result.detail}`);
}

/** Why a number cell's digits cannot be taken for the IMEI typed; undefined when they can. */
function numberImeiProblem(text: string): string | undefined {
  if (!/^\d+$/.test(text)) return 'which is not an IMEI';
  if (text.length < 15) {
    return `${text.length} digits: a 15-digit IMEI starting with 0 loses that 0 in a number cell, so which IMEI was meant cannot be told`;
  }
  if (text.length > 16 || BigInt(text) > BigInt(Number.MAX_SAFE_INTEGER)) {
    return 'more digits than a spreadsheet number keeps exactly';
  }
  return undefined;
}
