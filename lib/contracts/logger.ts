// lib/contracts/logger.ts
// The logger hook: warnings and unexpected errors go here, never to the client.

/** A minimal logger; `console` satisfies it. */
export interface Logger {
  warn(message: string, details?: Readonly<Record<string, unknown>>): void;
  error(message: string, details?: Readonly<Record<string, unknown>>): void;
}
