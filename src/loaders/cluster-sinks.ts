/**
 * Loads as cluster-wide state: a file's rows are published to the topics every instance reads
 * in full (src/pipeline/global-tables.ts), so a file uploaded to one instance, or loaded with the
 * CLI, changes the decisions of all of them. A KGD export becomes release decisions on
 * `kgd.release.decisions` — the same path as KGD's own messages, so requests already waiting on
 * every partition are re-evaluated and `revoked` rows revoke. A batch of rows counts as loaded
 * once Kafka has acknowledged it (the sink's write resolves on delivery): the report of a load
 * is what the cluster has.
 */
import type { DeclarationEntry, LocalProductionRecord, TacRecord } from '../domain/types.js';
import type { TopicNames } from '../kafka/topic-roles.js';
import type { OutgoingMessage, OutputSink } from '../pipeline/kafka-port.js';
import type { BlockRow } from './blocklist-loader.js';
import { type DeclarationRow, sameDecision } from './declarations-loader.js';
import type { RowSink } from './load-table.js';
import type { LocalProductionRow } from './local-production-loader.js';
import { type TacDeduplicator, tacDeduplicator } from './tac-loader.js';

/** Where cluster-wide loads go: imeiflow's producer and the configured topic names. */
export interface ClusterTarget {
  readonly sink: OutputSink;
  readonly topics: TopicNames;
}

/** An application's IMEIs per release-decision message: well below the topic's message size limit. */
export const MAX_IMEIS_PER_DECISION = 5000;

function json(topic: string, key: string, value: unknown): OutgoingMessage {
  // The partitioner places the key (murmur2, as KGD's and the operators' Java clients do).
  return { topic, partition: null, key, value: Buffer.from(JSON.stringify(value)) };
}

async function publish(target: ClusterTarget, messages: readonly OutgoingMessage[]): Promise<void> {
  if (messages.length > 0) await target.sink.send(messages);
}

export function tacClusterSink(target: ClusterTarget): RowSink<TacRecord> {
  const dedupe: TacDeduplicator = tacDeduplicator();
  return {
    async write(rows) {
      const { accepted, refused } = dedupe(rows);
      await publish(
        target,
        accepted.map((record) => json(target.topics.tac, record.tac, record)),
      );
      return refused;
    },
  };
}

export function blocklistClusterSink(target: ClusterTarget): RowSink<BlockRow> {
  return {
    async write(rows) {
      await publish(
        target,
        rows.map(({ value }) => json(target.topics.blocklist, value.body, value.entry)),
      );
      return [];
    },
  };
}

export function localProductionClusterSink(target: ClusterTarget): RowSink<LocalProductionRow> {
  return {
    async write(rows) {
      await publish(
        target,
        rows.map(({ value }) =>
          json(target.topics.localProduction, value.body, value.record satisfies LocalProductionRecord),
        ),
      );
      return [];
    },
  };
}

/** A release decision as KGD's own messages carry it (src/domain/release-decision.ts). */
export function releaseDecisionOf(
  entry: DeclarationEntry,
  bodies: readonly string[],
): Record<string, unknown> {
  return {
    applicationId: entry.applicationId,
    // An import from an EAEU member state has no procedure (seed 000 §4(6)).
    ...(entry.procedure === null ? { importKind: 'eaeu' } : { procedure: entry.procedure }),
    status: entry.status,
    hsCode: entry.hsCode,
    imeis: bodies,
    decidedAt: entry.decidedAt,
    ...(entry.grounds === undefined ? {} : { grounds: entry.grounds }),
  };
}

/**
 * Consecutive rows of one decision become one message (up to MAX_IMEIS_PER_DECISION IMEIs):
 * the declaration index merges an application's messages, so a file that lists an application
 * in several places, or a long one, loads the same as one message would.
 */
export function declarationsClusterSink(target: ClusterTarget): RowSink<DeclarationRow> {
  return {
    async write(rows) {
      const messages: OutgoingMessage[] = [];
      let entry: DeclarationEntry | undefined;
      let bodies: string[] = [];
      // A decision whose rows are all out of scope is still published, with no IMEI: every
      // instance records the application, so a request naming it is answered `hs_out_of_scope`.
      let withheld = false;
      const emit = (): void => {
        if (entry !== undefined && (bodies.length > 0 || withheld))
          messages.push(json(target.topics.decisions, entry.applicationId, releaseDecisionOf(entry, bodies)));
        bodies = [];
        withheld = false;
      };
      for (const { value } of rows) {
        if (
          entry === undefined ||
          !sameDecision(entry, value.entry) ||
          bodies.length >= MAX_IMEIS_PER_DECISION
        ) {
          emit();
          entry = value.entry;
        }
        if (value.body === null) withheld = true;
        else bodies.push(value.body);
      }
      emit();
      await publish(target, messages);
      return [];
    },
  };
}
