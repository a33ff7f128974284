// lib/internal/logger.ts
// The logger hook: where unexpected errors and configuration warnings go (never to the client).
import type { Logger } from '../contracts/logger';

/** Default logger: one JSON line per entry on stderr. */
export const consoleLogger: Logger = {
  warn: (message, details) => process.stderr.write(`${JSON.stringify({ level: 'warn', source: 'express-token-endpoint', message, ...details })}\n`),
  error: (message, details) => process.stderr.write(`${JSON.stringify({ level: 'error', source: 'express-token-endpoint', message, ...details })}\n`),
};

/** Error details fit for a log line: name, message and stack, never request data. */
export function describeError(error: unknown): Record<string, unknown> {
  // Duck-typed: errors from another realm (vm contexts, jest) fail instanceof Error.
  if (error !== null && typeof error === 'object' && typeof (error as Error).message === 'string') {
    const e = error as Error & { logDetails?: unknown };
    // Our own errors may add structured facts for the log (e.g. the client id and fields of a bad record).
    const extra = typeof e.logDetails === 'object' && e.logDetails !== null ? e.logDetails : {};
    return { errorName: e.name, errorMessage: e.message, ...extra, stack: e.stack };
  }
  return { errorMessage: String(error) };
}
