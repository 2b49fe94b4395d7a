/**
 * Prometheus metrics (DESIGN.md §5), all prefixed `imeiflow_`, in an injected registry (never
 * prom-client's global one). The pipeline reports per batch through PipelineObserver; gauges
 * that describe state (pool, queues, pending, LMDB) are read when Prometheus scrapes.
 */
import { statSync } from 'node:fs';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type CalendarData, calendarCoveredUntil } from '../domain/working-day.js';
import type { OutcomeCounts } from '../pipeline/batch-effects.js';
import type { PipelineObserver } from '../pipeline/observer.js';
import { scanPending } from '../store/pending-scan.js';
import type { Store } from '../store/store.js';

export const PREFIX = 'imeiflow_';

/** What the scrape-time gauges read; wired by the composition root once the parts exist. */
export interface MetricSources {
  pool?: { readonly utilization: number; readonly inFlight: number; readonly capacity: number };
  producerQueued?: () => number;
  queuedMessages?: () => number;
  ownedPartitions?: () => readonly number[];
  store?: Store;
  /** The working-day calendar (config `pending.calendar`): how far ahead it is known. */
  calendar?: { readonly data: CalendarData; readonly utcOffsetMinutes: number };
}

/** Counting waiting requests scans the pending store: at most this often. */
const PENDING_SCAN_INTERVAL_MS = 5_000;

interface PendingCounts {
  readonly awaiting: number;
  readonly review: number;
}

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
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  #pendingCounts: PendingCounts = { awaiting: 0, review: 0 };
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

  /** Both gauges of one scrape share one scan (and scans at most every few seconds). */
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
    const mine = owned === undefined ? undefined : new Set(owned);
    for await (const [, entries] of scanPending(store)) {
      for (const entry of entries) {
        if (mine !== undefined && !mine.has(entry.partition)) continue;
        if (entry.stage === 'review') counts.review++;
        else counts.awaiting++;
      }
    }
    this.#pendingCounts = counts;
    return counts;
  }

  // ── PipelineObserver: called per batch ────────────────────────────────────────────────────

  consumed(topic: string, count: number): void {
    this.#consumed.inc({ topic }, count);
  }

  batchVerified(size: number, durationSeconds: number): void {
    this.#batchSize.observe(size);
    this.#taskDuration.observe(durationSeconds);
  }

  outcomes(counts: OutcomeCounts): void {
    for (const [key, n] of counts) {
      if (key === 'dlq') {
        this.#dlq.inc(n);
        continue;
      }
      const split = key.indexOf(':');
      const outcome = split === -1 ? key : key.slice(0, split);
      const reason = split === -1 ? '' : key.slice(split + 1);
      this.#outcomes.inc({ outcome, reason }, n);
    }
  }

  delivered(latenciesSeconds: readonly number[]): void {
    for (const seconds of latenciesSeconds) this.#latency.observe(seconds);
  }

  journalAppended(partition: number, seq: number): void {
    this.#journalSeq.set({ partition: String(partition) }, seq);
  }

  inputLost(topic: string, count: number): void {
    this.#inputLost.inc({ topic }, count);
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
