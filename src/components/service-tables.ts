/**
 * The global tables the service reads (src/pipeline/global-tables.ts), with what they call on
 * as they go: the declarations table consults the purge marks, the audit table carries out the
 * purges it stores, the signed topics' tables verify each event with the cluster key, and a
 * record no table can read, or one refused for its signature, is counted and logged.
 */
import type { Config } from '../config/config.js';
import type { DestroyedKind } from '../domain/retention.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { GlobalTablesDeps } from '../pipeline/global-tables.js';
import type { PartitionLog } from '../pipeline/kafka-port.js';
import { reviewTable } from '../pipeline/review-table.js';
import type { TableDecoders } from '../pipeline/table-decoders.js';
import {
  auditTable,
  blocklistTable,
  declarationsTable,
  kgdExportsTable,
  localProductionTable,
  tacTable,
  tokensTable,
} from '../pipeline/tables.js';
import { primePurges, purgeFollower } from '../retention/purge-orders.js';
import type { RetentionSweep } from '../retention/retention-sweep.js';
import type { AuditLog } from '../security/audit-log.js';
import type { PurgeMarkIndex } from '../store/purge-marks.js';
import type { Store } from '../store/store.js';

export interface ServiceTablesDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly audit: AuditLog;
  readonly marks: PurgeMarkIndex;
  readonly sweep: RetentionSweep;
  readonly destroyed: (kind: DestroyedKind, count: number) => void;
  readonly decoders: TableDecoders;
}

export function serviceTables(deps: ServiceTablesDeps): GlobalTablesDeps['tables'] {
  const { config, log, marks, sweep, destroyed, decoders } = deps;
  return [
    declarationsTable(
      log,
      (id, bodies, timestamp) => marks.decisionBodies(id, bodies, timestamp),
      config.rules.hsCodesInScope,
    ),
    tacTable(),
    blocklistTable(),
    localProductionTable(),
    reviewTable(decoders.pendingChangelog),
    tokensTable(decoders.tokens),
    kgdExportsTable(),
    auditTable(
      deps.audit,
      decoders.audit,
      purgeFollower({ sweep, retention: config.retention, marks, destroyed, log }),
    ),
  ];
}

/**
 * A record no table can read (a global table's or the registry view's), or an event refused for
 * want of the cluster key's signature: counted and logged on every instance that passes it.
 */
export function skippedRecords(
  metrics: Pick<Metrics, 'recordSkipped' | 'recordRefused'>,
  log: Logger,
): GlobalTablesDeps['skipped'] {
  return (message, error, refused) => {
    if (refused !== undefined) {
      metrics.recordRefused(message.topic, refused);
      log.error(
        { topic: message.topic, partition: message.partition, offset: message.offset, error },
        "an internal event without the cluster key's signature: refused (the DLQ gets it once per cluster)",
      );
      return;
    }
    metrics.recordSkipped(message);
    log.warn(
      { topic: message.topic, partition: message.partition, offset: message.offset, error },
      'a table record no table can read: passed (the DLQ gets it once per cluster)',
    );
  };
}

export interface PurgesAheadDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly store: Store;
  readonly reader: Pick<PartitionLog, 'readToEnd'>;
  readonly marks: PurgeMarkIndex;
  readonly destroyed: (kind: DestroyedKind, count: number) => void;
  /** The audit topic's verifying decoder: only a signed purge order is one. */
  readonly decode: TableDecoders['audit'];
}

/**
 * Purges this instance missed are recorded before any decision they removed is applied again.
 * Failing that (the audit topic too long to read in time), the tables carry them out as they
 * read them: a decision KGD sent after a purge may then be removed with it, never the reverse.
 */
export async function readPurgesAhead(deps: PurgesAheadDeps): Promise<void> {
  const { config, log, store, reader, marks, destroyed, decode } = deps;
  const retention = config.retention;
  await primePurges({ store, reader, topic: config.topics.audit, decode, retention, marks, destroyed }).catch(
    (error: unknown) =>
      log.warn(
        { err: error },
        'purges not read ahead of the global tables; they apply as the tables reach them',
      ),
  );
}
