// lib/logger.ts
// The logger hook: where unexpected errors and configuration warnings go (never to the client).

/** A minimal logger; `console` satisfies it. */
export interface Logger {
  warn(message: string, details?: Readonly<Record<string, unknown>>): void;
  error(message: string, details?: Readonly<Record<string, unknown>>): void;
}

/** Default logger: one JSON line per entry on stderr. */
export const consoleLogger: Logger = {
  warn: (message, details) => process.stderr.write(`${JSON.stringify({ level: 'warn', source: 'express-token-endpoint', message, ...details })}\n`),
  error: (message, details) => process.stderr.write(`${JSON.stringify({ level: 'error', source: 'express-token-endpoint', message, ...details })}\n`),
};

/** Error details fit for a log line: name, message and stack, never request data. */
export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) return { errorName: error.name, errorMessage: error.message, stack: error.stack };
  return { errorMessage: String(error) };
}
