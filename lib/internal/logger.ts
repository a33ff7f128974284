// lib/internal/logger.ts
// The logger hook: where unexpected errors and configuration warnings go (never to the client).

/** Default logger: one JSON line per entry on stderr. */
export const consoleLogger: Logger = {
  warn: (message, details) => process.stderr.write(`${JSON.stringify({ level: 'warn', source: 'express-token-endpoint', message, ...details })}\n`),
  error: (message, details) => process.stderr.write(`${JSON.stringify({ level: 'error', source: 'express-token-endpoint', message, ...details })}\n`),
};
import type { Logger } from '../contracts/logger';

/** Error details fit for a log line: name, message and stack, never request data. */
export function describeError(error: unknown): Record<string, unknown> {
  // Duck-typed: errors from another realm (vm contexts, jest) fail instanceof Error.
  if (error !== null && typeof error === 'object' && typeof (error as Error).message === 'string') {
    const e = error as Error;
    return { errorName: e.name, errorMessage: e.message, stack: e.stack };
  }
  return { errorMessage: String(error) };
}
