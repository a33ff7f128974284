// lib/contracts/logger.ts
// The logger hook: warnings and unexpected errors go here, never to the client.

/** A minimal logger; `console` satisfies it. */
export interface Logger {
  /** Something the operator should look at (e.g. a misconfigured client); the request went on. */
  warn(message: string, details?: Readonly<Record<string, unknown>>): void;
  /** An unexpected failure (e.g. storage down); the client got a 500 `server_error`. */
  error(message: string, details?: Readonly<Record<string, unknown>>): void;
}
