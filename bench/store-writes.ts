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

interface PerRecord {
  readonly user_us: number;
  readonly system_us: number;
  readonly written_kb: { calls: number; storage: number } | undefined;
}

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

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'imeiflow-bench-store-writes-'));
  try {
    const env = open({ path: join(dir, 'store.mdb'), maxDbs: 2 });
    const db = env.openDB<unknown, string>({ name: 'records' });
    // About the size of a stored outcome's fields besides its sealed blob.
    const value = {
      requestId: randomBytes(16).toString('hex'),
      outcome: 'confirmed',
      at: Date.now(),
      pad: 'x'.repeat(120),
    };
    // Whole transactions of `perTransaction`: `count` rounded up to them (measured() divides by it).
    const putRecords = async (count: number, perTransaction: number): Promise<void> => {
      for (let done = 0; done < count; done += perTransaction) {
        await env.transaction(() => {
          for (let i = 0; i < perTransaction; i++) void db.put(randomBytes(10).toString('hex'), value);
        });
      }
    };
    const whole = (count: number, per: number): number => Math.ceil(count / per) * per;
    note(`filling ${entries} records`);
    await putRecords(entries, large);
    const lmdb = {
      large: await measured(whole(ROUND, large), () => putRecords(ROUND, large)),
      small: await measured(whole(ROUND / 4, small), () => putRecords(ROUND / 4, small)),
    };
    await env.close();

    // The floor: a page written at a random place of a file as large as the store, synced.
    const path = join(dir, 'pages');
    const fd = openSync(path, 'w+');
    const pages = Math.ceil((entries * 400) / PAGE);
    const page = Buffer.alloc(PAGE, 1);
    for (let i = 0; i < pages; i++) writeSync(fd, page, 0, PAGE, i * PAGE);
    fdatasyncSync(fd);
    const writePages = async (count: number, perSync: number): Promise<void> => {
      for (let done = 0; done < count; done += perSync) {
        for (let i = 0; i < perSync; i++)
          writeSync(fd, page, 0, PAGE, Math.floor(Math.random() * pages) * PAGE);
        fdatasyncSync(fd);
      }
    };
    const file = {
      large: await measured(whole(ROUND, large), () => writePages(ROUND, large)),
      small: await measured(whole(ROUND / 4, small), () => writePages(ROUND / 4, small)),
    };
    closeSync(fd);
    emit(
      'store-writes',
      { entries, large, small, value_bytes: JSON.stringify(value).length, key: '20 hex characters, random' },
      { lmdb_per_record: lmdb, file_per_page: file },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
