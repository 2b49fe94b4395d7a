/**
 * KGD's order of its own decisions (DESIGN.md §4, Delivery): an application's state, and each
 * IMEI's entry under it, is KGD's latest decision — whatever the order in which the decisions
 * arrive, on the topic or from files, and however often one arrives again.
 *
 * Decisions are ranked by one total order, and the state is the greatest decision seen:
 *
 * 1. A decision (released, refused, revoked) outranks a status that decides nothing yet
 *    (registered, submitted, in the risk check): the lifecycle of seed 002 §8 only moves from the
 *    undecided statuses to a decision, so an undecided row never takes a decision back.
 * 2. A decision with a time (`decidedAt`) outranks one without: a later file's row without a time
 *    never overrides a timed decision, and a timed one always overrides an untimed one.
 * 3. The later `decidedAt` wins.
 * 4. At the same time (or both untimed), the withdrawal wins: revoked over refused over released.
 *    A conflict KGD has not resolved errs on the side of not vouching for the device.
 * 5. Then the rest of the decision (procedure, HS code, grounds) compared as text, only so that the
 *    result does not depend on arrival order; two such decisions are KGD's error.
 *
 * Because "the greatest seen" is commutative, associative and idempotent, every instance, every
 * replay and every reload ends in the same state (test/unit/kgd-order.test.ts shuffles inputs).
 */
import type { DeclarationStatus } from './types.js';

/** What of a decision the order compares: a declaration entry or an application record. */
export interface DecisionFacts {
  readonly status: DeclarationStatus;
  readonly decidedAt: string | null;
  readonly procedure: string | null;
  readonly hsCode: string | null;
  readonly grounds?: string;
}

/** Statuses by rule 4; `registered` stands for every status that decides nothing yet. */
const RANK: Readonly<Record<DeclarationStatus, number>> = {
  registered: 0,
  released: 1,
  refused: 2,
  revoked: 3,
};

/** Whether a status is a decision: released, refused or revoked. */
export function isDecided(status: DeclarationStatus): boolean {
  return status !== 'registered';
}

/** Whether a status withdraws what a release proved (rule 9; a refusal after a release). */
export function isWithdrawal(status: DeclarationStatus): boolean {
  return status === 'refused' || status === 'revoked';
}

function timeOf(decidedAt: string | null): number {
  return decidedAt === null ? Number.NaN : Date.parse(decidedAt);
}

function restOf(d: DecisionFacts): string {
  return `${d.procedure ?? ''}\u0000${d.hsCode ?? ''}\u0000${d.grounds ?? ''}`;
}

/** Negative when `a` comes before `b` in KGD's order, positive after, 0 when they are the same decision. */
export function compareDecisions(a: DecisionFacts, b: DecisionFacts): number {
  const decided = Number(isDecided(a.status)) - Number(isDecided(b.status));
  if (decided !== 0) return decided;
  const ta = timeOf(a.decidedAt);
  const tb = timeOf(b.decidedAt);
  const timed = Number(!Number.isNaN(ta)) - Number(!Number.isNaN(tb));
  if (timed !== 0) return timed;
  if (!Number.isNaN(ta) && ta !== tb) return ta < tb ? -1 : 1;
  const rank = RANK[a.status] - RANK[b.status];
  if (rank !== 0) return rank;
  const ra = restOf(a);
  const rb = restOf(b);
  return ra < rb ? -1 : ra > rb ? 1 : 0;
}

/** The decision that stands of two: `current` unless `incoming` comes after it. */
export function latestOf<D extends DecisionFacts>(current: D | undefined, incoming: D): D {
  return current === undefined || compareDecisions(incoming, current) > 0 ? incoming : current;
}
