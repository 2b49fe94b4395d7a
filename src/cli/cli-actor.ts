/**
 * Who a command-line action is recorded as in the audit trail: the operating-system user. The
 * command line needs no token — whoever can open the data directory can do anything with it —
 * so its entries carry the role `admin`, the access a shell on the data directory amounts to.
 */
import { userInfo } from 'node:os';

export const CLI_ROLE = 'admin';

export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    // A container user with no passwd entry has no name (userInfo throws): its uid will do.
    return `cli:uid-${process.getuid?.() ?? 'unknown'}`;
  }
}
