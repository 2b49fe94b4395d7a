/**
 * Prometheus metrics (DESIGN.md §5), all prefixed `imeiflow_`, in an injected registry (never
 * prom-client's global one). The pipeline reports per batch through PipelineObserver; gauges
 * that describe state (pool, queues, pending, LMDB) are read when Prometheus scrapes.
 */
import { statSync } from 'node:fs';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type DeadlinePolicy, stageDeadline, type WaitingStage } from '../domain/deadline.js';
import { dueExportMonth, monthTimestamp } from '../domain/kgd-export.js';
import { DESTROYED_KINDS, type DestroyedKind } from '../domain/retention.js';
import { type CalendarData, calendarCoveredUntil } from '../domain/working-day.js';
import type { PipelineObserver } from '../pipeline/observer.js';
import type { OutcomeCounts } from '../pool/batch-contract.js';
import { REFUSAL_REASONS, type RefusalReason } from '../security/access-refusals.js';
import type { SignatureProblem } from '../security/signed-events.js';
import { latestKgdExport } from '../store/kgd-exports.js';
import { scanPending } from '../store/pending-scan.js';
import type { Store } from '../store/store.js';

export const PREFIX = 'imeiflow_';

/** What the scrape-time gauges read; wired by the composition root once the parts exist. */
export interface MetricSources {
  pool?: { readonly utilization: number; readonly inFlight: number; readonly capacity: number };
  producerQueued?: () => number;
  /** The brokers answered the last metadata request in time (src/kafka/broker-watch.ts). */
  kafkaReachable?: () => boolean;
  queuedMessages?: () => number;
  ownedPartitions?: () => readonly number[];
  store?: Store;
  /** The working-day calendar (config `pending.calendar`): how far ahead it is known. */
  calendar?: { readonly data: CalendarData; readonly utcOffsetMinutes: number };
  /** For review entries of earlier builds, stored without a deadline (src/domain/deadline.ts). */
  deadlines?: DeadlinePolicy;
  /** KGD's monthly export (seed 000 §11): months are Astana's (`pending.utcOffsetMinutes`). */
  kgdExport?: { readonly utcOffsetMinutes: number };
}

/** Counting waiting requests scans the pending store: at most this often. */
const PENDING_SCAN_INTERVAL_MS = 5_000;

interface PendingCounts {
  readonly awaiting: number;
  readonly review: number;
  readonly stages: Readonly<Record<WaitingStage, StageFigures>>;
}

/** What one scan finds about the waiting requests of one stage. */
interface StageFigures {
  /** When the oldest waiting request started waiting (ms since epoch); null: none waits. */
  readonly oldestSinceMs: number | null;
  /** Requests past their stage's deadline at the scan. */
  readonly pastDeadline: number;
  /** How far past its deadline the most overdue request was at the scan (seconds; 0: none). */
  readonly mostOverdueSeconds: number;
}

const WAITING_STAGES: readonly WaitingStage[] = ['awaiting_kgd', 'review'];
const NO_FIGURES: StageFigures = { oldestSinceMs: null, pastDeadline: 0, mostOverdueSeconds: 0 };

export class Metrics implements PipelineObserver {
  readonly registry = new Registry();
  readonly sources: MetricSources = {};
  readonly #consumed: Counter<'topic'>;
  readonly #outcomes: Counter<'outcome' | 'reason'>;
  readonly #dlq: Counter;
  readonly #latency: Histogram;
  readonly #batchSize: Histogram;
  readonly #taskDuration: Histogram;
  readonly #lag: Gauge<'topic' | 'partition'>;
  readonly #journalSeq: Gauge<'partition'>;
  readonly #inputLost: Counter<'topic'>;
  readonly #recordsSkipped: Counter<'topic'>;
  readonly #recordsRefused: Counter<'topic' | 'reason'>;
  readonly #destroyed: Counter<'kind'>;
  readonly #refusals: Counter<'reason'>;
  readonly #accountsBlocked: Counter;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  #pendingCounts: PendingCounts = {
    awaiting: 0,
    review: 0,
    stages: { awaiting_kgd: NO_FIGURES, review: NO_FIGURES },
  };
  #pendingScannedAt = 0;
  #pendingScan: Promise<PendingCounts> | undefined;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
    this.#consumed = new Counter({
      name: `${PREFIX}messages_consumed_total`,
      help: 'Messages consumed, by topic',
      labelNames: ['topic'],
      registers,
    });
    this.#outcomes = new Counter({
      name: `${PREFIX}outcomes_total`,
      help: 'Outcomes published, by outcome and reason (evidence for confirmations)',
      labelNames: ['outcome', 'reason'],
      registers,
    });
    this.#dlq = new Counter({ name: `${PREFIX}dlq_total`, help: 'Messages sent to the DLQ', registers });
    this.#latency = new Histogram({
      name: `${PREFIX}end_to_end_latency_seconds`,
      help: 'From the request message timestamp to its outputs being delivered',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.#batchSize = new Histogram({
      name: `${PREFIX}batch_size`,
      help: 'Messages per verified batch',
      buckets: [1, 8, 32, 128, 256, 512, 1024, 2048, 4096, 8192],
      registers,
    });
    this.#taskDuration = new Histogram({
      name: `${PREFIX}worker_task_duration_seconds`,
      help: 'Time to verify one batch in the worker pool, queueing included',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.#lag = new Gauge({
      name: `${PREFIX}consumer_lag`,
      help: 'Messages behind the end of each assigned partition (librdkafka statistics)',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.#journalSeq = new Gauge({
      name: `${PREFIX}journal_seq`,
      help: 'Sequence number of the last journaled batch, by partition',
      labelNames: ['partition'],
      registers,
    });
    this.#inputLost = new Counter({
      name: `${PREFIX}input_lost_total`,
      help: 'Input messages the broker deleted before they were read',
      labelNames: ['topic'],
      registers,
    });
    this.#recordsSkipped = new Counter({
      name: `${PREFIX}internal_records_skipped_total`,
      help: 'Records of an internal topic no table could read, passed by this instance (the DLQ gets each once per cluster)',
      labelNames: ['topic'],
      registers,
    });
    this.#recordsRefused = new Counter({
      name: `${PREFIX}internal_records_refused_total`,
      help:
        "Events of the tokens or audit topic refused by this instance for want of the cluster key's signature " +
        '(reason unsigned or bad-signature: src/security/signed-events.ts); the DLQ gets each once per cluster',
      labelNames: ['topic', 'reason'],
      registers,
    });
    this.#destroyed = new Counter({
      name: `${PREFIX}retention_destroyed_total`,
      help: 'Records destroyed by retention or a purge, by kind (src/retention/retention-sweep.ts)',
      labelNames: ['kind'],
      registers,
    });
    for (const kind of DESTROYED_KINDS) this.#destroyed.inc({ kind }, 0);
    // No account or address label: /metrics is open, and names and addresses are the audit's.
    this.#refusals = new Counter({
      name: `${PREFIX}access_refusals_total`,
      help: 'Control-plane requests refused: authentication (missing, unknown, revoked, expired, blocked, certificate), role (forbidden), tenancy (unbound) or rate limit (rate-limited)',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of REFUSAL_REASONS) this.#refusals.inc({ reason }, 0);
    this.#accountsBlocked = new Counter({
      name: `${PREFIX}accounts_blocked_total`,
      help: 'Accounts this instance blocked for too many refused requests (seed 001 §19)',
      registers,
    });
    this.httpDuration = new Histogram({
      name: `${PREFIX}http_request_duration_seconds`,
      help: 'Control plane request duration',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers,
    });

    const sources = this.sources;
    new Gauge({
      name: `${PREFIX}pool_utilization`,
      help: 'Share of the worker pool busy since start (0 to 1)',
      registers,
      collect() {
        if (sources.pool) this.set(sources.pool.utilization);
      },
    });
    new Gauge({
      name: `${PREFIX}pool_queue_depth`,
      help: 'Batches running or queued in the worker pool',
      registers,
      collect() {
        if (sources.pool) this.set(sources.pool.inFlight);
      },
    });
    new Gauge({
      name: `${PREFIX}pool_capacity`,
      help: 'Batches the worker pool takes before the pipeline waits',
      registers,
      collect() {
        if (sources.pool) this.set(sources.pool.capacity);
      },
    });
    new Gauge({
      name: `${PREFIX}producer_queue_depth`,
      help: 'Messages handed to the Kafka producer and not yet delivered',
      registers,
      collect() {
        if (sources.producerQueued) this.set(sources.producerQueued());
      },
    });
    new Gauge({
      name: `${PREFIX}kafka_connected`,
      help: 'Whether the Kafka brokers answer: 1 when the last metadata request was answered in time, 0 when not',
      registers,
      collect() {
        if (sources.kafkaReachable) this.set(sources.kafkaReachable() ? 1 : 0);
      },
    });
    new Gauge({
      name: `${PREFIX}consumer_queue_depth`,
      help: 'Messages fetched and waiting for their partition’s next batch',
      registers,
      collect() {
        if (sources.queuedMessages) this.set(sources.queuedMessages());
      },
    });
    new Gauge({
      name: `${PREFIX}partitions_owned`,
      help: 'Request partitions this instance owns',
      registers,
      collect() {
        if (sources.ownedPartitions) this.set(sources.ownedPartitions().length);
      },
    });
    const pendingGauge = (
      name: string,
      help: string,
      pick: (c: { awaiting: number; review: number }) => number,
    ) =>
      new Gauge({
        name: `${PREFIX}${name}`,
        help,
        registers,
        collect: async () => {
          const gauge = this.registry.getSingleMetric(`${PREFIX}${name}`) as Gauge;
          gauge.set(pick(await this.#pendingCountsNow()));
        },
      });
    pendingGauge('pending_requests', 'Requests waiting for a KGD decision', (c) => c.awaiting);
    pendingGauge('review_requests', 'Requests waiting for a reviewer', (c) => c.review);
    const stageGauge = (name: string, help: string, pick: (f: StageFigures, now: number) => number) =>
      new Gauge({
        name: `${PREFIX}${name}`,
        help,
        labelNames: ['stage'],
        registers,
        collect: async () => {
          const gauge = this.registry.getSingleMetric(`${PREFIX}${name}`) as Gauge<'stage'>;
          const { stages } = await this.#pendingCountsNow();
          const now = Date.now();
          for (const stage of WAITING_STAGES) gauge.set({ stage }, pick(stages[stage], now));
        },
      });
    stageGauge(
      'waiting_oldest_age_seconds',
      'Age of the oldest waiting request of each stage, since it started waiting (0: none waits)',
      (f, now) => (f.oldestSinceMs === null ? 0 : Math.max(0, (now - f.oldestSinceMs) / 1000)),
    );
    stageGauge(
      'waiting_past_deadline',
      "Waiting requests past their stage's deadline (one working day each: KGD's, then the reviewer's)",
      (f) => f.pastDeadline,
    );
    stageGauge(
      'waiting_most_overdue_seconds',
      'How far past its deadline the most overdue waiting request of each stage is (0: none)',
      (f) => f.mostOverdueSeconds,
    );
    new Gauge({
      name: `${PREFIX}calendar_covered_until_timestamp_seconds`,
      help: 'End of the working-day calendar: 1 January (Astana) of the first year from now on it does not hold completely',
      registers,
      collect() {
        const calendar = sources.calendar;
        if (calendar === undefined) return;
        this.set(calendarCoveredUntil(calendar.data, new Date(), calendar.utcOffsetMinutes).getTime() / 1000);
      },
    });
    // Months as 00:00 UTC on their first day (src/domain/kgd-export.ts): the two compare directly.
    new Gauge({
      name: `${PREFIX}kgd_export_last_month_timestamp_seconds`,
      help: 'The latest month whose KGD monthly export is loaded, as 00:00 UTC on its first day (0: none)',
      registers,
      collect() {
        const store = sources.store;
        if (store === undefined || sources.kgdExport === undefined) return;
        const last = latestKgdExport(store);
        this.set(last === undefined ? 0 : monthTimestamp(last.month).getTime() / 1000);
      },
    });
    new Gauge({
      name: `${PREFIX}kgd_export_expected_month_timestamp_seconds`,
      help: 'The month whose KGD export should be loaded by now (due by the 5th of the next month, Astana time), as 00:00 UTC on its first day',
      registers,
      collect() {
        const kgd = sources.kgdExport;
        if (kgd === undefined) return;
        this.set(monthTimestamp(dueExportMonth(new Date(), kgd.utcOffsetMinutes)).getTime() / 1000);
      },
    });
    new Gauge({
      name: `${PREFIX}lmdb_size_bytes`,
      help: 'Size of the LMDB file',
      registers,
      collect() {
        if (!sources.store) return;
        try {
          this.set(statSync(sources.store.path).size);
        } catch {
          this.set(0);
        }
      },
    });
    new Gauge({
      name: `${PREFIX}index_entries`,
      help: 'Entries per LMDB store',
      labelNames: ['store'],
      registers,
      collect() {
        const store = sources.store;
        if (!store) return;
        for (const name of [
          'tac',
          'blocklist',
          'declarations',
          'applications',
          'registry',
          'pending',
          'outcomes',
        ] as const) {
          this.set({ store: name }, (store[name].getStats() as { entryCount: number }).entryCount);
        }
      },
    });
  }

  /** Every pending gauge of one scrape shares one scan (and scans at most every few seconds). */
  #pendingCountsNow(): Promise<PendingCounts> {
    const now = Date.now();
    if (this.#pendingScan === undefined && now - this.#pendingScannedAt >= PENDING_SCAN_INTERVAL_MS) {
      this.#pendingScannedAt = now;
      this.#pendingScan = this.#countPending().finally(() => {
        this.#pendingScan = undefined;
      });
    }
    return this.#pendingScan ?? Promise.resolve(this.#pendingCounts);
  }

  async #countPending(): Promise<PendingCounts> {
    const store = this.sources.store;
    if (store === undefined) return this.#pendingCounts;
    const owned = this.sources.ownedPartitions?.();
    const counts = { awaiting: 0, review: 0 };
    const stages = {
      awaiting_kgd: { oldestSinceMs: Number.POSITIVE_INFINITY, pastDeadline: 0, mostOverdueMs: 0 },
      review: { oldestSinceMs: Number.POSITIVE_INFINITY, pastDeadline: 0, mostOverdueMs: 0 },
    };
    const mine = owned === undefined ? undefined : new Set(owned);
    const policy = this.sources.deadlines;
    const now = Date.now();
    for await (const [, entries] of scanPending(store)) {
      for (const entry of entries) {
        if (mine !== undefined && !mine.has(entry.partition)) continue;
        if (entry.stage === 'review') counts.review++;
        else counts.awaiting++;
        const figures = stages[entry.stage];
        figures.oldestSinceMs = Math.min(figures.oldestSinceMs, Date.parse(entry.since));
        const deadline = entry.deadline ?? (policy === undefined ? null : stageDeadline(entry, policy));
        const overdueMs = deadline === null ? 0 : now - Date.parse(deadline);
        if (overdueMs > 0) {
          figures.pastDeadline++;
          figures.mostOverdueMs = Math.max(figures.mostOverdueMs, overdueMs);
        }
      }
    }
    const figuresOf = (f: (typeof stages)['review']): StageFigures => ({
      oldestSinceMs: Number.isFinite(f.oldestSinceMs) ? f.oldestSinceMs : null,
      pastDeadline: f.pastDeadline,
      mostOverdueSeconds: f.mostOverdueMs / 1000,
    });
    this.#pendingCounts = {
      ...counts,
      stages: { awaiting_kgd: figuresOf(stages.awaiting_kgd), review: figuresOf(stages.review) },
    };
    return this.#pendingCounts;
  }

  // ── PipelineObserver: called per batch ────────────────────────────────────────────────────

  consumed(topic: string, count: number): void {
    this.#consumed.inc({ topic }, count);
  }

  batchDecided(size: number, durationSeconds: number): void {
    this.#batchSize.observe(size);
    this.#taskDuration.observe(durationSeconds);
  }

  outcomes(counts: OutcomeCounts): void {
    for (const [outcome, reason, n] of counts) {
      if (outcome === 'dlq') this.#dlq.inc(n);
      // A purge decided by a partition's owner: what it destroyed (src/pool/batch-writer.ts).
      else if (outcome === 'destroyed') this.#destroyed.inc({ kind: reason }, n);
      else this.#outcomes.inc({ outcome, reason: outcome === 'revoked' ? '' : reason }, n);
    }
  }

  /** What the retention sweep (or a purge on this instance) destroyed. */
  destroyed(kind: DestroyedKind, count: number): void {
    this.#destroyed.inc({ kind }, count);
  }

  /** A control-plane request refused (src/security/access-refusals.ts). */
  refused(reason: RefusalReason): void {
    this.#refusals.inc({ reason });
  }

  accountBlocked(): void {
    this.#accountsBlocked.inc();
  }

  delivered(inputTimestamps: readonly number[], now: number): void {
    for (const at of inputTimestamps) this.#latency.observe(Math.max(0, now - at) / 1000);
  }

  journalAppended(partition: number, seq: number): void {
    this.#journalSeq.set({ partition: String(partition) }, seq);
  }

  inputLost(topic: string, count: number): void {
    this.#inputLost.inc({ topic }, count);
  }

  /** A global-table record no table could read was passed (src/pipeline/table-decoders.ts). */
  recordSkipped(topic: string): void {
    this.#recordsSkipped.inc({ topic });
  }

  /** An event of a signed topic without a valid signature was refused (src/security/signed-events.ts). */
  recordRefused(topic: string, reason: SignatureProblem): void {
    this.#recordsRefused.inc({ topic, reason });
  }

  /** librdkafka's statistics JSON (consumer): per-partition lag. */
  kafkaStatistics(json: string): void {
    let stats: { topics?: Record<string, { partitions?: Record<string, { consumer_lag?: number }> }> };
    try {
      stats = JSON.parse(json) as typeof stats;
    } catch {
      return;
    }
    for (const [topic, t] of Object.entries(stats.topics ?? {})) {
      for (const [partition, p] of Object.entries(t.partitions ?? {})) {
        // librdkafka reports the internal UA partition as -1, and -1 lag when unknown.
        if (partition === '-1' || p.consumer_lag === undefined || p.consumer_lag < 0) continue;
        this.#lag.set({ topic, partition }, p.consumer_lag);
      }
    }
  }
}
