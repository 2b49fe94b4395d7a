/**
 * bench/store-writes: what one LMDB record at a key of its own costs this machine, the unit that
 * imeiflow's stores are paid in (bench/batch prints how many such records a request adds). One
 * database of `--entries` records at random 20-character keys, filled first; then records put at
 * new random keys in transactions of `--large` and of `--small` records (a batch at full load and
 * one at half load), each awaited as a worker awaits its batch's commit. For each: CPU (user and
 * system) per record, and what the process wrote per record, through its write calls and to
 * storage (bench/lib/proc-io.ts). The same for plain 4 KiB writes at random places in a file, each
 * transaction's worth then synced, as the floor a page written costs.
 *
 * Two more rows say where LMDB's storage factor comes from: the page cache. A page written into
 * a large folio (Linux 6.x keeps a file written in large runs in folios of up to 2 MiB, on ext4
 * from 6.16 and on XFS) sends the whole folio to storage. LMDB writes its new pages in runs, so
 * its file is kept in large folios; a file filled in 1 MiB writes shows the same factor without
 * LMDB, and LMDB writing through its memory map (`useWritemap` with `noReadAhead`: each page
 * faulted in alone) shows none.
 *
 *   node dist/bench/store-writes.js [--entries 400000] [--large 4096] [--small 100] [--record]
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { ioBytes, kbPerRequest } from './lib/proc-io.js';
import { emit, note, numberArg } from './lib/report.js';

const entries = numberArg('entries', 400_000);
const large = numberArg('large', 4096);
const small = numberArg('small', 100);
/** Records put in each measured round. */
const ROUND = 200_000;
const PAGE = 4096;
/** How the second file is filled: writes of 1 MiB, as a copy or LMDB's runs of new pages write. */
const RUN = 1024 * 1024;
/** The value put: about the size of a stored outcome's fields besides its sealed blob. */
const recordValue = () => ({
  requestId: randomBytes(16).toString('hex'),
  outcome: 'confirmed',
  at: Date.now(),
  pad: 'x'.repeat(120),
});

interface PerRecord {
  readonly user_us: number;
  readonly system_us: number;
  readonly written_kb: { calls: number; storage: number } | undefined;
}

/** `count` rounded up to whole transactions (or syncs) of `per`: what `measured` divides by. */
const whole = (count: number, per: number): number => Math.ceil(count / per) * per;

/** CPU and writes of `work`, per record of `count`. */
async function measured(count: number, work: () => Promise<void>): Promise<PerRecord> {
  const io = ioBytes('self');
  const cpu = process.cpuUsage();
  await work();
  const used = process.cpuUsage(cpu);
  const per = (us: number): number => Math.round((us / count) * 10) / 10;
  return {
    user_us: per(used.user),
    system_us: per(used.system),
    written_kb: kbPerRequest(io, ioBytes('self'), count),
  };
}

/** A record's CPU and writes in LMDB opened with `options`, in large and in small transactions. */
async function lmdbPerRecord(
  path: string,
  options: { useWritemap?: boolean; noReadAhead?: boolean },
): Promise<{ large: PerRecord; small: PerRecord }> {
  const env = open({ path, maxDbs: 2, ...options });
  try {
    const db = env.openDB<unknown, string>({ name: 'records' });
    const value = recordValue();
    // Whole transactions of `perTransaction`: `count` rounded up to them (`whole`).
    const putRecords = async (count: number, perTransaction: number): Promise<void> => {
      for (let done = 0; done < count; done += perTransaction) {
        await env.transaction(() => {
          for (let i = 0; i < perTransaction; i++) void db.put(randomBytes(10).toString('hex'), value);
        });
      }
    };
    note(`filling ${entries} records (${JSON.stringify(options)})`);
    await putRecords(entries, large);
    return {
      large: await measured(whole(ROUND, large), () => putRecords(ROUND, large)),
      small: await measured(whole(ROUND / 4, small), () => putRecords(ROUND / 4, small)),
    };
  } finally {
    await env.close();
  }
}

/**
 * The floor: a page written at a random place of a file as large as the store, synced. The file
 * is first written whole in writes of `fillBytes`; the page cache keeps it in folios of about
 * that size (Linux 6.x large folios on ext4 and XFS), and a page written later into a large
 * folio dirties it whole, so the whole folio goes to storage at the sync.
 */
async function filePerPage(path: string, fillBytes: number): Promise<{ large: PerRecord; small: PerRecord }> {
  const fd = openSync(path, 'w+');
  try {
    const pages = Math.ceil((entries * 400) / PAGE);
    const fill = Buffer.alloc(fillBytes, 1);
    for (let at = 0; at < pages * PAGE; at += fillBytes) writeSync(fd, fill, 0, fillBytes, at);
    fdatasyncSync(fd);
    const page = Buffer.alloc(PAGE, 2);
    const writePages = async (count: number, perSync: number): Promise<void> => {
      for (let done = 0; done < count; done += perSync) {
        for (let i = 0; i < perSync; i++)
          writeSync(fd, page, 0, PAGE, Math.floor(Math.random() * pages) * PAGE);
        fdatasyncSync(fd);
      }
    };
    return {
      large: await measured(whole(ROUND, large), () => writePages(ROUND, large)),
      small: await measured(whole(ROUND / 4, small), () => writePages(ROUND / 4, small)),
    };
  } finally {
    closeSync(fd);
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'imeiflow-bench-store-writes-'));
  try {
    emit(
      'store-writes',
      {
        entries,
        large,
        small,
        value_bytes: JSON.stringify(recordValue()).length,
        key: '20 hex characters, random',
      },
      {
        // As the service opens its store.
        lmdb_per_record: await lmdbPerRecord(join(dir, 'store.mdb'), {}),
        // Pages written through the memory map, which faults them in one page each (no read-ahead).
        lmdb_writemap_per_record: await lmdbPerRecord(join(dir, 'writemap.mdb'), {
          useWritemap: true,
          noReadAhead: true,
        }),
        file_per_page: await filePerPage(join(dir, 'pages'), PAGE),
        file_per_page_filled_in_runs: await filePerPage(join(dir, 'runs'), RUN),
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
