/**
 * `imeiflow cert revoke|reinstate|list`: client-certificate holders under the token rules (issue
 * 22, point 6). Who may act with a certificate is configuration (`http.tls.clientCertificates`);
 * whether they still may is the cluster's: a revocation goes to the tokens topic and every
 * instance refuses the holder at once, without a restart (seed 001 §10), as a token's does; a
 * holder blocked after 60 days without use (seed 001 §14) or revoked is let in again only by
 * `reinstate`, audited. With no cluster to reach, this data directory's store.
 */

import type { Command } from 'commander';
import type { Config } from '../config/config.js';
import { loadConfig } from '../config/config.js';
import { isValidIinBin } from '../domain/ids.js';
import { auditEntryOf, kafkaAuditPublisher } from '../security/audit-log.js';
import { masked } from '../security/masking.js';
import { kafkaTokenPublisher } from '../security/token-events.js';
import { type ReinstateResult, reinstatable, type TokenService } from '../security/tokens.js';
import type { CertificateRecord } from '../store/records.js';
import { CLI_ROLE, cliActor } from './cli-actor.js';
import type { ClusterLink } from './cluster-link.js';
import type { SetExit } from './exit-codes.js';
import { type CliAudit, clusterAccountsOf, withAccounts } from './token-command.js';

/** What a cert command needs, wherever the holders' states live. */
interface Holders {
  /** false: already revoked. */
  revoke(iin: string): Promise<boolean>;
  reinstate(iin: string): Promise<ReinstateResult>;
  list(): Promise<CertificateRecord[]>;
  audit: CliAudit;
}

function clusterHolders(config: Config, link: ClusterLink): Holders {
  const publish = kafkaTokenPublisher(link.producer, config.topics.tokens, link.signer);
  const audit = kafkaAuditPublisher(link.producer, config.topics.audit, link.signer);
  const holder = async (iin: string) => (await clusterAccountsOf(config, link)).certificates.get(iin);
  return {
    async revoke(iin) {
      const known = await holder(iin);
      if (known !== undefined && known.revokedAt !== null) return false;
      await publish({ type: 'cert-revoke', iin, at: new Date().toISOString() });
      return true;
    },
    async reinstate(iin) {
      const result = reinstatable(await holder(iin));
      if (result === 'reinstated')
        await publish({ type: 'cert-reinstate', iin, at: new Date().toISOString() });
      return result;
    },
    list: async () => [...(await clusterAccountsOf(config, link)).certificates.values()],
    audit: async (event) => audit(auditEntryOf({ ...event, actor: cliActor(), role: CLI_ROLE })),
  };
}

const localHolders = (service: TokenService, audit: CliAudit): Holders => ({
  revoke: (iin) => service.revokeCertificate(iin),
  reinstate: (iin) => service.reinstateCertificate(iin),
  list: async () => service.listCertificates(),
  audit,
});

const withHolders = <T>(config: Config, work: (holders: Holders) => Promise<T>): Promise<T> =>
  withAccounts(
    config,
    'certificate holders',
    { cluster: (link) => clusterHolders(config, link), local: localHolders },
    work,
  );

/**
 * The audit target: the holder's configured name, and the IIN masked — the audit trail is kept for
 * good (seed 001 §25) and the IIN is personal data; the configuration maps it back.
 */
function holderText(config: Config, iin: string): string {
  const name = config.http.tls.clientCertificates.find((c) => c.iin === iin)?.name;
  return name === undefined
    ? `certificate holder ${masked(iin)}`
    : `certificate holder ${name} (${masked(iin)})`;
}

function checkIin(command: string, iin: string): boolean {
  if (isValidIinBin(iin)) return true;
  process.stderr.write(
    `imeiflow cert ${command}: ${JSON.stringify(iin)} is not a 12-digit IIN with a valid check digit\n`,
  );
  return false;
}

export async function revokeCertificate(config: Config, iin: string): Promise<number> {
  if (!checkIin('revoke', iin)) return 2;
  return withHolders(config, async (holders) => {
    if (!(await holders.revoke(iin))) {
      process.stderr.write(`imeiflow cert revoke: the holder of ${masked(iin)} is revoked already\n`);
      return 1;
    }
    await holders.audit({ action: 'cert.revoke', basis: null, target: holderText(config, iin) });
    process.stdout.write(`revoked the certificate holder ${masked(iin)}\n`);
    return 0;
  });
}

export async function reinstateCertificate(config: Config, iin: string): Promise<number> {
  if (!checkIin('reinstate', iin)) return 2;
  return withHolders(config, async (holders) => {
    const result = await holders.reinstate(iin);
    if (result !== 'reinstated') {
      process.stderr.write(
        result === 'unknown'
          ? `imeiflow cert reinstate: no certificate holder ${masked(iin)} is known\n`
          : `imeiflow cert reinstate: the holder of ${masked(iin)} is neither revoked nor blocked\n`,
      );
      return 1;
    }
    await holders.audit({ action: 'cert.reinstate', basis: null, target: holderText(config, iin) });
    process.stdout.write(`reinstated the certificate holder ${masked(iin)}\n`);
    return 0;
  });
}

export async function listCertificates(config: Config): Promise<number> {
  return withHolders(config, async (holders) => {
    for (const h of await holders.list()) {
      const state =
        h.revokedAt !== null
          ? `revoked ${h.revokedAt}`
          : h.blockedAt !== null
            ? `blocked (unused) ${h.blockedAt}`
            : 'active';
      process.stdout.write(`${h.iin}\t${state}\tlast used ${h.lastUsedAt ?? 'never'}\n`);
    }
    return 0;
  });
}

/** `imeiflow cert revoke|reinstate|list`. */
export function registerCertCommands(cli: Command, setExit: SetExit): void {
  const cert = cli
    .command('cert')
    .description('manage client-certificate holders (by IIN): revoke or reinstate on every instance at once');
  cert
    .command('revoke <iin>')
    .description('refuse a certificate holder at once, on every instance, whatever certificate they present')
    .action(async (iin: string) => {
      setExit(await revokeCertificate(loadConfig(), iin));
    });
  cert
    .command('reinstate <iin>')
    .description('let a revoked holder, or one blocked after 60 days without use, in again')
    .action(async (iin: string) => {
      setExit(await reinstateCertificate(loadConfig(), iin));
    });
  cert
    .command('list')
    .description('list certificate holders the cluster knows and their state')
    .action(async () => {
      setExit(await listCertificates(loadConfig()));
    });
}
