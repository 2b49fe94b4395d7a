/**
 * Publishes a journaled batch's outputs: each output becomes a message to its role's topic and
 * partition, with the position header recovery looks for. Forwarded requests keep their
 * encoding, receipt time and origin (partition and offset where they were first read).
 */
import type Kafka from 'node-rdkafka';
import {
  type BatchOutputs,
  ENCODING_MSGPACK,
  ROLE_REPARTITION,
  type RoleCode,
} from '../pool/batch-contract.js';
import { POSITION_HEADER } from './journal.js';
import type { DeliveredOffsets, OutgoingMessage, OutputSink } from './kafka-port.js';

/** Header of a forwarded request: `<partition>.<offset>` where it was first read. */
export const ORIGIN_HEADER = 'imeiflow-origin';
const MSGPACK_HEADER: Kafka.MessageHeader = { 'content-type': 'application/msgpack' };

export class RecordCollector {
  readonly #sink: OutputSink;
  readonly #topicOf: readonly string[];

  /** `topicOf[role]`: the topic of each output role. */
  constructor(sink: OutputSink, topicOf: readonly string[]) {
    this.#sink = sink;
    this.#topicOf = topicOf;
  }

  topic(role: RoleCode): string {
    return this.#topicOf[role]!;
  }

  /** The messages of a record's outputs at `indices` (all when omitted), in order. */
  messages(seq: number, outputs: BatchOutputs, indices?: readonly number[]): OutgoingMessage[] {
    const count = indices?.length ?? outputs.outputCount;
    const messages: OutgoingMessage[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const idx = indices === undefined ? i : indices[i]!;
      const role = outputs.role(idx);
      const position: Kafka.MessageHeader = { [POSITION_HEADER]: `${seq}.${idx}` };
      if (role === ROLE_REPARTITION) {
        const o = outputs.output(idx);
        const headers = [position, { [ORIGIN_HEADER]: `${o.originPartition}.${o.originOffset}` }];
        if (o.encoding === ENCODING_MSGPACK) headers.push(MSGPACK_HEADER);
        messages[i] = {
          topic: this.#topicOf[role]!,
          partition: o.partition,
          key: o.key === null ? null : Buffer.from(o.key),
          value: o.value === null ? null : Buffer.from(o.value),
          headers,
          timestamp: o.originTimestamp,
        };
      } else {
        messages[i] = {
          topic: this.#topicOf[role]!,
          partition: outputs.partition(idx),
          key: outputs.key(idx),
          value: outputs.value(idx),
          headers: [position],
        };
      }
    }
    return messages;
  }

  /** Queue a record's outputs (those at `indices`, all when omitted) in order. */
  publish(
    seq: number,
    outputs: BatchOutputs,
    indices?: readonly number[],
  ): Promise<{ delivered: Promise<DeliveredOffsets> }> {
    return this.#sink.enqueue(this.messages(seq, outputs, indices));
  }
}
