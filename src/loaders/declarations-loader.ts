/**
 * The KGD monthly export (seed 000 §11, appendix 2): application ID, customs procedure code and
 * IMEI, under the Russian headers of the export or their snake_case names; CSV or XLSX.
 */
import { normaliseHsCode, parseImportKind, resolveProcedure } from '../domain/customs.js';
import { parseDeclarationStatus } from '../domain/kgd-vocabulary.js';
import { MAX_GROUNDS_CHARS } from '../domain/release-decision.js';
import type { DeclarationEntry, DeclarationStatus } from '../domain/types.js';
import { type ApplicationDecision, applyApplicationDecision } from '../store/declarations.js';
import type { Store } from '../store/store.js';
import { parseImeiCell, parseTimestamp } from './fields.js';
import { type LoadOptions, type LoadReport, loadTable, type RowSink, type TableSpec } from './load-table.js';

export interface DeclarationRow {
  /** Null for a row outside the exchange's scope: its application is recorded, its IMEI is not. */
  readonly body: string | null;
  readonly entry: DeclarationEntry;
}

type DeclarationField =
  | 'applicationId'
  | 'procedure'
  | 'importKind'
  | 'imei'
  | 'status'
  | 'hsCode'
  | 'decidedAt'
  | 'grounds';

/** An empty status cell is a release: the monthly export lists released goods (seed 000 §11). */
function parseStatus(text: string): DeclarationStatus | Error {
  return text.length === 0 ? 'released' : parseDeclarationStatus(text);
}

export const DECLARATIONS_SPEC: TableSpec<DeclarationField, DeclarationRow> = {
  what: 'KGD declarations export',
  columns: [
    { field: 'applicationId', headers: ['ID заявки', 'application_id', 'applicationId'], required: true },
    {
      field: 'procedure',
      headers: ['Код таможенной процедуры', 'procedure_code', 'procedure'],
      required: true,
    },
    // Seed 000 §4(6): an import from another EAEU member state has no customs procedure. Such a
    // row says so in this column (or with ЕАЭС in the procedure column); see customs.ts.
    { field: 'importKind', headers: ['Вид ввоза', 'import_kind', 'importKind'], required: false },
    { field: 'imei', headers: ['IMEI'], required: true },
    { field: 'status', headers: ['status', 'Статус'], required: false },
    { field: 'hsCode', headers: ['hs_code', 'Код ТН ВЭД'], required: false },
    { field: 'decidedAt', headers: ['decided_at', 'Дата решения'], required: false },
    // A refusal's reasons (seed 002 §8(3)), as KGD words them; carried to the subscriber.
    {
      field: 'grounds',
      headers: ['grounds', 'Основание отказа', 'Основания отказа', 'Причина отказа', 'Бас тарту негіздемесі'],
      required: false,
    },
  ],
  parseRow(cell, origin, options) {
    const applicationId = cell('applicationId');
    if (applicationId.length === 0) return { ok: false, error: 'application ID is empty' };
    if (applicationId.length > 128)
      return { ok: false, error: 'application ID is longer than 128 characters' };
    const importKind = parseImportKind(cell('importKind'));
    if (importKind instanceof Error) return { ok: false, error: importKind.message };
    const procedure = resolveProcedure(cell('procedure'), importKind);
    if (procedure instanceof Error) return { ok: false, error: procedure.message };
    const imei = parseImeiCell(cell('imei'), origin('imei'));
    if (imei instanceof Error) return { ok: false, error: imei.message };
    const status = parseStatus(cell('status'));
    if (status instanceof Error) return { ok: false, error: status.message };
    // The HS code only describes the goods; a bad one must not cost the device its evidence
    // (seed 000 appendix 2 lists application, procedure and IMEI): the row loads without it.
    const rawHsCode = cell('hsCode');
    const hsCode = rawHsCode.length === 0 ? null : normaliseHsCode(rawHsCode);
    const warnings: string[] = [];
    if (hsCode instanceof Error) warnings.push(`${hsCode.message}; loaded without an HS code`);
    const rawDecided = cell('decidedAt');
    let decidedAt: string | null = null;
    if (rawDecided.length > 0) {
      const parsed = parseTimestamp(rawDecided);
      if (parsed instanceof Error) return { ok: false, error: `decided_at: ${parsed.message}` };
      decidedAt = parsed;
    }
    let grounds = cell('grounds');
    if (grounds.length > MAX_GROUNDS_CHARS) {
      warnings.push(`grounds are ${grounds.length} characters long; the first ${MAX_GROUNDS_CHARS} are kept`);
      grounds = grounds.slice(0, MAX_GROUNDS_CHARS);
    }
    const entry: DeclarationEntry = {
      applicationId,
      procedure,
      status,
      hsCode: hsCode instanceof Error ? null : hsCode,
      decidedAt,
      // Absent rather than empty: an entry without grounds keeps its shared stored shape.
      ...(grounds.length === 0 ? {} : { grounds }),
    };
    // Seed 000 appendix 1: the exchange covers three HS codes. A row under another code proves no
    // device's entry, and its IMEI is customs data this service has no purpose to keep.
    const outOfScope =
      entry.hsCode !== null &&
      options.hsCodesInScope !== undefined &&
      !options.hsCodesInScope.includes(entry.hsCode);
    const value = { body: outOfScope ? null : imei.body, entry };
    return {
      ok: true,
      value,
      ...(warnings.length === 0 ? {} : { warnings }),
      ...(outOfScope ? { outOfScope } : {}),
    };
  },
};

export function declarationsSink(store: Store): RowSink<DeclarationRow> {
  return {
    async write(rows) {
      // Group consecutive rows of one application so its record is updated once per batch.
      const decisions: ApplicationDecision[] = [];
      let current: { entry: DeclarationEntry; bodies: string[] } | undefined;
      for (const { value } of rows) {
        if (current === undefined || !sameDecision(current.entry, value.entry)) {
          current = { entry: value.entry, bodies: [] };
          decisions.push(current);
        }
        // Out of scope: the application is recorded (it answers `hs_out_of_scope`), the IMEI not.
        if (value.body !== null) current.bodies.push(value.body);
      }
      await store.env.transaction(() => {
        for (const decision of decisions) applyApplicationDecision(store, decision);
      });
      return [];
    },
  };
}

/** Whether two rows carry one decision, so their IMEIs travel together. */
export function sameDecision(a: DeclarationEntry, b: DeclarationEntry): boolean {
  return (
    a.applicationId === b.applicationId &&
    a.procedure === b.procedure &&
    a.status === b.status &&
    a.hsCode === b.hsCode &&
    a.decidedAt === b.decidedAt &&
    a.grounds === b.grounds
  );
}

export function loadDeclarations(store: Store, file: string, options?: LoadOptions): Promise<LoadReport> {
  return loadTable(file, DECLARATIONS_SPEC, declarationsSink(store), options);
}
