/**
 * A state machine as a table of legal transitions, checked on every change (issue 21): a move the
 * table does not list throws, naming the machine, its state and the move, instead of leaving a
 * part in a state its code never expected. A partition task's states (Kafka Streams'
 * Task.State, src/pipeline/partition-task.ts) and every consumer loop's lifecycle are such tables.
 *
 * This module imports nothing: any part of the service may use it.
 */

/** Each state with the states it may move to. */
export type Transitions<S extends string> = Readonly<Record<S, readonly S[]>>;

export class StateMachine<S extends string> {
  readonly #name: string;
  readonly #transitions: Transitions<S>;
  #state: S;

  constructor(name: string, initial: S, transitions: Transitions<S>) {
    this.#name = name;
    this.#state = initial;
    this.#transitions = transitions;
  }

  get state(): S {
    return this.#state;
  }

  is(state: S): boolean {
    return this.#state === state;
  }

  /** Whether the table allows moving from the current state to `next`. */
  allows(next: S): boolean {
    return this.#transitions[this.#state].includes(next);
  }

  /** Moves to `next`, which must be a legal successor of the current state. */
  to(next: S): void {
    if (!this.allows(next)) throw new Error(`${this.#name}: illegal transition ${this.#state} → ${next}`);
    this.#state = next;
  }
}

/** A loop's lifecycle: it runs once, and a stop before its start leaves nothing to wait for. */
export type LoopState = 'created' | 'running' | 'stopping' | 'stopped';

export const LOOP_TRANSITIONS: Transitions<LoopState> = {
  created: ['running', 'stopped'],
  running: ['stopping'],
  stopping: ['stopped'],
  stopped: [],
};
