/**
 * The one contract between the main thread and the verify workers. A batch travels as a single
 * msgpack buffer whose ArrayBuffer is transferred (Piscina.move), not cloned; results come back
 * the same way, one per message, in input order.
 */

import type { Decision, VerifyRequest } from '../domain/types.js';
import { structuredPackr } from '../store/structures.js';

export const ENCODING_JSON = 0;
export const ENCODING_MSGPACK = 1;
export type EncodingFlag = typeof ENCODING_JSON | typeof ENCODING_MSGPACK;

/** [value, encoding, partition, offset, key]: arrays pack smaller and faster than objects. */
export type BatchMessage = readonly [
  value: Uint8Array | null,
  encoding: EncodingFlag,
  partition: number,
  offset: number,
  key: string | null,
];

export interface BatchTask {
  /** Decision time (ms since epoch), fixed per batch so a batch is decided at one instant. */
  readonly now: number;
  /** The topic the messages came from, for DLQ entries. */
  readonly topic: string;
  readonly messages: readonly BatchMessage[];
}

/**
 * One per message, in input order. Workers also build the output messages (JSON bytes), so the
 * main thread only routes bytes to Kafka.
 */
export type BatchResult =
  | { readonly kind: 'undecodable'; readonly error: string; readonly dlq: Uint8Array }
  | {
      readonly kind: 'verdict';
      readonly decision: Decision;
      readonly replayed: boolean;
      readonly result: Uint8Array;
      readonly confirmation: Uint8Array | null;
      /** The request itself when it waits (pending or review): the pipeline stores it. */
      readonly request: VerifyRequest | null;
    };

export interface WorkerSettings {
  readonly dataDir: string;
  readonly encryptionKey?: string;
  readonly eligibleProcedures: readonly string[];
  /** Config `rules.spareDigit`: who may send network-derived IMEIs (a spare 15th digit 0). */
  readonly spareDigit: { readonly operators: readonly string[]; readonly channels: readonly string[] };
  readonly maxMessageBytes: number;
}

const packr = structuredPackr();

/** Pack into a buffer that owns its ArrayBuffer, so it can be transferred. */
function packOwned(value: unknown): Uint8Array {
  // msgpackr returns a view into its shared scratch buffer; transferring that would detach it.
  return new Uint8Array(packr.pack(value));
}

export function encodeBatch(task: BatchTask): Uint8Array {
  return packOwned(task);
}

export function decodeBatch(buffer: Uint8Array): BatchTask {
  return packr.unpack(buffer) as BatchTask;
}

export function encodeResults(results: readonly BatchResult[]): Uint8Array {
  return packOwned(results);
}

export function decodeResults(buffer: Uint8Array): BatchResult[] {
  return packr.unpack(buffer) as BatchResult[];
}
