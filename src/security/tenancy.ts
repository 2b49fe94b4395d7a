/**
 * Operators are tenants (DESIGN.md §4; issue 22): each mobile operator's account acts for one
 * operator, named by its code (the `operator` of the requests it sends), and reads only its own.
 * Subscribers' owners and phones are personal data (seed 000 §14–15), read only for the purpose
 * stated (seed 001 §9): an operator's purpose is its own subscribers' registrations, never a
 * competitor's.
 *
 * What an operator may read of a device's personal data:
 *
 * - its own waiting requests (the review table's entries whose `operator` is its code), owner and
 *   phone included with a basis; another operator's waiting requests not at all, not even as a
 *   status;
 * - a registration's owner and phone for the devices it registered (the registry records the
 *   operator whose request registered a device: RegistryEntry.operator, from the request's
 *   `operator`, and БДИК's confirmation names it), and for a device registered by another operator
 *   only while it asks about that device in a waiting request of its own (an owner conflict it
 *   must resolve with its subscriber). A registration recorded before imeiflow kept its operator
 *   (`operator` null) is read only through such a waiting request.
 *
 * An operator account that names no operator — a token whose `create` event was written before
 * operators were tenants, or a certificate mapping without `operator` — is `unbound`: it keeps what
 * needs no tenancy (device status, loads, dry runs of unregistered devices), reads no personal data
 * (`operator-unbound`, 403) and sees nobody's waiting requests. A new token for it
 * (`imeiflow token create --operator CODE`) binds it.
 */
import type { PendingEntry } from '../domain/types.js';
import type { Role } from './roles.js';

/** An operator code: what a request's `operator` says, and a topic-name-safe word. */
export const OPERATOR_CODE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isOperatorCode(code: string): boolean {
  return OPERATOR_CODE.test(code);
}

/** What an account is, as far as tenancy goes. */
export interface TenantAccount {
  readonly role: Role;
  /** The operator code of an `operator` account; null for other roles and unbound operators. */
  readonly operator: string | null;
}

/** Whom an account answers for. */
export type Tenancy =
  /** Not an operator: the telecom committee's reviewers and admins, KGD, SREs, by role. */
  | { readonly kind: 'all' }
  | { readonly kind: 'operator'; readonly operator: string }
  /** An operator account that names no operator. */
  | { readonly kind: 'unbound' };

export function tenancyOf(account: TenantAccount): Tenancy {
  if (account.role !== 'operator') return { kind: 'all' };
  return account.operator === null ? { kind: 'unbound' } : { kind: 'operator', operator: account.operator };
}

/** Whether the account sees a waiting request at all (and its owner, with a basis). */
export function seesWaiting(tenancy: Tenancy, entry: PendingEntry): boolean {
  switch (tenancy.kind) {
    case 'all':
      return true;
    case 'operator':
      return entry.request.operator === tenancy.operator;
    case 'unbound':
      return false;
  }
}

/**
 * Whether the account may read a registration of the device: its owner and phone (with a basis),
 * the request that registered it, and whatever rule 5 decides from them. `waiting`: every waiting
 * request for the device; `registeredBy`: the operator that registered it, null when not
 * recorded.
 */
export function readsRegistration(
  tenancy: Tenancy,
  waiting: readonly PendingEntry[],
  registeredBy: string | null,
): boolean {
  switch (tenancy.kind) {
    case 'all':
      return true;
    case 'operator':
      return registeredBy === tenancy.operator || waiting.some((entry) => seesWaiting(tenancy, entry));
    case 'unbound':
      return false;
  }
}

/** Why an operator was not shown a registration: said in the answer, so it knows what would. */
export const REGISTRATION_WITHHELD =
  'withheld: an operator reads the owner and phone of a device it registered, or of a device another operator registered only while it asks about the device in a waiting request of its own';

/** What an unbound operator account is told when it asks for personal data. */
export const UNBOUND_DETAIL =
  'this operator account names no operator, so it reads no personal data: create a new token with `imeiflow token create --name NAME --role operator --operator CODE` (or add `operator` to its client-certificate mapping)';
