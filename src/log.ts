/** Structured JSON logs (pino) on stdout. Never log tokens or personal data. */
import { pino } from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string, name = 'imeiflow'): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: ['authorization', 'headers.authorization', 'token', '*.token'], censor: '[redacted]' },
  });
}
