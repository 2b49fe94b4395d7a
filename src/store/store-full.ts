/**
 * LMDB cannot grow: its map is full (MDB_MAP_FULL) or the disk under it is (ENOSPC). Nothing is
 * lost — the failed transaction is not committed and the positions it covered are not moved —
 * but nothing can go on either: the service stops taking input with an error that says where and
 * what to do, and a restart with room continues where it stopped.
 */
import { ImeiflowError } from '../errors.js';

/** lmdb-js reports MDB_MAP_FULL with this code. */
const MDB_MAP_FULL = -30792;

export function isStoreFull(error: unknown): boolean {
  for (let e: unknown = error; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (code === MDB_MAP_FULL || code === 'ENOSPC') return true;
    if (typeof message === 'string' && /MDB_MAP_FULL|ENOSPC|No space left on device/.test(message))
      return true;
  }
  return false;
}

export function storeFullError(dataDir: string, cause: unknown): ImeiflowError {
  return new ImeiflowError(
    'STORE_FULL',
    `the LMDB store in ${dataDir} is full (its map size or the disk under it): nothing was lost and ` +
      'input has stopped; give it room (a larger IMEIFLOW_STORE_MAP_SIZE_GIB, or free disk) and restart: ' +
      'it continues where it stopped',
    { cause },
  );
}
