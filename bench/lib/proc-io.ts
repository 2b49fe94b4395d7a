/**
 * What a process writes, from Linux's /proc/<pid>/io (proc(5)): `wchar`, the bytes its write calls
 * passed to the kernel (files and sockets alike), and `write_bytes` less `cancelled_write_bytes`,
 * the bytes it caused to be sent to storage (counted as pages are dirtied; those truncated before
 * writeback taken off). For LMDB on this machine the second is several times the first
 * (docs/performance.md, "What a request writes"). Undefined where there is no /proc (not Linux)
 * or the process has gone.
 */
import { readFileSync } from 'node:fs';

export interface IoBytes {
  /** wchar: bytes passed to write calls. */
  readonly calls: number;
  /** write_bytes − cancelled_write_bytes: bytes sent to storage. */
  readonly storage: number;
}

export function ioBytes(pid: number | 'self'): IoBytes | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/io`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string): number =>
    Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { calls: field('wchar'), storage: field('write_bytes') - field('cancelled_write_bytes') };
}

/** KB per request between two readings (one decimal); undefined when either is missing. */
export function kbPerRequest(
  before: IoBytes | undefined,
  after: IoBytes | undefined,
  requests: number,
): { calls: number; storage: number } | undefined {
  if (before === undefined || after === undefined) return undefined;
  const per = (bytes: number): number => Math.round((bytes / 1024 / requests) * 10) / 10;
  return { calls: per(after.calls - before.calls), storage: per(after.storage - before.storage) };
}
