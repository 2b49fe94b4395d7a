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

export function inputOf(q: Queued): InputMessage {
  const input: InputMessage = {
    kind: q.kind,
    encoding: q.kind === INPUT_COMMAND ? ENCODING_JSON : encodingOf(q.message),
    key: bytesOf(q.message.key),
    value: q.message.value,
    offset: q.message.offset,
    timestamp: q.message.timestamp ?? Date.now(),
    originPartition: q.originPartition,
    originOffset: q.originOffset,
  };
  // A refused command is rare: only then does the input carry the field.
  return q.refusal === undefined ? input : { ...input, refusal: q.refusal };
}
