/**
 * `imeiflow token create|revoke|unblock|list`: manage control-plane bearer tokens (audited). Tokens are
 * cluster-wide: with a cluster to reach (src/cli/cluster-link.ts) the change goes to its tokens
 * topic and every instance applies it; the accounts listed are the cluster's, read from that
 * topic. With none, this data directory's store. An operator's token names its operator
 * (`--operator`): operators are tenants (src/security/tenancy.ts).
 */

import type { Command } from 'commander';
import type { Config } from '../config/config.js';
import { loadConfig } from '../config/config.js';
import { PartitionReader } from '../kafka/partition-reader.js';
import { type AuditEvent, AuditLog, auditEntryOf, kafkaAuditPublisher } from '../security/audit-log.js';
import { isRole, ROLES } from '../security/roles.js';
import { isOperatorCode } from '../security/tenancy.js';
import {
  applyTokenEvent,
  blockReasonOf,
  kafkaTokenPublisher,
  type TokenEvent,
  type TokenTable,
} from '../security/token-events.js';
import { isTokenName, newToken, TokenService, type UnblockResult, unblockable } from '../security/tokens.js';
import { storeOptionsOf } from '../store/encryption.js';
import type { CertificateRecord, TokenRecord } from '../store/records.js';
import { openStore } from '../store/store.js';
import { CLI_ROLE, cliActor } from './cli-actor.js';
import { type ClusterLink, linkToCluster } from './cluster-link.js';
import type { SetExit } from './exit-codes.js';

/** What a token command needs, wherever the accounts live. */
interface Tokens {
  create(name: string, role: (typeof ROLES)[number], operator: string | null): Promise<string>;
  /** false: no such account. */
  revoke(name: string): Promise<boolean>;
  /** Lift a block for refused requests, or say what stands in the way. */
  unblock(name: string): Promise<UnblockResult>;
  list(): Promise<TokenRecord[]>;
  audit: CliAudit;
}

/** The cluster's token accounts and certificate holders, by name and by IIN. */
export interface ClusterAccounts {
  readonly tokens: Map<string, TokenRecord>;
  readonly certificates: Map<string, CertificateRecord>;
}

/** The cluster's accounts, folded from its tokens topic (one partition). */
export async function clusterAccountsOf(config: Config, link: ClusterLink): Promise<ClusterAccounts> {
  const accounts = new Map<string, TokenRecord>();
  const certificates = new Map<string, CertificateRecord>();
  const table: TokenTable = {
    get: (name) => accounts.get(name),
    put: (record) => void accounts.set(record.name, record),
    dropHash: () => undefined,
    certificates: {
      get: (iin) => certificates.get(iin),
      put: (record) => void certificates.set(record.iin, record),
    },
  };
  const reader = await PartitionReader.connect(link.settings, `${config.kafka.groupId}.cli`);
  try {
    await reader.readToEnd(config.topics.tokens, 0, 0, async (messages) => {
      for (const m of messages) {
        // As every instance reads them: an event without the cluster key's signature is no event.
        const event = link.decoders.tokens(m);
        if (event.ok) applyTokenEvent(table, event.value);
      }
    });
  } finally {
    await reader.close();
  }
  return { tokens: accounts, certificates };
}

const clusterAccounts = async (config: Config, link: ClusterLink) =>
  (await clusterAccountsOf(config, link)).tokens;

function clusterTokens(config: Config, link: ClusterLink): Tokens {
  const publish = kafkaTokenPublisher(link.producer, config.topics.tokens, link.signer);
  const audit = kafkaAuditPublisher(link.producer, config.topics.audit, link.signer);
  const emit = (event: TokenEvent): Promise<void> => publish(event);
  return {
    async create(name, role, operator) {
      // The token is made and hashed here: only its hash leaves this process.
      const { token, event } = newToken(name, role, new Date(), operator);
      await emit(event);
      return token;
    },
    async revoke(name) {
      if (!(await clusterAccounts(config, link)).has(name)) return false;
      await emit({ type: 'revoke', name, at: new Date().toISOString() });
      return true;
    },
    async unblock(name) {
      const result = unblockable((await clusterAccounts(config, link)).get(name));
      if (result === 'unblocked') await emit({ type: 'unblock', name, at: new Date().toISOString() });
      return result;
    },
    async list() {
      return [...(await clusterAccounts(config, link)).values()];
    },
    audit: async (event) => audit(auditEntryOf({ ...event, actor: cliActor(), role: CLI_ROLE })),
  };
}

/** What every account command audits, as the CLI's actor. */
export type CliAudit = (event: Omit<AuditEvent, 'actor' | 'role'>) => Promise<void>;

/**
 * Runs `work` on the accounts of the cluster when one is reachable (read from its tokens topic,
 * changes published signed), else on this data directory's store; `what` names them on stderr.
 */
export async function withAccounts<A, T>(
  config: Config,
  what: string,
  sides: { cluster(link: ClusterLink): A; local(service: TokenService, audit: CliAudit): A },
  work: (accounts: A) => Promise<T>,
): Promise<T> {
  const link = await linkToCluster(config);
  if (link !== undefined) {
    process.stderr.write(`${what} of the cluster at ${link.bootstrapServers} (${link.via})\n`);
    try {
      return await work(sides.cluster(link));
    } finally {
      await link.close();
    }
  }
  const store = openStore(storeOptionsOf(config));
  const auditLog = new AuditLog(store, config.dataDir);
  const service = new TokenService(store, config.security.tokenIdleDays);
  const audit: CliAudit = async (event) =>
    void (await auditLog.record({ ...event, actor: cliActor(), role: CLI_ROLE }));
  try {
    return await work(sides.local(service, audit));
  } finally {
    await auditLog.close();
    await store.close();
  }
}

const localTokens = (service: TokenService, audit: CliAudit): Tokens => ({
  create: (name, role, operator) => service.create(name, role, operator === null ? {} : { operator }),
  revoke: (name) => service.revoke(name),
  unblock: (name) => service.unblock(name),
  list: async () => service.list(),
  audit,
});

const withTokens = <T>(config: Config, work: (tokens: Tokens) => Promise<T>): Promise<T> =>
  withAccounts(
    config,
    'tokens',
    { cluster: (link) => clusterTokens(config, link), local: localTokens },
    work,
  );

/** How an account's role reads: `operator (kcell)` for an operator, else the role. */
function roleText(role: string, operator: string | null | undefined): string {
  if (role !== 'operator') return role;
  // Created before operators were tenants: it reads no personal data until it gets a new token.
  return operator === undefined || operator === null ? 'operator (unbound)' : `operator (${operator})`;
}

export async function createToken(
  config: Config,
  name: string,
  role: string,
  operator?: string,
): Promise<number> {
  if (!isRole(role)) {
    process.stderr.write(`imeiflow token create: role must be one of ${ROLES.join(', ')}\n`);
    return 2;
  }
  if (!isTokenName(name)) {
    process.stderr.write('imeiflow token create: the name must be 1–64 of a-z 0-9 . _ -\n');
    return 2;
  }
  // Operators are tenants: a new operator token always says whose requests it reads (an old one
  // that does not reads no personal data: src/security/tenancy.ts).
  if (role === 'operator' && operator === undefined) {
    process.stderr.write(
      'imeiflow token create: an operator token names its operator: --operator CODE (the `operator` its requests carry, e.g. kcell)\n',
    );
    return 2;
  }
  if (operator !== undefined && role !== 'operator') {
    process.stderr.write(
      `imeiflow token create: only an operator token takes --operator (this one is ${role})\n`,
    );
    return 2;
  }
  if (operator !== undefined && !isOperatorCode(operator)) {
    process.stderr.write('imeiflow token create: the operator code must be 1–64 of A-Z a-z 0-9 . _ -\n');
    return 2;
  }
  return withTokens(config, async (tokens) => {
    const token = await tokens.create(name, role, operator ?? null);
    const what = roleText(role, operator);
    await tokens.audit({ action: 'token.create', basis: null, target: `${name} (${what})` });
    process.stderr.write(`token for ${name} (${what}); it is shown only now:\n`);
    process.stdout.write(`${token}\n`);
    return 0;
  });
}

export async function revokeToken(config: Config, name: string): Promise<number> {
  return withTokens(config, async (tokens) => {
    if (!(await tokens.revoke(name))) {
      process.stderr.write(`imeiflow token revoke: no token named ${name}\n`);
      return 1;
    }
    await tokens.audit({ action: 'token.revoke', basis: null, target: name });
    process.stdout.write(`revoked ${name}\n`);
    return 0;
  });
}

function notUnblocked(result: Exclude<UnblockResult, 'unblocked'>, name: string, idleDays: number): string {
  switch (result) {
    case 'unknown':
      return `no token named ${name}`;
    case 'not-blocked':
      return `${name} is not blocked`;
    case 'idle':
      // Seed 001 §14: the inactivity block stays; the account's owner gets a new token.
      return `${name} was blocked after ${idleDays} days without use, which stays: create a new token for it (imeiflow token create)`;
    case 'revoked':
      return `${name} is revoked: create a new token for it (imeiflow token create)`;
  }
}

/** Lift the block an account got for refused requests (seed 001 §19): an admin's decision, audited. */
export async function unblockToken(config: Config, name: string): Promise<number> {
  return withTokens(config, async (tokens) => {
    const result = await tokens.unblock(name);
    if (result !== 'unblocked') {
      process.stderr.write(
        `imeiflow token unblock: ${notUnblocked(result, name, config.security.tokenIdleDays)}\n`,
      );
      return 1;
    }
    await tokens.audit({ action: 'token.unblock', basis: null, target: name });
    process.stdout.write(`unblocked ${name}\n`);
    return 0;
  });
}

export async function listTokens(config: Config): Promise<number> {
  return withTokens(config, async (tokens) => {
    for (const t of await tokens.list()) {
      const state =
        t.revokedAt !== null
          ? `revoked ${t.revokedAt}`
          : t.blockedAt !== null
            ? `blocked (${blockReasonOf(t) === 'refusals' ? 'refused requests' : 'unused'}) ${t.blockedAt}`
            : 'active';
      process.stdout.write(
        `${t.name}\t${roleText(t.role, t.operator)}\t${state}\tlast used ${t.lastUsedAt ?? 'never'}\n`,
      );
    }
    return 0;
  });
}

/** `imeiflow token create|revoke|unblock|list`. */
export function registerTokenCommands(cli: Command, setExit: SetExit): void {
  const token = cli.command('token').description('manage control-plane bearer tokens');
  token
    .command('create')
    .description('create a token (printed once) for a named account and role')
    .requiredOption('--name <name>', 'account name (a-z 0-9 . _ -)')
    .requiredOption('--role <role>', 'operator, kgd, reviewer, sre or admin')
    .option('--operator <code>', "an operator token's operator (required for role operator), e.g. kcell")
    .action(async (opts: { name: string; role: string; operator?: string }) => {
      setExit(await createToken(loadConfig(), opts.name, opts.role, opts.operator));
    });
  token
    .command('revoke <name>')
    .description('revoke a token at once')
    .action(async (name: string) => {
      setExit(await revokeToken(loadConfig(), name));
    });
  token
    .command('unblock <name>')
    .description('lift the block an account got for repeated refused requests, on every instance')
    .action(async (name: string) => {
      setExit(await unblockToken(loadConfig(), name));
    });
  token
    .command('list')
    .description('list token accounts and their state')
    .action(async () => {
      setExit(await listTokens(loadConfig()));
    });
}
