/** The load-* commands: open the store, stream the file, record the load in the audit trail, print the report. */
import { resolve } from 'node:path';
import type { Config } from '../config/config.js';
import type { LoadOptions, LoadProgress, LoadReport } from '../loaders/load-table.js';
import { AuditLog } from '../security/audit-log.js';
import { storeOptionsOf } from '../store/encryption.js';
import { openStore, type Store } from '../store/store.js';
import { CLI_ROLE, cliActor } from './cli-actor.js';

export type Loader = (store: Store, file: string, options?: LoadOptions) => Promise<LoadReport>;

const number = new Intl.NumberFormat('en-US');

function progressBar(label: string): ((p: LoadProgress) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (p) => {
    const share = p.totalBytes > 0 ? Math.min(1, p.bytesRead / p.totalBytes) : 0;
    const width = 30;
    const filled = Math.round(share * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    process.stderr.write(
      `\r${label} ${bar} ${(share * 100).toFixed(0).padStart(3)}%  ${number.format(p.rowsRead)} rows, ${number.format(p.rowsRejected)} rejected`,
    );
  };
}

export function formatReport(report: LoadReport): string {
  const lines = [
    `${report.file}: ${report.what} (${report.format}): ${number.format(report.rowsRead)} rows read, ` +
      `${number.format(report.rowsLoaded)} loaded, ${number.format(report.rowsRejected)} rejected ` +
      `in ${(report.durationMs / 1000).toFixed(2)} s (${number.format(report.rowsPerSecond)} rows/s)`,
  ];
  const { header } = report;
  if (header.line !== 1 || header.sheet !== null) {
    lines.push(
      `  header at ${report.format === 'xlsx' ? 'row' : 'line'} ${header.line}${header.sheet === null ? '' : ` of sheet ${JSON.stringify(header.sheet)}`}`,
    );
  }
  for (const r of report.rejections) lines.push(`  line ${r.line}: ${r.error}`);
  const unlisted = report.rowsRejected - report.rejections.length;
  if (unlisted > 0) lines.push(`  … and ${number.format(unlisted)} more rejected rows`);
  if (report.rowsWarned > 0) {
    lines.push(`  ${number.format(report.rowsWarned)} rows loaded with a warning:`);
    for (const w of report.warnings) lines.push(`  line ${w.line}: ${w.warning}`);
    const unlistedWarnings = report.rowsWarned - new Set(report.warnings.map((w) => w.line)).size;
    if (unlistedWarnings > 0)
      lines.push(`  … and ${number.format(unlistedWarnings)} more rows with warnings`);
  }
  return lines.join('\n');
}

export interface RunLoadOptions {
  readonly json: boolean;
  /** The audit action, as the HTTP loads name it: `load.tac`, `load.declarations`, … */
  readonly action: string;
  /** Why (e.g. the number of KGD's covering letter, seed 000 §11); recorded with the load. */
  readonly basis?: string;
}

export async function runLoad(
  config: Config,
  loader: Loader,
  file: string,
  options: RunLoadOptions,
): Promise<number> {
  const store = openStore(storeOptionsOf(config));
  const audit = new AuditLog(store, config.dataDir);
  try {
    const onProgress = options.json ? undefined : progressBar('loading');
    const report = await loader(store, file, onProgress === undefined ? {} : { onProgress });
    if (onProgress !== undefined) process.stderr.write('\n');
    // Every load is audited, whichever door it came through (seed 001 §31).
    await audit.record({
      actor: cliActor(),
      role: CLI_ROLE,
      action: options.action,
      basis: options.basis ?? null,
      target: `${resolve(file)}: ${report.rowsLoaded} rows loaded, ${report.rowsRejected} rejected`,
    });
    process.stdout.write(`${options.json ? JSON.stringify(report) : formatReport(report)}\n`);
    return report.rowsRejected > 0 ? 1 : 0;
  } finally {
    await audit.close();
    await store.close();
  }
}
