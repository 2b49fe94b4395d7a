/**
 * How the process ends, in one place: a fatal error exits for a clean restart (crash-only: the
 * journal makes a restart safe, and guessing what a failed Kafka write did is not), anything
 * thrown where nobody waits for it counts as fatal, and a shutdown stops every step once, in the
 * reverse order of start, each step isolated, under a deadline, reporting whether it was clean.
 */
import { isImeiflowError } from '../errors.js';
import type { Logger } from '../log.js';
import { isStoreFull, storeFullError, withCommitReasons } from '../store/store-full.js';
import type { Component } from './component.js';

/** Exit codes of a fatal error (sysexits.h): a bug or a broken dependency, and a full store. */
export const EXIT_FATAL = 70;
export const EXIT_STORE_FULL = 74;
/** The exit code when the shutdown outlives its deadline. */
export const EXIT_SHUTDOWN_DEADLINE = 1;
const STORE_FULL_GRACE_MS = 250;
/** The shutdown's deadline: the pipeline's drain deadline (`shutdownTimeoutMs`) and this much more. */
const SHUTDOWN_GRACE_MS = 5_000;

/**
 * The error a fatal exit logs: a failed LMDB commit with its reason (lmdb-js keeps it apart), and
 * a store that cannot grow as STORE_FULL naming the data directory and what to do.
 */
export async function fatalErrorOf(error: unknown, dataDir: string): Promise<Error> {
  const explained = await withCommitReasons(error);
  if (isStoreFull(explained)) return storeFullError(dataDir, explained);
  return explained instanceof Error ? explained : new Error(String(explained));
}

/** Resolves with the first of SIGTERM and SIGINT; each handler is registered once. */
export function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

export interface ProcessPolicyOptions {
  readonly log: Logger;
  /** Named by a STORE_FULL error. */
  readonly dataDir: string;
  /** How long the pipeline may drain at shutdown (config `shutdownTimeoutMs`). */
  readonly shutdownTimeoutMs: number;
  /** Ends the process (injected so a test sees the code instead). */
  readonly exit?: (code: number) => void;
}

interface ShutdownStep {
  readonly name: string;
  readonly stop: () => Promise<void> | void;
}

/**
 * Started first, so stopped last: while the service runs, unhandled rejections and uncaught
 * exceptions are fatal. Not ready while shutting down or after a fatal error.
 */
export class ProcessPolicy implements Component {
  readonly name = 'fatal error handlers';
  readonly #options: ProcessPolicyOptions;
  readonly #exit: (code: number) => void;
  readonly #steps: ShutdownStep[] = [];
  #shuttingDown: Promise<boolean> | undefined;
  #fatal = false;
  #closing = false;

  constructor(options: ProcessPolicyOptions) {
    this.#options = options;
    this.#exit = options.exit ?? ((code) => process.exit(code));
  }

  start(): void {
    process.on('unhandledRejection', this.onFatal);
    process.on('uncaughtException', this.onFatal);
  }

  stop(): void {
    process.off('unhandledRejection', this.onFatal);
    process.off('uncaughtException', this.onFatal);
  }

  notReadyReason(): string | null {
    if (this.#closing) return 'shutting down';
    if (this.#fatal) return 'stopping after a fatal error (see the log)';
    return null;
  }

  /** `stop` runs at shutdown after the steps added after it, before those added before it. */
  stopsAtShutdown(name: string, stop: () => Promise<void> | void): void {
    this.#steps.push({ name, stop });
  }

  /** The first fatal error ends the process; later ones are the same failure's echoes. */
  readonly onFatal = (error: unknown): void => {
    if (this.#fatal) return;
    this.#fatal = true;
    const { log, dataDir } = this.#options;
    void fatalErrorOf(error, dataDir).then((err) => {
      if (isImeiflowError(err, 'STORE_FULL')) {
        log.fatal({ err, code: err.code, dataDir }, err.message);
        // A moment's grace lets the control plane answer the request that found the store full
        // (a load: 507). Nothing moves on meanwhile: a partition whose batch failed takes no
        // other (PartitionTask 'failed'), the global tables have stopped, and every write fails.
        setTimeout(() => this.#exit(EXIT_STORE_FULL), STORE_FULL_GRACE_MS);
        return;
      }
      log.fatal(
        { err, code: (err as { code?: unknown }).code },
        'fatal pipeline error; exiting for a clean restart',
      );
      this.#exit(EXIT_FATAL);
    });
  };

  /**
   * Memoised: every call returns the same promise. True when every step stopped cleanly; false
   * when one failed (logged), so the process does not report a clean stop it did not make.
   */
  readonly shutdown = (reason: string): Promise<boolean> => {
    this.#shuttingDown ??= this.#stopAll(reason);
    return this.#shuttingDown;
  };

  async #stopAll(reason: string): Promise<boolean> {
    const { log } = this.#options;
    this.#closing = true;
    let clean = true;
    log.info({ reason }, 'shutting down');
    const deadline = setTimeout(() => {
      log.error('shutdown deadline passed; exiting');
      this.#exit(EXIT_SHUTDOWN_DEADLINE);
    }, this.#options.shutdownTimeoutMs + SHUTDOWN_GRACE_MS);
    deadline.unref();
    // Reverse order of start; each step isolated so one failure does not skip the rest.
    for (const step of [...this.#steps].reverse()) {
      try {
        await step.stop();
      } catch (error) {
        clean = false;
        log.error({ step: step.name, err: error }, 'shutdown step failed');
      }
    }
    clearTimeout(deadline);
    log.info({ clean }, clean ? 'stopped' : 'stopped, with a failed step (see above)');
    return clean;
  }
}
