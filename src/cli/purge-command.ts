/**
 * `imeiflow purge --imei IMEI | --iin IIN | --application ID --basis TEXT`: destruction on
 * request, audited. With a cluster to reach (src/cli/cluster-link.ts) the order goes to its
 * audit trail, which every instance carries out (src/retention/purge-orders.ts); with none, it is
 * carried out here, on this data directory's store, before the command returns.
 */
import type { Config } from '../config/config.js';
import { type DestroyedKind, type PurgeKind, purgeScope, purgeTargetOf } from '../domain/retention.js';
import { getMetadata } from '../kafka/client.js';
import { createLogger } from '../log.js';
import { KafkaCommandSender } from '../pipeline/command-sender.js';
import { orderPurge, type PurgeOrder, purgeFollower } from '../retention/purge-orders.js';
import { RetentionSweep } from '../retention/retention-sweep.js';
import { AuditLog, auditEntryOf, kafkaAuditPublisher } from '../security/audit-log.js';
import { storeOptionsOf } from '../store/encryption.js';
import { PurgeMarkIndex } from '../store/purge-marks.js';
import { openStore } from '../store/store.js';
import { CLI_ROLE, cliActor } from './cli-actor.js';
import { type ClusterLink, linkToCluster } from './cluster-link.js';

export interface PurgeOptions {
  readonly imei?: string;
  readonly iin?: string;
  readonly application?: string;
  /** Why: the order, case or request number; recorded in the audit trail. */
  readonly basis?: string;
  readonly json: boolean;
}

const EXIT_INPUT = 1;
const EXIT_USAGE = 2;

async function commandPartitions(link: ClusterLink, topic: string): Promise<number> {
  const md = await getMetadata(link.producer.client, topic);
  const partitions = md.topics.find((t) => t.name === topic)?.partitions.length ?? 0;
  if (partitions === 0) throw new Error(`the commands topic ${topic} does not exist on the cluster`);
  return partitions;
}

export async function runPurge(config: Config, options: PurgeOptions): Promise<number> {
  const named = (
    [
      ['imei', options.imei],
      ['iin', options.iin],
      ['application', options.application],
    ] as const
  ).filter(([, value]) => value !== undefined);
  if (named.length !== 1) {
    process.stderr.write('imeiflow purge: give exactly one of --imei, --iin, --application\n');
    return EXIT_USAGE;
  }
  const basis = options.basis?.trim() ?? '';
  if (basis === '') {
    process.stderr.write(
      'imeiflow purge: --basis TEXT is required: why (the order or request number); it is recorded in the audit trail\n',
    );
    return EXIT_USAGE;
  }
  const [kind, value] = named[0] as [PurgeKind, string];
  const parsed = purgeTargetOf(kind, value);
  if (!parsed.ok) {
    process.stderr.write(`imeiflow purge: ${parsed.error}\n`);
    return EXIT_INPUT;
  }
  const order: PurgeOrder = { target: parsed.target, actor: cliActor(), role: CLI_ROLE, basis };
  const scope = purgeScope(parsed.target);

  const link = await linkToCluster(config);
  if (link !== undefined) {
    try {
      const partitions = await commandPartitions(link, config.topics.commands);
      const { producer, signer } = link;
      const commands = new KafkaCommandSender(producer, config.topics.commands, partitions, signer);
      const publish = kafkaAuditPublisher(link.producer, config.topics.audit, link.signer);
      const entry = await orderPurge(order, {
        record: async (event, now) => {
          const e = auditEntryOf(event, now);
          await publish(e);
          return e;
        },
        commands,
      });
      const where = `the cluster at ${link.bootstrapServers} (${link.via})`;
      if (options.json)
        process.stdout.write(
          `${JSON.stringify({ status: 'accepted', kind, orderedAt: entry.at, cluster: link.bootstrapServers, destroys: scope })}\n`,
        );
      else
        process.stdout.write(
          `purge ordered at ${entry.at} in the audit trail of ${where}; every instance destroys:\n` +
            scope.map((s) => `  - ${s}\n`).join(''),
        );
      return 0;
    } finally {
      await link.close();
    }
  }

  // No cluster: this store is all there is (a stopped embedded service's Kafka is gone).
  const store = openStore(storeOptionsOf(config));
  const audit = new AuditLog(store, config.dataDir);
  const destroyed = new Map<DestroyedKind, number>();
  const count = (kind: DestroyedKind, n: number) => destroyed.set(kind, (destroyed.get(kind) ?? 0) + n);
  const log = createLogger('warn', 'imeiflow-purge');
  const marks = PurgeMarkIndex.load(store);
  const sweep = new RetentionSweep({
    store,
    retention: config.retention,
    ownedPartitions: () => [],
    destroyed: count,
    log,
    marks,
  });
  try {
    process.stderr.write(`no cluster to reach: purging in the store in ${config.dataDir}\n`);
    const entry = await orderPurge(order, { record: (event, now) => audit.record(event, now) });
    const follower = purgeFollower({ sweep, retention: config.retention, marks, destroyed: count, log });
    await store.env.transaction(() => follower.apply(store, [entry]));
    follower.afterCommit([entry]);
    await sweep.requestPass();
    await sweep.stop();
    const report = Object.fromEntries(destroyed);
    if (options.json)
      process.stdout.write(
        `${JSON.stringify({ status: 'done', kind, orderedAt: entry.at, destroyed: report })}\n`,
      );
    else
      process.stdout.write(
        `purged at ${entry.at} in ${config.dataDir}: ${
          destroyed.size === 0 ? 'nothing held' : [...destroyed].map(([k, n]) => `${n} ${k}`).join(', ')
        }\n`,
      );
    return 0;
  } finally {
    await audit.close();
    await store.close();
  }
}
