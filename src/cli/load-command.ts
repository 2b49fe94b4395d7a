/**
 * The load-* commands: stream the file to the cluster (or, with none to reach, into this data
 * directory's store: src/cli/cluster-link.ts), record the load in the audit trail, print the
 * report.
 */
import { basename, resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import type { Config } from '../config/config.js';
import { loadConfig } from '../config/config.js';
import { parseYearMonth } from '../domain/kgd-export.js';
import type { KgdExportContext, KgdExportOutcome } from '../loaders/kgd-export-month.js';
import type { LoadProgress } from '../loaders/load-table.js';
import { type LoadKind, type LoadResult, load, loadAction, loadTarget } from '../loaders/loads.js';
import { type AuditEvent, AuditLog, auditEntryOf, kafkaAuditPublisher } from '../security/audit-log.js';
import { storeOptionsOf } from '../store/encryption.js';
import { openStore } from '../store/store.js';
import { CLI_ROLE, cliActor } from './cli-actor.js';
import { linkToCluster } from './cluster-link.js';
import type { SetExit } from './exit-codes.js';

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

/** What the report says about a KGD export's month. */
function exportLines(outcome: KgdExportOutcome): string[] {
  const lines = [
    outcome.month === null
      ? '  not recorded as a KGD monthly export'
      : `  recorded as the KGD monthly export of ${outcome.month} (${outcome.from === 'option' ? 'the month given' : "from the decisions' dates"})`,
  ];
  for (const w of outcome.warnings) lines.push(`  ${w}`);
  return lines;
}

export function formatReport(report: LoadResult): string {
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
  if (report.rowsOutOfScope > 0) {
    lines.push(
      `  ${number.format(report.rowsOutOfScope)} rows outside the exchange's scope (HS code not in rules.hsCodesInScope): their IMEIs are not stored`,
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
  if (report.kgdExport !== undefined) lines.push(...exportLines(report.kgdExport));
  return lines.join('\n');
}

export interface RunLoadOptions {
  readonly json: boolean;
  /** Why (e.g. the number of KGD's covering letter, seed 000 §11); recorded with the load. */
  readonly basis?: string;
  /** A KGD export's month (`--month`), `YYYY-MM`; absent: from its decisions' dates. */
  readonly month?: string;
}

export async function runLoad(
  config: Config,
  kind: LoadKind,
  file: string,
  options: RunLoadOptions,
): Promise<number> {
  const onProgress = options.json ? undefined : progressBar('loading');
  const progress = {
    hsCodesInScope: config.rules.hsCodesInScope,
    ...(onProgress === undefined ? {} : { onProgress }),
  };
  const actor = cliActor();
  const event = (report: LoadResult): AuditEvent => ({
    actor,
    role: CLI_ROLE,
    action: loadAction(kind),
    basis: options.basis ?? null,
    target: `${resolve(file)}: ${loadTarget(report)}`,
  });
  const kgdExport: KgdExportContext = {
    actor,
    fileName: basename(file),
    month: options.month ?? null,
    utcOffsetMinutes: config.pending.utcOffsetMinutes,
  };
  const link = await linkToCluster(config);
  let report: LoadResult;
  if (link !== undefined) {
    try {
      process.stderr.write(`loading into the cluster at ${link.bootstrapServers} (${link.via})\n`);
      report = await load(
        kind,
        { kind: 'cluster', cluster: { sink: link.producer, topics: config.topics } },
        file,
        progress,
        kgdExport,
      );
      if (onProgress !== undefined) process.stderr.write('\n');
      // Every load is audited, whichever door it came through (seed 001 §31).
      await kafkaAuditPublisher(link.producer, config.topics.audit, link.signer)(auditEntryOf(event(report)));
    } finally {
      await link.close();
    }
  } else {
    const store = openStore(storeOptionsOf(config));
    const audit = new AuditLog(store, config.dataDir);
    try {
      process.stderr.write(`no cluster to reach: loading into the store in ${config.dataDir}\n`);
      report = await load(kind, { kind: 'local', store }, file, progress, kgdExport);
      if (onProgress !== undefined) process.stderr.write('\n');
      await audit.record(event(report));
    } finally {
      await audit.close();
      await store.close();
    }
  }
  process.stdout.write(`${options.json ? JSON.stringify(report) : formatReport(report)}\n`);
  return report.rowsRejected > 0 ? 1 : 0;
}

/** `imeiflow load-tac|load-declarations|load-blocklist|load-local-production FILE`. */
export function registerLoadCommands(cli: Command, setExit: SetExit): void {
  const loadCommand = (name: string, what: string, kind: LoadKind): void => {
    const command = cli
      .command(`${name} <file>`)
      .description(
        `load ${what} for the whole cluster (KAFKA_BROKERS, or the running embedded service; else this data directory); idempotent; bad rows are reported by line`,
      )
      .option('--json', 'print the load report as one JSON line')
      .option('--basis <text>', 'why, recorded in the audit trail (e.g. the covering letter number)');
    if (kind === 'declarations')
      command.option(
        '--month <YYYY-MM>',
        "the month this monthly export covers (default: the month more than half of its decisions' dates fall in)",
        (text: string) => {
          const month = parseYearMonth(text);
          if (month instanceof Error) throw new InvalidArgumentError(month.message);
          return month;
        },
      );
    command.action(async (file: string, opts: { json?: boolean; basis?: string; month?: string }) => {
      setExit(
        await runLoad(loadConfig(), kind, file, {
          json: opts.json === true,
          ...(opts.basis === undefined ? {} : { basis: opts.basis }),
          ...(opts.month === undefined ? {} : { month: opts.month }),
        }),
      );
    });
  };
  loadCommand('load-tac', 'a GSMA TAC database export (CSV, | or , separated)', 'tac');
  loadCommand('load-declarations', 'the KGD declarations export (CSV or XLSX)', 'declarations');
  loadCommand('load-blocklist', 'a block list (CSV)', 'blocklist');
  loadCommand('load-local-production', 'devices produced or repaired in Kazakhstan (CSV)', 'localProduction');
}
