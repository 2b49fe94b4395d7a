/**
 * `imeiflow check IMEI`: decide one request from local state and say why, rule by rule. Like
 * `POST /v1/verify`, it shows a registered device's recorded owner and phone only with a basis
 * (`--basis`), and records that read in the audit trail before showing it.
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import type { Config } from '../config/config.js';
import { loadConfig } from '../config/config.js';
import { type DryRun, dryRun } from '../domain/dry-run.js';
import { validateRequest } from '../domain/request.js';
import { ruleSettingsOf } from '../domain/rule-settings.js';
import type { Channel, Decision } from '../domain/types.js';
import { CHANNELS } from '../domain/types.js';
import { ImeiflowError } from '../errors.js';
import { AuditLog } from '../security/audit-log.js';
import { storeOptionsOf } from '../store/encryption.js';
import { lmdbIndexView } from '../store/index-view.js';
import { openStore, STORE_FILE, type Store } from '../store/store.js';
import { CLI_ROLE, cliActor } from './cli-actor.js';
import type { SetExit } from './exit-codes.js';

export interface CheckOptions {
  readonly channel: Channel;
  readonly owner?: string;
  readonly msisdn?: string;
  readonly application?: string;
  /** Why personal data may be shown (a case or request number); without it, it is withheld. */
  readonly basis?: string;
  readonly json: boolean;
}

function summary(decision: Decision): string {
  switch (decision.outcome) {
    case 'confirmed':
      return `confirmed (evidence ${decision.evidence})${decision.notify ? '' : ', БДИК already has it'}: ${decision.detail}`;
    case 'rejected':
      return `rejected (${decision.reason}): ${decision.detail}`;
    case 'pending':
    case 'review':
      return `${decision.outcome} (${decision.reason}): ${decision.detail}`;
  }
}

function openForReading(config: Config): Store {
  if (!existsSync(join(config.dataDir, STORE_FILE))) {
    throw new ImeiflowError(
      'STORE_OPEN_FAILED',
      `no imeiflow state under ${config.dataDir}; load a TAC table first (imeiflow load-tac FILE)`,
    );
  }
  return openStore(storeOptionsOf(config, true));
}

/** Records the read in the audit trail; resolves once it is stored, before anything is shown. */
async function auditRead(config: Config, basis: string, imei: string): Promise<void> {
  const store = openStore(storeOptionsOf(config));
  const audit = new AuditLog(store, config.dataDir);
  try {
    await audit.record({
      actor: cliActor(),
      role: CLI_ROLE,
      action: 'check.read-personal',
      basis,
      target: imei,
    });
  } finally {
    await audit.close();
    await store.close();
  }
}

interface Checked {
  readonly run: DryRun;
  readonly steps: readonly string[];
}

/** The dry run from a read-only store, or the reason the request is not valid. */
async function decideFromStore(
  config: Config,
  imei: string,
  options: CheckOptions,
): Promise<Checked | string> {
  const store = openForReading(config);
  try {
    const parsed = validateRequest({
      requestId: 'cli-check',
      imei,
      operator: 'cli',
      channel: options.channel,
      ownerId: options.owner,
      msisdn: options.msisdn,
      applicationId: options.application,
    });
    if (parsed.kind !== 'ok') return parsed.kind === 'invalid' ? parsed.detail : parsed.error;
    const steps: string[] = [];
    const run = dryRun(parsed.request, lmdbIndexView(store), ruleSettingsOf(config.rules), (step) =>
      steps.push(step),
    );
    return { run, steps };
  } finally {
    await store.close();
  }
}

export async function runCheck(config: Config, imei: string, options: CheckOptions): Promise<number> {
  const checked = await decideFromStore(config, imei, options);
  if (typeof checked === 'string') {
    process.stderr.write(`imeiflow check: ${checked}\n`);
    return 2;
  }
  const { run, steps } = checked;
  const basis = options.basis?.trim() || undefined;
  const shown = run.recorded !== null && basis !== undefined;
  if (shown) await auditRead(config, basis, run.full.imei);
  const decision = shown ? run.full : run.withheld;
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({
        decision,
        steps,
        personalData: shown,
        withheld: run.recorded !== null && !shown,
        ...(shown ? { registeredOwner: run.recorded } : {}),
      })}\n`,
    );
    return 0;
  }
  for (const step of steps) process.stdout.write(`  ${step}\n`);
  if (run.recorded !== null) {
    process.stdout.write(
      shown
        ? `  registered owner: ${run.recorded.ownerId ?? 'none'}, phone ${run.recorded.msisdn ?? 'none'} (request ${run.recorded.requestId}, since ${run.recorded.since}); this read is audited\n`
        : '  registered owner and phone: withheld; give --basis (a case or request number) to see them, audited\n',
    );
  }
  process.stdout.write(`→ ${summary(decision)}\n`);
  return 0;
}

/** `imeiflow check IMEI [--channel …] [--basis TEXT] [--json]`. */
export function registerCheckCommand(cli: Command, setExit: SetExit): void {
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
}
