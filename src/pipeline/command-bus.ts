/**
 * Sends commands to the commands topic. Commands caused by a state change are written to the
 * LMDB outbox in the same transaction as the change (`queueInTransaction`) and sent after it
 * commits (`flush`), so a crash in between loses none: the next flush sends them. Sending twice
 * is harmless — commands are idempotent.
 */
import type { DeliveringProducer } from '../kafka/delivering-producer.js';
import type { Store } from '../store/store.js';
import type { Command } from './commands.js';

export interface AddressedCommand {
  readonly partition: number;
  readonly command: Command;
}

const OUTBOX_BATCH = 10_000;

export class CommandBus {
  readonly #store: Store;
  readonly #producer: DeliveringProducer;
  readonly #topic: string;
  #counter = 0;
  #flushing: Promise<void> | undefined;
  #again = false;

  constructor(store: Store, producer: DeliveringProducer, topic: string) {
    this.#store = store;
    this.#producer = producer;
    this.#topic = topic;
  }

  /** Call inside an LMDB write transaction. */
  queueInTransaction(commands: readonly AddressedCommand[]): void {
    const stamp = Date.now().toString().padStart(15, '0');
    for (const { partition, command } of commands) {
      const key = `${stamp}-${process.pid}-${String(this.#counter++).padStart(9, '0')}`;
      this.#store.commandOutbox.put(key, { partition, command });
    }
  }

  /** Send a command now and wait until Kafka has it (reviewer decisions, deadlines). */
  async send(commands: readonly AddressedCommand[]): Promise<void> {
    await this.#producer.send(
      commands.map(({ partition, command }) => ({
        topic: this.#topic,
        partition,
        key: command.body,
        value: Buffer.from(JSON.stringify(command)),
      })),
    );
  }

  /** Send everything in the outbox. Concurrent calls coalesce. */
  flush(): Promise<void> {
    if (this.#flushing !== undefined) {
      this.#again = true;
      return this.#flushing;
    }
    // `finally` runs after this assignment even when the outbox is empty and #drain never awaits.
    const run: Promise<void> = this.#drain().finally(() => {
      if (this.#flushing === run) this.#flushing = undefined;
    });
    this.#flushing = run;
    return run;
  }

  async #drain(): Promise<void> {
    do {
      this.#again = false;
      this.#store.env.resetReadTxn();
      const entries = [...this.#store.commandOutbox.getRange({ limit: OUTBOX_BATCH })];
      if (entries.length === 0) continue;
      await this.send(entries.map(({ value }) => value as AddressedCommand));
      await this.#store.env.transaction(() => {
        for (const { key } of entries) this.#store.commandOutbox.remove(key);
      });
      if (entries.length === OUTBOX_BATCH) this.#again = true;
    } while (this.#again);
  }
}
