/**
 * Sends commands (a reviewer's decision, a deadline passing) to the commands topic, in the
 * partition of the device they concern, where its owner decides them with the journal. Any
 * instance may send one; sending one twice is harmless (commands are idempotent). Each is signed
 * with the cluster key: the owner refuses one that is not (src/security/signed-events.ts).
 */
import type { Command } from '../domain/commands.js';
import { devicePartition } from '../domain/device-partition.js';
import type { EventSigner } from '../security/signed-events.js';
import type { OutputSink } from './kafka-port.js';

export interface CommandSender {
  /** Resolves when Kafka has every command. */
  send(commands: readonly Command[]): Promise<void>;
}

export class KafkaCommandSender implements CommandSender {
  readonly #sink: OutputSink;
  readonly #topic: string;
  readonly #partitions: number;
  readonly #signer: EventSigner;

  constructor(sink: OutputSink, topic: string, partitions: number, signer: EventSigner) {
    this.#sink = sink;
    this.#topic = topic;
    this.#partitions = partitions;
    this.#signer = signer;
  }

  async send(commands: readonly Command[]): Promise<void> {
    await this.#sink.send(
      commands.map((command) =>
        this.#signer.sign('commands', {
          topic: this.#topic,
          partition: devicePartition(command.body, this.#partitions),
          key: command.body,
          value: Buffer.from(JSON.stringify(command)),
        }),
      ),
    );
  }
}
