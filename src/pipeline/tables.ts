/**
 * The global tables (src/pipeline/global-tables.ts reads their topics into LMDB): what each
 * table's records do to the store, inside the reader's transaction. Each topic's declaration is
 * in src/kafka/table-topics.ts and its decoder in table-decoders.ts; the review table, which
 * reads the pending changelog, in review-table.ts.
 */

import { isWithdrawal } from '../domain/kgd-order.js';
import type { ParsedDecision } from '../domain/release-decision.js';
import type { BlockEntry, DeclarationEntry, LocalProductionRecord, TacRecord } from '../domain/types.js';
import type { TopicRoleName } from '../kafka/topic-roles.js';
import type { Logger } from '../log.js';
import type { AuditLog } from '../security/audit-log.js';
import { applyTokenEvent, lmdbTokenTable, type TokenEvent } from '../security/token-events.js';
import { applyApplicationDecision } from '../store/declarations.js';
import type { AuditEntry, KgdExportRecord } from '../store/records.js';
import { bumpTacVersion, type Store } from '../store/store.js';
import type { GlobalTable, IndexChanges } from './global-tables.js';
import type { LogMessage } from './kafka-port.js';
import {
  type Decoded,
  decodeBlockEntry,
  decodeDecision,
  decodeKgdExport,
  decodeLocalProduction,
  decodeTac,
  type Keyed,
} from './table-decoders.js';

/**
 * Which of a decision's IMEIs to apply: a purge ordered after the message was written removes
 * what it said (null: the whole decision). Kafka keeps the decision; every instance ignores it.
 */
export type PurgedFilter = (
  applicationId: string,
  bodies: readonly string[],
  timestamp: number | undefined,
) => readonly string[] | null;

/**
 * KGD release decisions → the declaration index, in KGD's order (src/store/declarations.ts). Bad
 * decisions are the validator's (DLQ). A decision under an HS code outside `hsCodesInScope` (seed
 * 000 appendix 1) records its application only: its IMEIs are not stored.
 */
export function declarationsTable(
  log: Logger,
  purged?: PurgedFilter,
  hsCodesInScope?: readonly string[],
): GlobalTable<ParsedDecision & { ok: true }> {
  const scope = hsCodesInScope === undefined ? undefined : new Set(hsCodesInScope);
  return {
    role: 'decisions',
    decode: decodeDecision,
    apply(store, records, changes) {
      for (const { message: m, value: p } of records) {
        const { decision } = p;
        const outOfScope = scope !== undefined && decision.hsCode != null && !scope.has(decision.hsCode);
        const entry: DeclarationEntry = {
          applicationId: decision.applicationId,
          procedure: decision.procedure,
          status: decision.status,
          hsCode: decision.hsCode ?? null,
          decidedAt:
            decision.decidedAt === null || decision.decidedAt === undefined
              ? null
              : new Date(decision.decidedAt).toISOString(),
          ...(decision.grounds === undefined ? {} : { grounds: decision.grounds }),
        };
        // A refusal or revocation may name no IMEIs: it withdraws everything the application lists.
        const whole = isWithdrawal(decision.status) && p.bodies.length === 0 && p.badImeis.length === 0;
        if (outOfScope) {
          log.debug(
            { applicationId: decision.applicationId, hsCode: decision.hsCode, imeis: p.bodies.length },
            'release decision outside the HS scope: its IMEIs are not stored',
          );
        }
        const listed = outOfScope
          ? []
          : whole
            ? [...store.applicationImeis.getValues(decision.applicationId)]
            : p.bodies;
        const bodies = purged === undefined ? listed : purged(decision.applicationId, listed, m.timestamp);
        if (bodies === null) continue;
        const applied = applyApplicationDecision(
          store,
          whole && bodies.length === listed.length ? { entry, bodies: [], whole } : { entry, bodies },
        );
        for (const body of applied.changed) changes.bodies.add(body);
        changes.applications.add(decision.applicationId);
      }
    },
  };
}

/** A compacted table keyed by its record's id: a record puts, a tombstone removes. */
function keyedTable<V>(
  role: TopicRoleName,
  decode: (m: LogMessage) => Decoded<Keyed<V>>,
  write: (store: Store, key: string, value: V | null, changes: IndexChanges) => void,
  after?: (store: Store) => void,
): GlobalTable<Keyed<V>> {
  return {
    role,
    decode,
    apply(store, records, changes) {
      for (const { value } of records) write(store, value.key, value.value, changes);
      after?.(store);
    },
  };
}

export const tacTable = (): GlobalTable<Keyed<TacRecord>> =>
  keyedTable(
    'tac',
    decodeTac,
    (store, tac, record) => {
      if (record === null) store.tac.remove(tac);
      else store.tac.put(tac, record);
    },
    // Workers cache the TAC table: tell them it changed.
    (store) => bumpTacVersion(store),
  );

export const blocklistTable = (): GlobalTable<Keyed<BlockEntry>> =>
  keyedTable('blocklist', decodeBlockEntry, (store, body, entry) => {
    if (entry === null) store.blocklist.remove(body);
    else store.blocklist.put(body, entry);
  });

export const localProductionTable = (): GlobalTable<Keyed<LocalProductionRecord>> =>
  keyedTable('localProduction', decodeLocalProduction, (store, body, record, changes) => {
    if (record === null) store.localProduction.remove(body);
    else store.localProduction.put(body, record);
    changes.bodies.add(body);
  });

/**
 * Token accounts (src/security/tokens.ts): every instance knows every token and its state.
 * `decode`: the tokens topic's verifying decoder (table-decoders.ts `tableDecoders`).
 */
export function tokensTable(decode: (m: LogMessage) => Decoded<TokenEvent>): GlobalTable<TokenEvent> {
  return {
    role: 'tokens',
    decode,
    apply(store, records) {
      const table = lmdbTokenTable(store);
      for (const { value } of records) applyTokenEvent(table, value);
    },
  };
}

/** Acts on audit entries as they are stored (a purge's entry is its order: src/retention/). */
export interface AuditFollower {
  /** Inside the transaction that stores the entries. */
  apply(store: Store, entries: readonly AuditEntry[]): void;
  /** After that transaction committed. */
  afterCommit(entries: readonly AuditEntry[]): void;
}

/**
 * The cluster's audit trail: into this instance's store (GET /v1/audit) and `audit.jsonl`.
 * `decode`: the audit topic's verifying decoder (table-decoders.ts `tableDecoders`): an entry
 * not signed with the cluster key is neither stored nor, if it is a purge, carried out.
 */
export function auditTable(
  audit: AuditLog,
  decode: (m: LogMessage) => Decoded<AuditEntry>,
  follower?: AuditFollower,
): GlobalTable<AuditEntry> {
  return {
    role: 'audit',
    decode,
    apply(store, records) {
      // Keys sort by time; the partition and offset keep entries of one millisecond apart.
      for (const { message: m, value: entry } of records)
        store.audit.put(`${entry.at}#${m.partition}#${String(m.offset).padStart(12, '0')}`, entry);
      follower?.apply(
        store,
        records.map((r) => r.value),
      );
    },
    afterCommit(records) {
      const entries = records.map((r) => r.value);
      audit.archive(entries);
      follower?.afterCommit(entries);
    },
  };
}

/**
 * The KGD monthly exports loaded (seed 000 §11), keyed `kgd/<YYYY-MM>`: every instance knows the
 * last month loaded (GET /v1/info, the export-month gauges and their alert).
 */
export const kgdExportsTable = (): GlobalTable<Keyed<KgdExportRecord>> =>
  keyedTable('exports', decodeKgdExport, (store, key, record) => {
    if (record === null) store.exports.remove(key);
    else store.exports.put(key, record);
  });
