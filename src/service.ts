/**
 * The composition root of `imeiflow run`: configuration → store → Kafka → pool → pipeline →
 * control plane, and one memoised shutdown that undoes it in order, with a deadline.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type Config, deadlinePolicy, workerCount } from './config/config.js';
import { workerSettings } from './config/worker-settings.js';
import { devicePartition } from './domain/device-partition.js';
import type { DestroyedKind } from './domain/retention.js';
import { calendarGaps } from './domain/working-day.js';
import { ImeiflowError, isImeiflowError, messageOf } from './errors.js';
import { buildControlPlane } from './http/app.js';
import { BrokerWatch } from './kafka/broker-watch.js';
import { type KafkaSettings, resolveKafkaSecurity } from './kafka/client.js';
import { DeliveringProducer } from './kafka/delivering-producer.js';
import { type EmbeddedCluster, startEmbeddedCluster } from './kafka/embedded-cluster.js';
import { announceEmbeddedCluster, withdrawEmbeddedCluster } from './kafka/embedded-cluster-file.js';
import { PartitionReader } from './kafka/partition-reader.js';
import { ensureTopics } from './kafka/topics.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics/metrics.js';
import { PACKAGE_ROOT } from './paths.js';
import { KafkaCommandSender } from './pipeline/command-sender.js';
import { DeadlineTimer } from './pipeline/deadline-timer.js';
import {
  auditTable,
  blocklistTable,
  declarationsTable,
  GlobalTables,
  kgdExportsTable,
  localProductionTable,
  reviewTable,
  tacTable,
  tokensTable,
} from './pipeline/global-tables.js';
import type { PipelineObserver } from './pipeline/observer.js';
import { RecordValidator } from './pipeline/record-validator.js';
import { RegistryView } from './pipeline/registry-view.js';
import { RequestPipeline } from './pipeline/request-pipeline.js';
import { tableDecoders } from './pipeline/table-decoders.js';
import { VerifyPool } from './pool/verify-pool.js';
import { primePurges, purgeFollower } from './retention/purge-orders.js';
import { RetentionSweep } from './retention/retention-sweep.js';
import { AuditLog, kafkaAuditPublisher } from './security/audit-log.js';
import { clusterKeysOf } from './security/cluster-key.js';
import { clusterVerifier, EventSigner } from './security/signed-events.js';
import { kafkaTokenPublisher, TokenService } from './security/tokens.js';
import { encryptionKeyOf } from './store/encryption.js';
import { PurgeMarkIndex } from './store/purge-marks.js';
import { openStore, type Store } from './store/store.js';
import { isStoreFull, storeFullError, withCommitReasons } from './store/store-full.js';

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

/** How often readiness asks the brokers for metadata, and how long an answer may take. */
const BROKER_CHECK_INTERVAL_MS = 2_000;
const BROKER_CHECK_TIMEOUT_MS = 5_000;
/** Exit codes of a fatal error (sysexits.h): a bug or a broken dependency, and a full store. */
export const EXIT_FATAL = 70;
export const EXIT_STORE_FULL = 74;
const STORE_FULL_GRACE_MS = 250;

/**
 * The error a fatal exit logs: a failed LMDB commit with its reason (lmdb-js keeps it apart), and
 * a store that cannot grow as STORE_FULL naming the data directory and what to do.
 */
export async function fatalErrorOf(error: unknown, dataDir: string): Promise<Error> {
  const explained = await withCommitReasons(error);
  if (isStoreFull(explained)) return storeFullError(dataDir, explained);
  return explained instanceof Error ? explained : new Error(String(explained));
}

export const VERSION = (
  JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

/** LMDB meta key: the device topics' partition count this instance's state was built with. */
const PARTITIONS_KEY = 'layout/partitions';

function partitionsChanged(topic: string, was: number, now: number): ImeiflowError {
  return new ImeiflowError(
    'PARTITIONS_CHANGED',
    `${topic} has ${now} partitions; this instance ran with ${was}. Every device's owner is computed from the partition count, so imeiflow stops rather than give a device two owners: put the count back, or see docs/operations.md, "Partitions"`,
  );
}

/**
 * The partition count must be the one this instance's state was built with (recorded on first
 * start): a count that grew while it was away is refused at start-up, as one that grows while it
 * runs stops it (the broker watch).
 */
function checkPartitionCount(store: Store, topic: string, partitions: number): void {
  const recorded = store.meta.get(PARTITIONS_KEY);
  if (typeof recorded === 'number' && recorded !== partitions)
    throw partitionsChanged(topic, recorded, partitions);
  if (recorded === undefined) store.meta.putSync(PARTITIONS_KEY, partitions);
}

export async function startService(
  config: Config,
  log: Logger,
  metrics: Metrics = new Metrics(),
): Promise<Service> {
  const observer: PipelineObserver = metrics;
  const steps: { name: string; close: () => Promise<void> | void }[] = [];
  let shuttingDown: Promise<boolean> | undefined;
  let fatal = false;

  const shutdown = (reason: string): Promise<boolean> => {
    shuttingDown ??= (async () => {
      let clean = true;
      log.info({ reason }, 'shutting down');
      const deadline = setTimeout(() => {
        log.error('shutdown deadline passed; exiting');
        process.exit(1);
      }, config.shutdownTimeoutMs + 5000);
      deadline.unref();
      // Reverse order of start; each step isolated so one failure does not skip the rest.
      for (const step of [...steps].reverse()) {
        try {
          await step.close();
        } catch (error) {
          clean = false;
          log.error({ step: step.name, err: error }, 'shutdown step failed');
        }
      }
      clearTimeout(deadline);
      log.info({ clean }, clean ? 'stopped' : 'stopped, with a failed step (see above)');
      return clean;
    })();
    return shuttingDown;
  };

  const onFatal = (error: unknown): void => {
    if (fatal) return;
    fatal = true;
    // Crash-only: the journal makes a restart safe, and guessing what a failed Kafka write did is not.
    void fatalErrorOf(error, config.dataDir).then((err) => {
      if (isImeiflowError(err, 'STORE_FULL')) {
        log.fatal({ err, code: err.code, dataDir: config.dataDir }, err.message);
        // A moment's grace lets the control plane answer the request that found the store full
        // (a load: 507). Nothing moves on meanwhile: a partition whose batch failed takes no
        // other (PartitionTask 'failed'), the global tables have stopped, and every write fails.
        setTimeout(() => process.exit(EXIT_STORE_FULL), STORE_FULL_GRACE_MS);
        return;
      }
      log.fatal(
        { err, code: (err as { code?: unknown }).code },
        'fatal pipeline error; exiting for a clean restart',
      );
      process.exit(EXIT_FATAL);
    });
  };
  // Anything thrown where nobody waits for it goes the same way, logged with its code and cause.
  const onUnhandled = (error: unknown): void => onFatal(error);
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  steps.push({
    name: 'fatal error handlers',
    close: () => {
      process.off('unhandledRejection', onUnhandled);
      process.off('uncaughtException', onUnhandled);
    },
  });

  // Deadlines count with the working-day calendar: say when it does not know this or next year.
  const { calendar, utcOffsetMinutes } = config.pending;
  metrics.sources.calendar = { data: calendar, utcOffsetMinutes };
  metrics.sources.kgdExport = { utcOffsetMinutes };
  metrics.sources.deadlines = deadlinePolicy(config);
  for (const { year, missing } of calendarGaps(calendar, new Date(), utcOffsetMinutes)) {
    log.warn(
      { year, missing },
      `the working-day calendar is incomplete for ${year}: deadlines may fall on a day off; add the dates to pending.calendar (README, "Working days")`,
    );
  }

  try {
    const encryptionKey = encryptionKeyOf(config);
    const store: Store = openStore({
      dataDir: config.dataDir,
      ...(encryptionKey === undefined ? {} : { encryptionKey }),
    });
    steps.push({ name: 'store', close: () => store.close() });
    metrics.sources.store = store;
    // The tokens and audit topics' events are signed with it and verified (src/security/signed-events.ts).
    const keys = clusterKeysOf(config, { create: true });
    const signer = new EventSigner(keys);
    const decoders = tableDecoders(clusterVerifier(keys, config.security.unsignedBefore));
    log.info(
      { keyFile: keys.file, signingKey: keys.signing.id, verifyingKeys: [...keys.verifying.keys()] },
      'internal events are signed with the cluster key',
    );

    let cluster: EmbeddedCluster | undefined;
    let bootstrapServers = config.kafka.brokers;
    if (bootstrapServers === null) {
      cluster = await startEmbeddedCluster(config.kafka.embeddedBrokers);
      steps.push({ name: 'embedded cluster', close: () => cluster?.stop() });
      bootstrapServers = cluster.bootstrapServers;
      // The CLI finds it here, to load and manage tokens through it while the service runs.
      announceEmbeddedCluster(config.dataDir, bootstrapServers);
      steps.push({ name: 'embedded cluster file', close: () => withdrawEmbeddedCluster(config.dataDir) });
    }
    const kafka: KafkaSettings = {
      bootstrapServers,
      clientId: config.kafka.clientId,
      // The embedded cluster speaks plaintext only (the configuration refuses anything else there).
      ...(cluster === undefined ? { security: resolveKafkaSecurity(config.kafka.security) } : {}),
    };

    const producer = await DeliveringProducer.connect(kafka, 'producer');
    steps.push({ name: 'producer', close: () => producer.close() });
    const brokers = new BrokerWatch(producer.client, {
      intervalMs: BROKER_CHECK_INTERVAL_MS,
      timeoutMs: BROKER_CHECK_TIMEOUT_MS,
      onChange: (reachable, since) => {
        const seconds = Math.round((Date.now() - since) / 1000);
        if (reachable) log.info({ unreachableSeconds: seconds }, 'the Kafka brokers answer again');
        else
          log.warn(
            { brokers: bootstrapServers, timeoutMs: BROKER_CHECK_TIMEOUT_MS },
            'the Kafka brokers do not answer: not ready until they do (nothing is lost meanwhile)',
          );
      },
    });
    brokers.start();
    steps.push({ name: 'broker watch', close: () => brokers.stop() });
    metrics.sources.kafkaReachable = () => brokers.reachable;
    // Cluster-wide: entries and token changes go through Kafka; every instance applies them.
    const audit = new AuditLog(
      store,
      config.dataDir,
      kafkaAuditPublisher(producer, config.topics.audit, signer),
    );
    steps.push({ name: 'audit log', close: () => audit.close() });
    const tokens = new TokenService(
      store,
      config.security.tokenIdleDays,
      kafkaTokenPublisher(producer, config.topics.tokens, signer),
    );
    const layout = await ensureTopics(producer.client, kafka, config, cluster !== undefined);
    checkPartitionCount(store, config.topics.requests, layout.partitions);
    brokers.watchPartitions({
      topic: config.topics.requests,
      expected: layout.partitions,
      onChanged: (count) => onFatal(partitionsChanged(config.topics.requests, layout.partitions, count)),
    });
    const reader = await PartitionReader.connect(kafka, config.kafka.groupId);
    steps.push({ name: 'partition reader', close: () => reader.close() });

    const workers = workerCount(config);
    const pool = new VerifyPool({
      workers,
      maxQueuedBatchesPerWorker: config.pool.maxQueuedBatchesPerWorker,
      settings: workerSettings(config, encryptionKey),
    });
    steps.push({ name: 'worker pool', close: () => pool.close() });
    metrics.sources.pool = pool;
    metrics.sources.producerQueued = () => producer.queued;

    const commands = new KafkaCommandSender(producer, config.topics.commands, layout.partitions);
    const pipeline = new RequestPipeline({
      config,
      kafka,
      store,
      pool,
      producer,
      reader,
      observer,
      log,
      partitions: layout.partitions,
      onFatal,
      onOwnership: (partitions) => registryView.owned(partitions),
    });
    // Retention and purges (src/retention/): built before the tables, whose audit entries order purges.
    const marks = PurgeMarkIndex.load(store);
    const destroyed = (kind: DestroyedKind, count: number) => metrics.destroyed(kind, count);
    const sweep = new RetentionSweep({
      store,
      retention: config.retention,
      commands,
      ownedPartitions: () => pipeline.activePartitions,
      destroyed,
      log,
      marks,
    });
    steps.push({ name: 'retention sweep', close: () => sweep.stop() });
    const tables = new GlobalTables({
      config,
      kafka,
      store,
      log,
      tables: [
        declarationsTable(
          log,
          (id, bodies, timestamp) => marks.decisionBodies(id, bodies, timestamp),
          config.rules.hsCodesInScope,
        ),
        tacTable(),
        blocklistTable(),
        localProductionTable(),
        reviewTable(),
        tokensTable(decoders.tokens),
        kgdExportsTable(),
        auditTable(
          audit,
          decoders.audit,
          purgeFollower({ sweep, retention: config.retention, marks, destroyed, log }),
        ),
      ],
      onChanged: (changes) => pipeline.indexChanged([...changes.bodies], [...changes.applications]),
      consumed: (topic, count) => observer.consumed(topic, count),
      skipped: (message, error, refused) => {
        if (refused !== undefined) {
          metrics.recordRefused(message.topic, refused);
          log.error(
            { topic: message.topic, partition: message.partition, offset: message.offset, error },
            "an internal event without the cluster key's signature: refused (the DLQ gets it once per cluster)",
          );
          return;
        }
        metrics.recordSkipped(message.topic);
        log.warn(
          { topic: message.topic, partition: message.partition, offset: message.offset, error },
          'a global-table record no table can read: passed (the DLQ gets it once per cluster)',
        );
      },
      onFatal,
    });
    // Purges this instance missed are recorded before any decision they removed is applied again.
    // Failing that (the audit topic too long to read in time), the tables carry them out as they
    // read them: a decision KGD sent after a purge may then be removed with it, never the reverse.
    await primePurges({
      store,
      reader,
      topic: config.topics.audit,
      decode: decoders.audit,
      retention: config.retention,
      marks,
      destroyed,
    }).catch((error: unknown) =>
      log.warn(
        { err: error },
        'purges not read ahead of the global tables; they apply as the tables reach them',
      ),
    );
    await tables.start();
    steps.push({ name: 'global tables', close: () => tables.stop() });
    const validator = new RecordValidator({
      config,
      kafka,
      producer,
      reader,
      log,
      decoders,
      partitions: layout.partitions,
      rejected: (_topic, count) => observer.outcomes([['dlq', 'internal', count]]),
      onFatal,
    });
    await validator.start();
    steps.push({ name: 'record validator', close: () => validator.stop() });

    const registryView = new RegistryView({
      config,
      kafka,
      store,
      log,
      partitions: layout.partitions,
      onFatal,
    });
    await registryView.start();
    steps.push({ name: 'registry view', close: () => registryView.stop() });
    await pipeline.start();
    steps.push({ name: 'request pipeline', close: () => pipeline.stop(config.shutdownTimeoutMs) });
    metrics.sources.queuedMessages = () => pipeline.queuedMessages;
    metrics.sources.ownedPartitions = () => pipeline.activePartitions;

    const timer = new DeadlineTimer({
      store,
      commands,
      log,
      intervalMs: config.pending.checkIntervalMs,
      ownedPartitions: () => pipeline.activePartitions,
    });
    timer.start();
    steps.push({ name: 'deadline timer', close: () => timer.stop() });
    sweep.start();

    let closing = false;
    const http = await buildControlPlane({
      config,
      log,
      store,
      tokens,
      loads: { sink: producer, topics: config.topics },
      registryOf: (body) =>
        pipeline.activePartitions.includes(devicePartition(body, layout.partitions))
          ? store.registry.get(body)
          : registryView.entry(body),
      audit,
      metrics,
      commands,
      purge: { record: (event, now) => audit.record(event, now), commands },
      info: {
        version: VERSION,
        embeddedKafka: cluster !== undefined,
        brokers: bootstrapServers,
        topics: { ...config.topics },
        partitions: layout.partitions,
        workers,
      },
      onStoreFull: onFatal,
      notReadyReason: () => {
        if (closing) return 'shutting down';
        if (fatal) return 'stopping after a fatal error (see the log)';
        if (!brokers.reachable)
          return `the Kafka brokers did not answer within ${BROKER_CHECK_TIMEOUT_MS / 1000} s`;
        if (!tables.connected) return 'the global table reader is not connected';
        if (!pipeline.ready) return 'partitions are being recovered or Kafka is not connected';
        return null;
      },
      ownedPartitions: () => pipeline.activePartitions,
    });
    const address = await http.listen({ host: config.http.host, port: config.http.port });
    // Last started, first closed: readiness goes 503 before anything stops.
    steps.push({
      name: 'http',
      close: async () => {
        closing = true;
        await http.close();
      },
    });
    return { http, bootstrapServers, embedded: cluster !== undefined, address, shutdown };
  } catch (error) {
    await shutdown(`start-up failed: ${messageOf(error)}`);
    throw error;
  }
}
