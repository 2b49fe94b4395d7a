/**
 * Operators are tenants (DESIGN.md §4): each one's results go to a topic of its own, so Kafka
 * ACLs can give each operator only its own. A worker marks every result with its operator's
 * tenant code (the `tenant` of its output entry, batch-contract.ts) and the main thread, or a
 * recovery reading the journal, sends it to that operator's topic.
 *
 * The code is a hash of the operator's name, not its place in the configured list: a journal
 * record written before the list changed still names the same operator after it (a list index
 * would move every later operator's results onto its neighbour's topic). Two configured
 * operators with the same code are refused at start (`collidingOperators`). 0 is the shared topic:
 * an operator not configured, a request whose operator cannot be read, or results kept on one
 * topic for everyone (`results.perOperator` false).
 */
import type { ResultView } from '../domain/outputs.js';

/** The shared results topic's code. */
export const SHARED_TENANT = 0;

/** 32-bit FNV-1a of the operator's name (UTF-16 code units), never SHARED_TENANT. */
export function tenantCode(operator: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < operator.length; i++) {
    hash ^= operator.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash === SHARED_TENANT ? 1 : hash;
}

/** Two configured operators whose codes are equal, if any: their results would share a topic. */
export function collidingOperators(operators: readonly string[]): readonly [string, string] | undefined {
  const seen = new Map<number, string>();
  for (const operator of operators) {
    const code = tenantCode(operator);
    const other = seen.get(code);
    if (other !== undefined && other !== operator) return [other, operator];
    seen.set(code, operator);
  }
  return undefined;
}

/** What a worker needs to write results: whose topic each goes to, and how much customs data. */
export interface ResultSettings {
  /** Operators with a results topic of their own (empty: every result on the shared topic). */
  readonly operators: readonly string[];
  /** Results carry KGD's application, procedure and grounds only in the `full` view. */
  readonly customsView: ResultView;
}

/** Everything on the shared topic, as made: what a writer gets when nothing says otherwise. */
export const SHARED_RESULTS: ResultSettings = { operators: [], customsView: 'full' };

/** The tenant code of each configured operator; SHARED_TENANT for any other. */
export class ResultTenants {
  readonly #codes: ReadonlyMap<string, number>;

  constructor(operators: readonly string[]) {
    this.#codes = new Map(operators.map((operator) => [operator, tenantCode(operator)]));
  }

  codeOf(operator: string | null | undefined): number {
    if (operator === null || operator === undefined) return SHARED_TENANT;
    return this.#codes.get(operator) ?? SHARED_TENANT;
  }
}
