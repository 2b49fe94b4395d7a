/**
 * The composition root of `imeiflow run`: the service's components, in the order they start
 * (src/runtime/component.ts). Each takes what it needs from those before it; the process policy
 * (src/runtime/process-policy.ts) stops them in the reverse order, once, with a deadline —
 * readiness 503 first, then stop fetching, drain, commit, disconnect, close LMDB — and the
 * service is ready when every component is (src/runtime/lifecycle.ts).
 */
import type { FastifyInstance } from 'fastify';
import { CalendarWatch } from './components/calendar-watch.js';
import { clusterSigning } from './components/cluster-signing.js';
import { ControlPlane } from './components/control-plane.js';
import { ProducerClient, ReaderClient } from './components/kafka-clients.js';
import { KafkaConnection } from './components/kafka-connection.js';
import { LmdbStore } from './components/lmdb-store.js';
import { RequestPipelineComponent } from './components/request-pipeline.js';
import { readPurgesAhead, serviceTables, skippedRecords } from './components/service-tables.js';
import { TopicLayout } from './components/topic-layout.js';
import { WorkerPool } from './components/worker-pool.js';
import { type Config, deadlinePolicy } from './config/config.js';
import type { DestroyedKind } from './domain/retention.js';
import { messageOf } from './errors.js';
import { BROKER_CHECK, BrokerWatch, logReachability } from './kafka/broker-watch.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics/metrics.js';
import { KafkaCommandSender } from './pipeline/command-sender.js';
import { DeadlineTimer } from './pipeline/deadline-timer.js';
import { GlobalTables } from './pipeline/global-tables.js';
import { RecordValidator } from './pipeline/record-validator.js';
import { RegistryView } from './pipeline/registry-view.js';
import { RetentionSweep } from './retention/retention-sweep.js';
import { Lifecycle } from './runtime/lifecycle.js';
import { ProcessPolicy } from './runtime/process-policy.js';
import { AuditLog, kafkaAuditPublisher } from './security/audit-log.js';
import { kafkaTokenPublisher } from './security/token-events.js';
import { TokenService } from './security/tokens.js';
import { PurgeMarkIndex } from './store/purge-marks.js';

/** For the command line and the tests, which knew them here. */
export { EXIT_FATAL, EXIT_STORE_FULL, fatalErrorOf } from './runtime/process-policy.js';

export interface Service {
  readonly http: FastifyInstance;
  readonly bootstrapServers: string;
  readonly embedded: boolean;
  readonly address: string;
  /**
   * Memoised: every call returns the same promise. True when every step closed cleanly; false
   * when one failed (logged), so the process does not report a clean stop it did not make.
   */
  shutdown(reason: string): Promise<boolean>;
}

/** What every component is started with. */
interface Wiring {
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly parts: Lifecycle;
  readonly onFatal: (error: unknown) => void;
}

export async function startService(config: Config, log: Logger, metrics = new Metrics()): Promise<Service> {
  const policy = new ProcessPolicy({
    log,
    dataDir: config.dataDir,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
  });
  const parts = new Lifecycle(policy, metrics);
  const wiring: Wiring = { config, log, metrics, parts, onFatal: policy.onFatal };
  try {
    await parts.start(policy);
    await parts.start(new CalendarWatch({ ...config.pending, log }));
    const shared = await startShared(wiring);
    const { http, address } = await startProcessing(wiring, shared);
    const { bootstrapServers, embedded } = shared.kafka;
    return { http, address, bootstrapServers, embedded, shutdown: policy.shutdown };
  } catch (error) {
    await policy.shutdown(`start-up failed: ${messageOf(error)}`);
    throw error;
  }
}

/** What the processing components share: the store, Kafka and its clients, the worker pool. */
type Shared = Awaited<ReturnType<typeof startShared>>;

async function startShared({ config, log, parts, onFatal }: Wiring) {
  const { dataDir, topics } = config;
  const { store, encryptionKey } = await parts.start(new LmdbStore(config));
  const { signer, verifier, decoders } = clusterSigning(config, log);
  const kafka = await parts.start(new KafkaConnection(config));
  const { producer } = await parts.start(new ProducerClient(kafka.settings));
  const onChange = logReachability(log, kafka.bootstrapServers, BROKER_CHECK.timeoutMs);
  const brokers = await parts.start(new BrokerWatch(producer.client, { ...BROKER_CHECK, onChange }));
  // Cluster-wide: entries and token changes go through Kafka; every instance applies them.
  const audit = new AuditLog(store, dataDir, kafkaAuditPublisher(producer, topics.audit, signer));
  await parts.start({ name: 'audit log', stop: () => audit.close() });
  const tokenPublisher = kafkaTokenPublisher(producer, topics.tokens, signer);
  const tokens = new TokenService(store, config.security.tokenIdleDays, tokenPublisher);
  const { embedded, settings } = kafka;
  const layout = new TopicLayout({ config, kafka: settings, embedded, producer, store, brokers, onFatal });
  const { partitions } = await parts.start(layout);
  const { reader } = await parts.start(new ReaderClient(settings, config.kafka.groupId));
  const { pool } = await parts.start(new WorkerPool(config, encryptionKey));
  const commands = new KafkaCommandSender(producer, topics.commands, partitions, signer);
  return { store, kafka, producer, audit, tokens, partitions, reader, pool, commands, decoders, verifier };
}

/** The global tables, the pipeline and its timers, then the control plane, listening last. */
async function startProcessing({ config, log, metrics, parts, onFatal }: Wiring, shared: Shared) {
  const { store, kafka, producer, audit, partitions, reader, commands, decoders } = shared;
  const base = { config, kafka: kafka.settings, store, log, partitions, onFatal };
  const requests = new RequestPipelineComponent({
    ...base,
    pool: shared.pool,
    producer,
    reader,
    observer: metrics,
    onOwnership: (owned) => registryView.owned(owned),
    verifier: shared.verifier,
  });
  const ownedPartitions = () => requests.activePartitions;
  // Retention and purges (src/retention/): placed before the tables, whose audit entries order purges.
  const marks = PurgeMarkIndex.load(store);
  const destroyed = (kind: DestroyedKind, count: number) => metrics.destroyed(kind, count);
  const retention = config.retention;
  const sweep = parts.place(
    new RetentionSweep({ store, retention, commands, ownedPartitions, destroyed, log, marks }),
  );
  // The global tables' and the registry view's bad records: counted and logged here, in the DLQ
  // once per cluster (the record validator).
  const skipped = skippedRecords(metrics, log);
  const tables = new GlobalTables({
    ...base,
    tables: serviceTables({ config, log, audit, marks, sweep, destroyed, decoders }),
    onChanged: (changes) => requests.pipeline.indexChanged([...changes.bodies], [...changes.applications]),
    consumed: (topic, count) => metrics.consumed(topic, count),
    skipped,
  });
  await readPurgesAhead({ config, log, store, reader, marks, destroyed, decode: decoders.audit });
  await parts.start(tables);
  const rejected = (_topic: string, count: number) => metrics.outcomes([['dlq', 'internal', count]]);
  const validator = new RecordValidator({ ...base, producer, reader, rejected, decoders });
  await parts.start({
    name: 'record validator',
    start: () => validator.start(),
    stop: () => validator.stop(),
  });
  const registryView = await parts.start(new RegistryView({ ...base, skipped }));
  await parts.start(requests);
  const intervalMs = config.pending.checkIntervalMs;
  const deadlines = deadlinePolicy(config);
  await parts.start(new DeadlineTimer({ store, commands, log, intervalMs, ownedPartitions, deadlines }));
  await parts.start(sweep);
  const controlPlane = new ControlPlane({
    config,
    log,
    store,
    partitions,
    tokens: shared.tokens,
    audit,
    metrics,
    commands,
    producer,
    pool: shared.pool,
    registryView,
    kafka,
    ownedPartitions,
    onStoreFull: onFatal,
    notReadyReason: parts.notReadyReason,
  });
  return parts.start(controlPlane);
}
