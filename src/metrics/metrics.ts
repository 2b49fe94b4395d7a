/**
 * Prometheus metrics (DESIGN.md §5), all prefixed `imeiflow_`, in an injected registry (never
 * prom-client's global one). The pipeline reports per batch through PipelineObserver, the control
 * plane through `httpDuration`, `refused` and `accountBlocked`: their counters and histograms are
 * declared below, one field each. Gauges that describe a component's state (the pool, queues,
 * waiting requests, LMDB, the brokers) are declared beside the component that owns them
 * (src/runtime/component.ts), registered when it starts and read when Prometheus scrapes.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { DESTROYED_KINDS, type DestroyedKind } from '../domain/retention.js';
import type { PipelineObserver, RecordPosition } from '../pipeline/observer.js';
import type { OutcomeCounts } from '../pool/batch-contract.js';
import type { Gauge as GaugeDeclaration, GaugeRegistry } from '../runtime/component.js';
import { REFUSAL_REASONS, type RefusalReason } from '../security/access-refusals.js';
import type { SignatureProblem } from '../security/signed-events.js';

export const PREFIX = 'imeiflow_';

/** A metric as data: its name without the prefix, its help, its labels; histograms their buckets. */
interface Declared<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly L[];
}

interface DeclaredHistogram<L extends string> extends Declared<L> {
  readonly buckets: readonly number[];
}

const config = <L extends string>(registry: Registry, declared: Declared<L>) => ({
  name: `${PREFIX}${declared.name}`,
  help: declared.help,
  labelNames: declared.labelNames ?? [],
  registers: [registry],
});

function counter<L extends string = never>(registry: Registry, declared: Declared<L>): Counter<L> {
  return new Counter<L>(config(registry, declared));
}

function histogram<L extends string = never>(
  registry: Registry,
  declared: DeclaredHistogram<L>,
): Histogram<L> {
  return new Histogram<L>({ ...config(registry, declared), buckets: [...declared.buckets] });
}

function gauge<L extends string = never>(registry: Registry, declared: Declared<L>): Gauge<L> {
  return new Gauge<L>(config(registry, declared));
}

/**
 * How many positions of passed records the counter remembers: a flood of unreadable records must
 * not grow the process without bound (about 10 MB here). Past it the memory starts again, and a
 * record read again later may be counted again.
 */
const SKIPPED_POSITIONS_KEPT = 100_000;

export class Metrics implements PipelineObserver, GaugeRegistry {
  readonly registry = new Registry();
  /** Each registered gauge's name, and what it reads now (the last registration's). */
  readonly #gauges = new Map<string, GaugeDeclaration>();

  // ── the pipeline's, per batch (PipelineObserver) ──────────────────────────────────────────
  readonly #consumed = counter(this.registry, {
    name: 'messages_consumed_total',
    help: 'Messages consumed, by topic',
    labelNames: ['topic'],
  });
  readonly #outcomes = counter(this.registry, {
    name: 'outcomes_total',
    help: 'Outcomes published, by outcome and reason (evidence for confirmations)',
    labelNames: ['outcome', 'reason'],
  });
  readonly #dlq = counter(this.registry, { name: 'dlq_total', help: 'Messages sent to the DLQ' });
  readonly #latency = histogram(this.registry, {
    name: 'end_to_end_latency_seconds',
    help: 'From the request message timestamp to its outputs being delivered',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  });
  readonly #batchSize = histogram(this.registry, {
    name: 'batch_size',
    help: 'Messages per verified batch',
    buckets: [1, 8, 32, 128, 256, 512, 1024, 2048, 4096, 8192],
  });
  readonly #taskDuration = histogram(this.registry, {
    name: 'worker_task_duration_seconds',
    help: 'Time to verify one batch in the worker pool, queueing included',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  });
  readonly #journalDuration = histogram(this.registry, {
    name: 'journal_append_duration_seconds',
    help: 'From a batch decided to its journal record acknowledged: the wait for earlier batches to be delivered (the journal window) and the append',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  });
  readonly #lag = gauge(this.registry, {
    name: 'consumer_lag',
    help: 'Messages behind the end of each assigned partition (librdkafka statistics)',
    labelNames: ['topic', 'partition'],
  });
  readonly #journalSeq = gauge(this.registry, {
    name: 'journal_seq',
    help: 'Sequence number of the last journaled batch, by partition',
    labelNames: ['partition'],
  });
  readonly #inputLost = counter(this.registry, {
    name: 'input_lost_total',
    help: 'Input messages the broker deleted before they were read',
    labelNames: ['topic'],
  });
  readonly #resultsUnrouted = counter(this.registry, {
    name: 'results_unrouted_total',
    help:
      'Results of requests naming an operator without a results topic of its own (results.operators), ' +
      'published on the shared results topic',
  });
  readonly #recordsSkipped = counter(this.registry, {
    name: 'internal_records_skipped_total',
    help: 'Records of an internal topic no table or recovery could read, each counted once by every instance that passes it (the DLQ gets each once per cluster)',
    labelNames: ['topic'],
  });
  /** Positions already counted by #recordsSkipped (at most SKIPPED_POSITIONS_KEPT). */
  readonly #skippedPositions = new Set<string>();
  readonly #recordsRefused = counter(this.registry, {
    name: 'internal_records_refused_total',
    help:
      "Events of the tokens, audit or commands topic refused by this instance for want of the cluster key's " +
      'signature (reason unsigned or bad-signature: src/security/signed-events.ts); the DLQ gets each once per cluster',
    labelNames: ['topic', 'reason'],
  });
  readonly #destroyed = counter(this.registry, {
    name: 'retention_destroyed_total',
    help: 'Records destroyed by retention or a purge, by kind (src/retention/retention-sweep.ts)',
    labelNames: ['kind'],
  });

  // ── the control plane's ───────────────────────────────────────────────────────────────────
  // No account or address label: /metrics is open, and names and addresses are the audit's.
  readonly #refusals = counter(this.registry, {
    name: 'access_refusals_total',
    help: 'Control-plane requests refused: authentication (missing, unknown, revoked, expired, blocked, certificate), role (forbidden), tenancy (unbound) or rate limit (rate-limited)',
    labelNames: ['reason'],
  });
  readonly #accountsBlocked = counter(this.registry, {
    name: 'accounts_blocked_total',
    help: 'Accounts this instance blocked for too many refused requests (seed 001 §19)',
  });
  readonly httpDuration = histogram(this.registry, {
    name: 'http_request_duration_seconds',
    help: 'Control plane request duration',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
    // Every label value a rate is taken of exists from the start, at 0.
    for (const kind of DESTROYED_KINDS) this.#destroyed.inc({ kind }, 0);
    for (const reason of REFUSAL_REASONS) this.#refusals.inc({ reason }, 0);
  }

  /**
   * A component's gauges (src/runtime/component.ts), read when Prometheus scrapes. Idempotent: a
   * gauge registered again (a component built anew on the same registry) reads the new one.
   */
  register(gauges: readonly GaugeDeclaration[]): void {
    for (const declared of gauges) {
      const known = this.#gauges.has(declared.name);
      this.#gauges.set(declared.name, declared);
      if (known) continue;
      const current = this.#gauges;
      const label = declared.label;
      new Gauge({
        ...config(this.registry, { name: declared.name, help: declared.help }),
        labelNames: label === undefined ? [] : [label],
        async collect() {
          const value = await current.get(declared.name)?.read();
          if (typeof value === 'number') this.set(value);
          else if (value !== undefined && label !== undefined)
            for (const [labelValue, n] of Object.entries(value)) this.set({ [label]: labelValue }, n);
        },
      });
    }
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

  journalAppended(partition: number, seq: number, durationSeconds: number): void {
    this.#journalSeq.set({ partition: String(partition) }, seq);
    this.#journalDuration.observe(durationSeconds);
  }

  inputLost(topic: string, count: number): void {
    this.#inputLost.inc({ topic }, count);
  }

  resultsUnrouted(count: number): void {
    this.#resultsUnrouted.inc(count);
  }

  /**
   * A record of an internal topic no table or recovery could read was passed
   * (src/pipeline/table-decoders.ts, src/pipeline/recovery.ts). Counted once per position: the
   * pending changelog and БДИК's confirmations are read both by a table and by a restore, and a
   * restore reads the journal's last records again each time, so one record reaches here more than
   * once (CI on 32e75a8 counted an unreadable pending changelog record twice on one instance).
   */
  recordSkipped(message: RecordPosition): void {
    const position = `${message.topic}[${message.partition}]@${message.offset}`;
    if (this.#skippedPositions.has(position)) return;
    if (this.#skippedPositions.size >= SKIPPED_POSITIONS_KEPT) this.#skippedPositions.clear();
    this.#skippedPositions.add(position);
    this.#recordsSkipped.inc({ topic: message.topic });
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
