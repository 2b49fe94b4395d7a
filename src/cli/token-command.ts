/** `imeiflow token create|revoke|list`: manage control-plane bearer tokens (audited). */
import type { Config } from '../config/config.js';
import { AuditLog } from '../security/audit-log.js';
import { isRole, ROLES } from '../security/roles.js';
import { isTokenName, TokenService } from '../security/tokens.js';
import { storeOptionsOf } from '../store/encryption.js';
import { openStore } from '../store/store.js';
import { CLI_ROLE, cliActor } from './cli-actor.js';

async function withTokens<T>(
  config: Config,
  work: (tokens: TokenService, audit: AuditLog) => Promise<T>,
): Promise<T> {
  const store = openStore(storeOptionsOf(config));
  const audit = new AuditLog(store, config.dataDir);
  try {
    return await work(new TokenService(store, config.security.tokenIdleDays), audit);
  } finally {
    await audit.close();
    await store.close();
  }
}

export async function createToken(config: Config, name: string, role: string): Promise<number> {
  if (!isRole(role)) {
    process.stderr.write(`imeiflow token create: role must be one of ${ROLES.join(', ')}\n`);
    return 2;
  }
  if (!isTokenName(name)) {
    process.stderr.write('imeiflow token create: the name must be 1–64 of a-z 0-9 . _ -\n');
    return 2;
  }
  return withTokens(config, async (tokens, audit) => {
    const token = await tokens.create(name, role);
    await audit.record({
      actor: cliActor(),
      role: CLI_ROLE,
      action: 'token.create',
      basis: null,
      target: `${name} (${role})`,
    });
    process.stderr.write(`token for ${name} (${role}); it is shown only now:\n`);
    process.stdout.write(`${token}\n`);
    return 0;
  });
}

export async function revokeToken(config: Config, name: string): Promise<number> {
  return withTokens(config, async (tokens, audit) => {
    if (!(await tokens.revoke(name))) {
      process.stderr.write(`imeiflow token revoke: no token named ${name}\n`);
      return 1;
    }
    await audit.record({
      actor: cliActor(),
      role: CLI_ROLE,
      action: 'token.revoke',
      basis: null,
      target: name,
    });
    process.stdout.write(`revoked ${name}\n`);
    return 0;
  });
}

export async function listTokens(config: Config): Promise<number> {
  return withTokens(config, async (tokens) => {
    for (const t of tokens.list()) {
      const state =
        t.revokedAt !== null
          ? `revoked ${t.revokedAt}`
          : t.blockedAt !== null
            ? `blocked ${t.blockedAt}`
            : 'active';
      process.stdout.write(`${t.name}\t${t.role}\t${state}\tlast used ${t.lastUsedAt ?? 'never'}\n`);
    }
    return 0;
  });
}
