/**
 * What a partition task queues (a request read, a request forwarded to it, a command) and how each
 * becomes an input of the batch a worker decides (src/pool/batch-contract.ts InputMessage): raw
 * bytes, their encoding, and where they were first read.
 */
import {
  ENCODING_JSON,
  ENCODING_MSGPACK,
  type EncodingFlag,
  INPUT_COMMAND,
  type InputKind,
  type InputMessage,
  type InputRefusal,
} from '../pool/batch-contract.js';
import { headerOf, type LogMessage } from './kafka-port.js';

export interface Queued {
  readonly kind: InputKind;
  readonly message: LogMessage;
  readonly originPartition: number;
  readonly originOffset: number;
  /** A command without the cluster key's signature: the worker sends it to the DLQ. */
  readonly refusal?: InputRefusal;
}

const MSGPACK = 'application/msgpack';

function encodingOf(message: LogMessage): EncodingFlag {
  return message.headers !== undefined && headerOf(message, 'content-type') === MSGPACK
    ? ENCODING_MSGPACK
    : ENCODING_JSON;
}

function bytesOf(value: Buffer | string | null | undefined): Uint8Array | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? Buffer.from(value) : value;
}

/**
 * When a request was received: its Kafka timestamp, which is its operator's clock (CreateTime)
 * and which no broker checks, unless that cannot be when it was received — later than now (a
 * producer writing micro- or nanoseconds, or a clock ahead), negative, or none — and then now. A
 * waiting request's deadline runs from it: nanoseconds were beyond JavaScript's dates, and
 * writing the waiting request stopped its partition on every attempt.
 */
export function receivedAt(timestamp: number | undefined, now: number): number {
  return timestamp !== undefined && timestamp >= 0 && timestamp <= now ? timestamp : now;
}

export function inputOf(q: Queued): InputMessage {
  const input: InputMessage = {
    kind: q.kind,
    encoding: q.kind === INPUT_COMMAND ? ENCODING_JSON : encodingOf(q.message),
    key: bytesOf(q.message.key),
    value: q.message.value,
    offset: q.message.offset,
    timestamp: receivedAt(q.message.timestamp, Date.now()),
    originPartition: q.originPartition,
    originOffset: q.originOffset,
  };
  // A refused command is rare: only then does the input carry the field.
  return q.refusal === undefined ? input : { ...input, refusal: q.refusal };
}
