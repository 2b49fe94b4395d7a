/**
 * Who sees KGD's customs data, and how much of it. The data is confidential and used only for
 * verification (seed 000 §14–15); seed 001's appendices grant access per role and per service, a
 * service either whole ("+") or reduced ("қысқартылған": the pension service without amounts,
 * the pre-trial register without persons and facts). imeiflow does the same with declarations:
 *
 * - `full` — application, procedure, status, HS code, decision time: `kgd` (its own data, seed
 *   000 §8), `reviewer` (confirms imports by hand from exactly these fields, seed 000 §10),
 *   `admin` (loads the monthly KGD export, seed 000 §11).
 * - `reduced` — per declaration only its status and whether it proves legal entry: `operator`.
 *   Operators are not a party to the KGD exchange (seed 000 §7 names only KGD's systems and the
 *   monitoring system); what their job needs is why a device is or is not verified, not which
 *   importer's application brought it in.
 * - `none` — `sre`: no task of theirs needs customs data, so they get none.
 */

import type { CustomsView } from '../domain/customs-view.js';
import { inScope, provesEntry, type RuleSettings } from '../domain/rule-settings.js';
import type { DeclarationEntry, DeclarationStatus } from '../domain/types.js';
import type { Role } from './roles.js';

export const CUSTOMS_VIEWS = {
  operator: 'reduced',
  kgd: 'full',
  reviewer: 'full',
  sre: 'none',
  admin: 'full',
} as const satisfies Record<Role, CustomsView>;

export function customsViewOf(role: Role): CustomsView {
  return CUSTOMS_VIEWS[role];
}

/** A declaration in the reduced view: what it means for the device, not whose it is. */
export interface ReducedDeclaration {
  readonly status: DeclarationStatus;
  /** Released under a procedure that proves legal entry (seed 000 §8), within the HS scope (appendix 1). */
  readonly provesEntry: boolean;
}

/** A device's declarations as `view` shows them; null when the view shows none. */
export function declarationsInView(
  view: CustomsView,
  entries: readonly DeclarationEntry[],
  rules: RuleSettings,
): readonly DeclarationEntry[] | readonly ReducedDeclaration[] | null {
  switch (view) {
    case 'full':
      return entries;
    case 'reduced':
      return entries.map((e) => ({
        status: e.status,
        provesEntry: e.status === 'released' && provesEntry(e.procedure, rules) && inScope(e.hsCode, rules),
      }));
    case 'none':
      return null;
  }
}
