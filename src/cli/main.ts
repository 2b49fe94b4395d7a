/**
 * The `imeiflow` command line. Exit codes: 0 ok, 1 input errors (rejected rows, bad files,
 * bad configuration), 2 usage errors.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { loadConfig } from '../config/config.js';
import { parseYearMonth } from '../domain/kgd-export.js';
import { CHANNELS, type Channel } from '../domain/types.js';
import { isImeiflowError, messageOf } from '../errors.js';
import type { LoadKind } from '../loaders/loads.js';
import { PACKAGE_ROOT } from '../paths.js';
import { listCertificates, reinstateCertificate, revokeCertificate } from './cert-command.js';
import { runCheck } from './check-command.js';
import { runLoad } from './load-command.js';
import { type PurgeOptions, runPurge } from './purge-command.js';
import { runBroker, runService } from './run-command.js';
import { copyStore } from './store-command.js';
import { createToken, listTokens, revokeToken, unblockToken } from './token-command.js';

export const EXIT_OK = 0;
export const EXIT_INPUT = 1;
export const EXIT_USAGE = 2;

const version = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string })
  .version;

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

function program(setExit: (code: number) => void): Command {
  const cli = new Command('imeiflow')
    .description('IMEI verification stream processor for the national IMEI database (БДИК)')
    .version(version)
    .showHelpAfterError()
    .exitOverride();

  const loadCommand = (name: string, what: string, kind: LoadKind): void => {
    const command = cli
      .command(`${name} <file>`)
      .description(
        `load ${what} for the whole cluster (KAFKA_BROKERS, or the running embedded service; else this data directory); idempotent; bad rows are reported by line`,
      )
      .option('--json', 'print the load report as one JSON line')
      .option('--basis <text>', 'why, recorded in the audit trail (e.g. the covering letter number)');
    if (kind === 'declarations')
      command.option(
        '--month <YYYY-MM>',
        "the month this monthly export covers (default: the month more than half of its decisions' dates fall in)",
        (text: string) => {
          const month = parseYearMonth(text);
          if (month instanceof Error) throw new InvalidArgumentError(month.message);
          return month;
        },
      );
    command.action(async (file: string, opts: { json?: boolean; basis?: string; month?: string }) => {
      setExit(
        await runLoad(loadConfig(), kind, file, {
          json: opts.json === true,
          ...(opts.basis === undefined ? {} : { basis: opts.basis }),
          ...(opts.month === undefined ? {} : { month: opts.month }),
        }),
      );
    });
  };
  loadCommand('load-tac', 'a GSMA TAC database export (CSV, | or , separated)', 'tac');
  loadCommand('load-declarations', 'the KGD declarations export (CSV or XLSX)', 'declarations');
  loadCommand('load-blocklist', 'a block list (CSV)', 'blocklist');
  loadCommand('load-local-production', 'devices produced or repaired in Kazakhstan (CSV)', 'localProduction');

  cli
    .command('check <imei>')
    .description('explain the decision for one IMEI from local state, rule by rule')
    .addOption(
      new Option('--channel <channel>', 'how the device entered the country')
        .choices(CHANNELS)
        .default('import'),
    )
    .option('--owner <iin>', 'owner IIN/BIN')
    .option('--msisdn <phone>', 'phone number, E.164')
    .option('--application <id>', 'customs application ID')
    .option(
      '--basis <text>',
      "why you may see a registered device's recorded owner and phone (a case or request number); the read is audited",
    )
    .option('--json', 'print the decision and the steps as JSON')
    .action(
      async (
        imei: string,
        opts: {
          channel: Channel;
          owner?: string;
          msisdn?: string;
          application?: string;
          basis?: string;
          json?: boolean;
        },
      ) => {
        setExit(
          await runCheck(loadConfig(), imei, {
            channel: opts.channel,
            json: opts.json === true,
            ...(opts.owner === undefined ? {} : { owner: opts.owner }),
            ...(opts.msisdn === undefined ? {} : { msisdn: opts.msisdn }),
            ...(opts.application === undefined ? {} : { application: opts.application }),
            ...(opts.basis === undefined ? {} : { basis: opts.basis }),
          }),
        );
      },
    );
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

  const store = cli.command('store').description('manage the local LMDB store');
  store
    .command('copy <dir>')
    .description(
      'copy the store into a new data directory, encrypted with another key or decrypted (key rotation; stop the instance first)',
    )
    .option('--key-file <file>', 'encrypt the copy with the key in this file (32 printable ASCII characters)')
    .option('--decrypted', 'write the copy without encryption')
    .action(async (dir: string, opts: { keyFile?: string; decrypted?: boolean }) => {
      if ((opts.keyFile === undefined) === (opts.decrypted !== true)) {
        process.stderr.write('imeiflow store copy: give exactly one of --key-file FILE or --decrypted\n');
        setExit(EXIT_USAGE);
        return;
      }
      setExit(
        await copyStore(loadConfig(), dir, opts.keyFile === undefined ? {} : { keyFile: opts.keyFile }),
      );
    });

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
  return cli;
}

export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = EXIT_OK;
  const cli = program((code) => {
    exitCode = code;
  });
  try {
    await cli.parseAsync(argv as string[], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    process.stderr.write(
      `imeiflow: ${isImeiflowError(error) ? `${error.message} [${error.code}]` : messageOf(error)}\n`,
    );
    return EXIT_INPUT;
  }
}
