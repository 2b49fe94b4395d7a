/**
 * The lifecycle every reader's loop shares (the global tables, the registry view, the record
 * validator): started once, looping while it runs, stopped once — the loop finishes its batch,
 * then the consumer leaves. Its states are a table checked on every change
 * (src/runtime/state-machine.ts), where each reader kept a `stopping` flag before.
 */
import type Kafka from 'node-rdkafka';
import { LOOP_TRANSITIONS, type LoopState, StateMachine } from '../runtime/state-machine.js';
import { disconnect } from './client.js';

export class ConsumerLoop {
  readonly #lifecycle: StateMachine<LoopState>;
  #consumer: Kafka.KafkaConsumer | undefined;
  #loop: Promise<void> | undefined;

  constructor(name: string) {
    this.#lifecycle = new StateMachine(name, 'created', LOOP_TRANSITIONS);
  }

  get state(): LoopState {
    return this.#lifecycle.state;
  }

  /** Whether the loop should go on: false from the moment a stop is asked. */
  get running(): boolean {
    return this.#lifecycle.is('running');
  }

  /** Runs `loop` (which goes on while `running`) over `consumer`, which `stop` disconnects. */
  run(consumer: Kafka.KafkaConsumer, loop: () => Promise<void>): void {
    this.#lifecycle.to('running');
    this.#consumer = consumer;
    this.#loop = loop();
  }

  /** Stops the loop after its current batch and disconnects; a second stop waits for nothing. */
  async stop(): Promise<void> {
    if (this.#lifecycle.is('created')) return this.#lifecycle.to('stopped');
    if (!this.#lifecycle.is('running')) return;
    this.#lifecycle.to('stopping');
    try {
      await this.#loop;
    } finally {
      if (this.#consumer !== undefined) await disconnect(this.#consumer);
      this.#lifecycle.to('stopped');
    }
  }
}
