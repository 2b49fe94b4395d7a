/**
 * The one error type of imeiflow. Codes are a closed union so callers branch on `code`, never
 * on a message; `docs/errors.md` lists every code and a test checks the two agree.
 */
export const ERROR_CODES = [
  'CONFIG_INVALID',
  'STORE_SCHEMA_MISMATCH',
  'STORE_OPEN_FAILED',
  'LOAD_FILE_UNREADABLE',
  'LOAD_HEADER_INVALID',
  'LOAD_FORMAT_UNSUPPORTED',
  'POOL_TASK_FAILED',
  'POOL_QUEUE_FULL',
  'KAFKA_CONNECT_FAILED',
  'KAFKA_FATAL',
  'KAFKA_TRANSACTION_FAILED',
  'SHUTDOWN_TIMEOUT',
  'RECORD_UNREADABLE',
  'STORE_FULL',
  'RETRIES_EXHAUSTED',
  'PARTITIONS_CHANGED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ImeiflowErrorOptions {
  readonly cause?: unknown;
  /** True when trying the same operation again may succeed (a broker hiccup, not bad input). */
  readonly retriable?: boolean;
}

export class ImeiflowError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: ImeiflowErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ImeiflowError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

export function isImeiflowError(error: unknown, code?: ErrorCode): error is ImeiflowError {
  return error instanceof ImeiflowError && (code === undefined || error.code === code);
}

/** The message of anything thrown, for logs and problem details. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
