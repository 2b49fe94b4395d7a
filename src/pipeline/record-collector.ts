/**
 * Publishes a journaled batch's outputs: each output becomes a message to its role's topic and
 * partition, with the position header recovery looks for. Forwarded requests keep their
 * encoding, receipt time and origin (partition and offset where they were first read).
 */
import type Kafka from 'node-rdkafka';
import type { ResultTopics } from '../kafka/result-topics.js';
import { ENCODING_MSGPACK, ROLE_REPARTITION, ROLE_RESULTS, type RoleCode } from '../pool/batch-contract.js';
import type { BatchOutputs } from '../pool/outputs-section.js';
import type { DeliveredOffsets, OutgoingMessage, OutputSink } from './kafka-port.js';
import { ORIGIN_HEADER, placeHeader, positionHeader } from './positions.js';

const MSGPACK_HEADER: Kafka.MessageHeader = { 'content-type': 'application/msgpack' };

export class RecordCollector {
  readonly #sink: OutputSink;
  readonly #topicOf: readonly string[];
  readonly #results: ResultTopics;

  /** `topicOf[role]`: the topic of each output role; `results`: where results go, when not all to one. */
  constructor(sink: OutputSink, topicOf: readonly string[], results?: ResultTopics) {
    this.#sink = sink;
    this.#topicOf = topicOf;
    this.#results = results ?? { shared: topicOf[ROLE_RESULTS]!, byTenant: new Map() };
  }

  /** A role's own topic (results: the shared one; `destination` says where a result goes). */
  topic(role: RoleCode): string {
    return this.#topicOf[role]!;
  }

  /** Every topic outputs of these roles can go to (a role's tenants' topics included). */
  topics(roles: readonly RoleCode[]): string[] {
    return roles.flatMap((role) =>
      role === ROLE_RESULTS
        ? [this.#results.shared, ...this.#results.byTenant.values()]
        : [this.#topicOf[role]!],
    );
  }

  /** The topic an output goes to. */
  destination(outputs: BatchOutputs, idx: number): string {
    const role = outputs.role(idx);
    if (role !== ROLE_RESULTS) return this.#topicOf[role]!;
    return this.#results.byTenant.get(outputs.tenant(idx)) ?? this.#results.shared;
  }

  /** The messages of a record's outputs at `indices` (all when omitted), in order. */
  messages(seq: number, outputs: BatchOutputs, indices?: readonly number[]): OutgoingMessage[] {
    const count = indices?.length ?? outputs.outputCount;
    const messages: OutgoingMessage[] = new Array(count);
    let unrouted = 0;
    for (let i = 0; i < count; i++) {
      const idx = indices === undefined ? i : indices[i]!;
      const role = outputs.role(idx);
      const position = positionHeader(seq, idx);
      if (role === ROLE_REPARTITION) {
        const o = outputs.output(idx);
        const origin = { partition: o.originPartition, offset: o.originOffset };
        const headers = [position, placeHeader(ORIGIN_HEADER, origin)];
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
        const topic = this.destination(outputs, idx);
        if (role === ROLE_RESULTS && topic === this.#results.shared && this.#results.byTenant.size > 0)
          unrouted++;
        messages[i] = {
          topic,
          partition: outputs.partition(idx),
          key: outputs.key(idx),
          value: outputs.value(idx),
          headers: [position],
        };
      }
    }
    if (unrouted > 0) this.#results.unrouted?.(unrouted);
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
