/** `imeiflow run` (the service) and `imeiflow broker` (only the embedded Kafka cluster). */

import type { Command } from 'commander';
import type { Config } from '../config/config.js';
import { loadConfig } from '../config/config.js';
import { startEmbeddedCluster } from '../kafka/embedded-cluster.js';
import { createLogger } from '../log.js';
import { EXIT_FATAL, startService } from '../service.js';
import type { SetExit } from './exit-codes.js';

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

export async function runService(config: Config): Promise<number> {
  const log = createLogger(config.log.level);
  const signal = waitForSignal();
  const service = await startService(config, log);
  const { topics } = config;
  log.info(
    {
      kafka: service.bootstrapServers,
      embedded: service.embedded,
      http: service.address,
      topics,
    },
    service.embedded
      ? `imeiflow is running on an embedded Kafka cluster at ${service.bootstrapServers} (in memory only). ` +
          `Send a request: echo '{"requestId":"r-1","imei":"352099001761481","operator":"beeline","channel":"import"}' | ` +
          `kcat -P -b ${service.bootstrapServers} -t ${topics.requests} -k 352099001761481 ; ` +
          `read the outcome: kcat -C -b ${service.bootstrapServers} -t ${topics.results} -e`
      : `imeiflow is running on Kafka at ${service.bootstrapServers}`,
  );
  // A shutdown with a failed step (in-flight batches past the deadline, a close that threw) is
  // not a clean stop: the exit code says so, for the supervisor and for whoever reads the logs.
  return (await service.shutdown(await signal)) ? 0 : EXIT_FATAL;
}

export async function runBroker(config: Config): Promise<number> {
  const signal = waitForSignal();
  const cluster = await startEmbeddedCluster(config.kafka.embeddedBrokers);
  // One line a script can read, then one for people.
  process.stdout.write(`${JSON.stringify({ bootstrapServers: cluster.bootstrapServers })}\n`);
  process.stderr.write(
    `embedded Kafka cluster (in memory only) at ${cluster.bootstrapServers}\n` +
      `  run imeiflow against it:  KAFKA_BROKERS=${cluster.bootstrapServers} npx imeiflow run\n` +
      `  list topics:              kcat -L -b ${cluster.bootstrapServers}\n`,
  );
  await signal;
  await cluster.stop();
  return 0;
}

/** `imeiflow run` and `imeiflow broker`. */
export function registerRunCommands(cli: Command, setExit: SetExit): void {
  cli
    .command('run')
    .description('run the service (embedded Kafka cluster unless KAFKA_BROKERS is set)')
    .action(async () => {
      setExit(await runService(loadConfig()));
    });

  cli
    .command('broker')
    .description('run only the embedded Kafka-protocol cluster, in memory, and print its address')
    .action(async () => {
      setExit(await runBroker(loadConfig()));
    });
}
