/**
 * `imeiflow purge --imei IMEI | --iin IIN | --application ID --basis TEXT`: destruction on
 * request, audited. With a cluster to reach (src/cli/cluster-link.ts) the order goes to its
 * audit trail, which every instance carries out (src/retention/purge-orders.ts); with none, it is
 * carried out here, on this data directory's store, before the command returns.
 */

import type { Command } from 'commander';
import type { Config } from '../config/config.js';
import { loadConfig } from '../config/config.js';
import {
  type DestroyedKind,
  type PseudonymsOf,
  type PurgeKind,
  purgeScope,
  purgeTargetOf,
} from '../domain/retention.js';
import { getMetadata } from '../kafka/client.js';
import { createLogger } from '../log.js';
import { KafkaCommandSender } from '../pipeline/command-sender.js';
import { orderPurge, type PurgeOrder, purgeFollower } from '../retention/purge-orders.js';
import { RetentionSweep } from '../retention/retention-sweep.js';
import { AuditLog, auditEntryOf, kafkaAuditPublisher, purgesNaming } from '../security/audit-log.js';
import { storeSecretsOf } from '../security/subject-secrets.js';
import type { SubjectSecrets } from '../store/derived-keys.js';
import { storeOptionsOf } from '../store/encryption.js';
import { PurgeMarkIndex } from '../store/purge-marks.js';
import { allOrNothing, openStore } from '../store/store.js';
import { CLI_ROLE, cliActor } from './cli-actor.js';
import { type ClusterLink, linkToCluster } from './cluster-link.js';
import { EXIT_INPUT, EXIT_USAGE, type SetExit } from './exit-codes.js';

export interface PurgeOptions {
  readonly imei?: string;
  readonly iin?: string;
  readonly application?: string;
  /** Why: the order, case or request number; recorded in the audit trail. */
  readonly basis?: string;
  readonly json: boolean;
  /** Only say whether the owner was purged (`--iin` with `--check`). */
  readonly check?: boolean;
}

async function commandPartitions(link: ClusterLink, topic: string): Promise<number> {
  const md = await getMetadata(link.producer.client, topic);
  const partitions = md.topics.find((t) => t.name === topic)?.partitions.length ?? 0;
  if (partitions === 0) throw new Error(`the commands topic ${topic} does not exist on the cluster`);
  return partitions;
}

type Named = { kind: PurgeKind; value: string; basis: string };

/** The one target and the basis the options name, or the exit code of a usage error (reported). */
function namedTarget(options: PurgeOptions): Named | number {
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
  const [kind, value] = named[0] as [PurgeKind, string];
  if (options.check === true) return { kind, value, basis: '' };
  const basis = options.basis?.trim() ?? '';
  if (basis === '') {
    process.stderr.write(
      'imeiflow purge: --basis TEXT is required: why (the order or request number); it is recorded in the audit trail\n',
    );
    return EXIT_USAGE;
  }
  // Checked before any key is read: the owner's pseudonyms come with the cluster or the store.
  const parsed = purgeTargetOf(kind, value, () => []);
  if (!parsed.ok) {
    process.stderr.write(`imeiflow purge: ${parsed.error}\n`);
    return EXIT_INPUT;
  }
  return { kind, value, basis };
}

export async function runPurge(config: Config, options: PurgeOptions): Promise<number> {
  const named = namedTarget(options);
  if (typeof named === 'number') return named;
  if (options.check === true) return checkPurged(config, named);
  const link = await linkToCluster(config);
  if (link === undefined) return purgeHere(config, named, options.json);
  try {
    return await purgeOnCluster(config, link, named, options.json);
  } finally {
    await link.close();
  }
}

function orderOf(named: Named, pseudonymsOf: PseudonymsOf): PurgeOrder {
  const parsed = purgeTargetOf(named.kind, named.value, pseudonymsOf);
  if (!parsed.ok) throw new Error(parsed.error);
  return { target: parsed.target, actor: cliActor(), role: CLI_ROLE, basis: named.basis };
}

async function purgeOnCluster(
  config: Config,
  link: ClusterLink,
  named: Named,
  json: boolean,
): Promise<number> {
  const order = orderOf(named, (iin) => link.pseudonyms.all(iin));
  const scope = purgeScope(order.target);
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
  if (json)
    process.stdout.write(
      `${JSON.stringify({ status: 'accepted', kind: named.kind, orderedAt: entry.at, cluster: link.bootstrapServers, destroys: scope })}\n`,
    );
  else
    process.stdout.write(
      `purge ordered at ${entry.at} in the audit trail of ${where}; every instance destroys:\n` +
        scope.map((s) => `  - ${s}\n`).join(''),
    );
  return 0;
}

/** No cluster: this store is all there is (a stopped embedded service's Kafka is gone). */
async function purgeHere(config: Config, named: Named, json: boolean): Promise<number> {
  const store = openStore({ ...storeOptionsOf(config), ...secretsOf(config) });
  const audit = new AuditLog(store, config.dataDir);
  const destroyed = new Map<DestroyedKind, number>();
  const count = (kind: DestroyedKind, n: number) => destroyed.set(kind, (destroyed.get(kind) ?? 0) + n);
  const log = createLogger('warn', 'imeiflow-purge');
  const marks = PurgeMarkIndex.load(store);
  const retention = config.retention;
  const sweep = new RetentionSweep({
    store,
    retention,
    ownedPartitions: () => [],
    destroyed: count,
    log,
    marks,
  });
  try {
    const order = orderOf(named, (iin) => store.pseudonyms.all(iin));
    process.stderr.write(`no cluster to reach: purging in the store in ${config.dataDir}\n`);
    const entry = await orderPurge(order, { record: (event, now) => audit.record(event, now) });
    const follower = purgeFollower({ sweep, retention, marks, destroyed: count, log });
    await allOrNothing(store, () => follower.apply(store, [entry]));
    follower.afterCommit([entry]);
    await sweep.requestPass();
    await sweep.stop();
    if (json)
      process.stdout.write(
        `${JSON.stringify({ status: 'done', kind: named.kind, orderedAt: entry.at, destroyed: Object.fromEntries(destroyed) })}\n`,
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

function secretsOf(config: Config): { secrets?: SubjectSecrets } {
  const secrets = storeSecretsOf(config);
  if (secrets === undefined)
    throw new Error(
      `no cluster key for ${config.dataDir}: set IMEIFLOW_CLUSTER_KEY_FILE (docs/control-plane.md)`,
    );
  return { secrets };
}

/**
 * `--check`: whether an owner was purged, without naming the IIN anywhere: their pseudonyms under
 * the cluster key, and the purge entries of this data directory's audit trail that name them
 * (the online store: `retention.auditDays`).
 */
async function checkPurged(config: Config, named: Named): Promise<number> {
  if (named.kind !== 'iin') {
    process.stderr.write(
      'imeiflow purge --check: only for --iin (a device or an application is named in clear)\n',
    );
    return EXIT_USAGE;
  }
  const store = openStore({ ...storeOptionsOf(config, true), ...secretsOf(config) });
  try {
    const pseudonyms = store.pseudonyms.all(named.value.trim());
    const found = purgesNaming(store, pseudonyms);
    process.stdout.write(
      `${JSON.stringify({ pseudonyms, purged: found.length > 0, purges: found.map((e) => ({ at: e.at, actor: e.actor, basis: e.basis })) })}\n`,
    );
    return 0;
  } finally {
    await store.close();
  }
}

type PurgeFlags = {
  imei?: string;
  iin?: string;
  application?: string;
  basis?: string;
  json?: boolean;
  check?: boolean;
};

function purgeOptionsOf(opts: PurgeFlags): PurgeOptions {
  return {
    json: opts.json === true,
    check: opts.check === true,
    ...(opts.imei === undefined ? {} : { imei: opts.imei }),
    ...(opts.iin === undefined ? {} : { iin: opts.iin }),
    ...(opts.application === undefined ? {} : { application: opts.application }),
    ...(opts.basis === undefined ? {} : { basis: opts.basis }),
  };
}

/** `imeiflow purge (--imei IMEI | --iin IIN [--check] | --application ID) --basis TEXT [--json]`. */
export function registerPurgeCommand(cli: Command, setExit: SetExit): void {
  cli
    .command('purge')
    .description(
      "destroy an IMEI's, an owner's (IIN/BIN) or a customs application's data on request, cluster-wide (KAFKA_BROKERS, or the running embedded service; else this data directory); audited",
    )
    .option('--imei <imei>', 'the device: registry entry, waiting requests, outcomes, declarations')
    .option('--iin <iin>', 'the owner (IIN/BIN): their registrations, waiting requests, confirmations')
    .option('--check', 'with --iin: say whether the owner was purged (the trail names them by pseudonym)')
    .option('--application <id>', 'the customs application: its declarations')
    .option(
      '--basis <text>',
      'why (the order, case or request number); required, recorded in the audit trail',
    )
    .option('--json', 'print the answer as one JSON line')
    .action(async (opts: PurgeFlags) => setExit(await runPurge(loadConfig(), purgeOptionsOf(opts))));
}
