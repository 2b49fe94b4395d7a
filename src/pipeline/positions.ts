/**
 * The headers in which imeiflow writes where a message comes from, and the positions they carry
 * (issue 21: one module, no hand-written `seq.idx` or `partition.offset` elsewhere):
 *
 * - `imeiflow-pos`: `<seq>.<idx>` on every output a partition's owner publishes — the journal
 *   record it was decided in and its index there. Recovery finds what it has published by it
 *   (output-tails.ts); the registry view and the restore order a device's confirmations and
 *   revocations by it.
 * - `imeiflow-origin`: `<partition>.<offset>` on a forwarded request, where it was first read; the
 *   destination drops a forward it has already taken (partition-task.ts).
 * - `imeiflow-source`: `<partition>.<offset>` on a DLQ entry of a bad KGD decision, where it was
 *   read; a second instance does not write it again (record-validator.ts).
 */
import type Kafka from 'node-rdkafka';
import { headerOf } from './kafka-port.js';

export const POSITION_HEADER = 'imeiflow-pos';
export const ORIGIN_HEADER = 'imeiflow-origin';
export const SOURCE_HEADER = 'imeiflow-source';

/** An output's place in the journal: record `seq`, output `idx` of that record. */
export interface OutputPosition {
  readonly seq: number;
  readonly idx: number;
}

/** Before every output: what an output partition without one of ours ends with. */
export const BEFORE_ANY_OUTPUT: OutputPosition = { seq: -1, idx: -1 };

/**
 * More outputs than one journal record can hold. A record is at most 8 MiB (the journal topic's
 * limit and the producer's message.max.bytes, JOURNAL_MAX_MESSAGE_BYTES in kafka/device-topics.ts:
 * a larger one is never journaled, so never published) and each output takes an entry of 48 bytes
 * (OUTPUT_ENTRY, pool/batch-contract.ts), so a record holds fewer than 174 763 outputs.
 * `outputOrder` relies on this bound.
 */
export const MAX_OUTPUTS_PER_RECORD = 1_000_000;

export function positionHeader(seq: number, idx: number): Kafka.MessageHeader {
  return { [POSITION_HEADER]: `${seq}.${idx}` };
}

/** The position an output carries; undefined for a message without one (another writer's). */
export function outputPositionOf(message: Pick<Kafka.Message, 'headers'>): OutputPosition | undefined {
  const pair = parsePair(headerOf(message, POSITION_HEADER));
  return pair === undefined ? undefined : { seq: pair[0], idx: pair[1] };
}

/** Whether `a` was published after `b` by a partition's owner (record first, then index). */
export function isAfter(a: OutputPosition, b: OutputPosition): boolean {
  return a.seq > b.seq || (a.seq === b.seq && a.idx > b.idx);
}

/**
 * One number that orders outputs as `isAfter` does, for the stores that keep an order with each
 * entry (the registry view): -1 for a message without a position. Exact while seq < 2^53 / 10^6
 * (9 × 10^9 records of one partition).
 */
export function outputOrder(message: Pick<Kafka.Message, 'headers'>): number {
  const p = outputPositionOf(message);
  return p === undefined ? -1 : p.seq * MAX_OUTPUTS_PER_RECORD + p.idx;
}

/** Where a message was read. */
export interface LogPlace {
  readonly partition: number;
  readonly offset: number;
}

/** No place: a forward from a version that did not name its origin. */
export const NO_PLACE: LogPlace = { partition: -1, offset: -1 };

/** A header naming where a message was read (`ORIGIN_HEADER` or `SOURCE_HEADER`). */
export function placeHeader(
  name: typeof ORIGIN_HEADER | typeof SOURCE_HEADER,
  place: LogPlace,
): Kafka.MessageHeader {
  return { [name]: `${place.partition}.${place.offset}` };
}

export function placeOf(
  message: Pick<Kafka.Message, 'headers'>,
  name: typeof ORIGIN_HEADER | typeof SOURCE_HEADER,
): LogPlace | undefined {
  const pair = parsePair(headerOf(message, name));
  return pair === undefined ? undefined : { partition: pair[0], offset: pair[1] };
}

/** `<digits>.<digits>` as imeiflow writes it; anything else is no position. */
const PAIR = /^(\d{1,15})\.(\d{1,15})$/;

function parsePair(value: string | undefined): [number, number] | undefined {
  const match = value === undefined ? null : PAIR.exec(value);
  return match === null ? undefined : [Number(match[1]), Number(match[2])];
}
