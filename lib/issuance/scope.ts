// lib/issuance/scope.ts
// Scope parsing (RFC 6749 §3.3 syntax) and checks against what a client may request.
import { OAuthError } from '../contracts/errors';
import type { RegisteredClient } from '../contracts/clients';

// scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * Parses a `scope` parameter into distinct tokens (order kept, duplicates dropped).
 * Throws `invalid_scope` for characters outside the RFC 6749 §3.3 grammar.
 */
export function parseScope(value: string): string[] {
  const tokens = value.split(' ').filter((token) => token.length > 0);
  for (const token of tokens) {
    if (!SCOPE_TOKEN.test(token)) throw new OAuthError('invalid_scope', 'The scope parameter contains characters outside the RFC 6749 scope syntax.');
  }
  return [...new Set(tokens)];
}

const allowedCache = new WeakMap<RegisteredClient, ReadonlySet<string>>();

/** The scopes a client may request (its RFC 7591 `scope`), cached per client record. */
export function allowedScopes(client: RegisteredClient): ReadonlySet<string> {
  let allowed = allowedCache.get(client);
  if (!allowed) {
    allowed = new Set((client.scope ?? '').split(' ').filter((token) => token.length > 0));
    allowedCache.set(client, allowed);
  }
  return allowed;
}

/**
 * Throws `invalid_scope` when a scope is not in `allowed`. The description names the rule, never
 * the scope: the token is caller text, and error bodies must not reflect it.
 */
export function assertScopesAllowed(requested: readonly string[], allowed: ReadonlySet<string>, what = 'this client'): void {
  for (const scope of requested) {
    if (!allowed.has(scope)) throw new OAuthError('invalid_scope', `A requested scope is not allowed for ${what}.`);
  }
}

/** Formats scope tokens for a response or a JWT `scope` claim. */
export function formatScope(scope: readonly string[]): string {
  return scope.join(' ');
}
