/** `imeiflow check IMEI`: decide one request from local state and say why, rule by rule. */

import type { Config } from '../config/config.js';
import { validateRequest } from '../domain/request.js';
import { decide, ruleSettings } from '../domain/rules.js';
import type { Channel, Decision } from '../domain/types.js';
import { ImeiflowError, messageOf } from '../errors.js';
import { lmdbIndexView } from '../store/index-view.js';
import { openStore, type Store } from '../store/store.js';

export interface CheckOptions {
  readonly channel: Channel;
  readonly owner?: string;
  readonly msisdn?: string;
  readonly application?: string;
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

export async function runCheck(config: Config, imei: string, options: CheckOptions): Promise<number> {
  let store: Store;
  try {
    store = openStore({ dataDir: config.dataDir, readOnly: true });
  } catch (error) {
    throw new ImeiflowError(
      'STORE_OPEN_FAILED',
      `no imeiflow state under ${config.dataDir} (${messageOf(error)}); load a TAC table first (imeiflow load-tac FILE)`,
      { cause: error },
    );
  }
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
    if (parsed.kind !== 'ok') {
      const detail = parsed.kind === 'invalid' ? parsed.detail : parsed.error;
      process.stderr.write(`imeiflow check: ${detail}\n`);
      return 2;
    }
    const steps: string[] = [];
    const { decision } = decide(
      parsed.request,
      null,
      lmdbIndexView(store),
      ruleSettings(config.rules),
      (step) => steps.push(step),
    );
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ decision, steps })}\n`);
    } else {
      for (const step of steps) process.stdout.write(`  ${step}\n`);
      process.stdout.write(`→ ${summary(decision)}\n`);
    }
    return 0;
  } finally {
    await store.close();
  }
}
