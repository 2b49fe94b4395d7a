/**
 * Structured JSON logs (pino) on stdout. Never log tokens or personal data. Errors go under
 * `err` as the error itself (never its message alone): the serializer keeps the stack, `code`
 * and the `cause` chain.
 */
import { pino } from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string, name = 'imeiflow'): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid },
    serializers: { err: pino.stdSerializers.errWithCause },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: ['authorization', 'headers.authorization', 'token', '*.token'], censor: '[redacted]' },
  });
}
