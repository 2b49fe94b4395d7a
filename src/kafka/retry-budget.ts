/**
 * Bounded retries for a consumer's loop (issue 20): a failure is logged and tried again after a
 * pause; `limit` failures in a row stop the process with a named fatal error, and a restart
 * resumes at the stored positions. Any success resets the count. Without a bound, a loop that can
 * never succeed spins forever and the instance looks alive while it does nothing.
 */
import { ImeiflowError } from '../errors.js';
import type { Logger } from '../log.js';

export class RetryBudget {
  readonly #what: string;
  readonly #limit: number;
  readonly #log: Logger;
  readonly #onFatal: (error: Error) => void;
  #failures = 0;

  constructor(what: string, limit: number, log: Logger, onFatal: (error: Error) => void) {
    this.#what = what;
    this.#limit = limit;
    this.#log = log;
    this.#onFatal = onFatal;
  }

  /** Failures in a row so far. */
  get failures(): number {
    return this.#failures;
  }

  /**
   * A failure. True: pause and try again. False: the budget is spent, `onFatal` has been called
   * with RETRIES_EXHAUSTED, and the loop must stop.
   */
  failed(error: unknown): boolean {
    this.#failures++;
    if (this.#failures >= this.#limit) {
      this.#onFatal(
        new ImeiflowError(
          'RETRIES_EXHAUSTED',
          `${this.#what} failed ${this.#failures} times in a row; stopping`,
          {
            cause: error,
          },
        ),
      );
      return false;
    }
    this.#log.warn(
      { err: error, attempt: this.#failures, limit: this.#limit },
      `${this.#what} failed; retrying`,
    );
    return true;
  }

  succeeded(): void {
    this.#failures = 0;
  }
}
