// lib/clients/checked-registry.ts
// Puts the record checks between any ClientRegistry and the library: a record is checked once
// per object (cached), and a bad one is a server problem (500, logged with client id and field),
// never a token and never a detail for the client.
import type { ClientRegistry, RegisteredClient } from '../contracts/clients';
import { checkClientRecord, type ClientRecordRules } from './client-record';

/** A record from the host's registry failed the checks: answered as 500 server_error, logged. */
export class InvalidClientRecordError extends Error {
  override readonly name = 'InvalidClientRecordError';
  constructor(
    readonly clientId: string,
    readonly problems: readonly string[],
  ) {
    super(`The client registry returned an invalid record for client "${clientId}": ${problems.join('; ')}.`);
  }

  /** Structured facts for the logger hook. */
  get logDetails(): Readonly<Record<string, unknown>> {
    return { clientId: this.clientId, problems: this.problems };
  }
}

/** Wraps `registry` so that every record it returns is checked against `rules` first. */
export function createCheckedRegistry(registry: ClientRegistry, rules: ClientRecordRules): ClientRegistry {
  // Per record object, but only for records that cannot change: a registry that hands out the
  // same deeply frozen object pays the check once; a mutable record (a host editing its rows in
  // place, e.g. removing a leaked secret) is checked again on every lookup (~3 µs), so edits apply.
  const checked = new WeakMap<object, RegisteredClient | InvalidClientRecordError>();
  const check = (record: RegisteredClient, clientId: string): RegisteredClient => {
    let result = checked.get(record);
    if (result === undefined) {
      const { client, problems } = checkClientRecord(record, rules);
      result = client ?? new InvalidClientRecordError(clientId, problems);
      if (isDeeplyFrozen(record)) checked.set(record, result);
    }
    if (result instanceof InvalidClientRecordError) throw result;
    return result;
  };
  const entries = registry.entries;
  return {
    async findClient(clientId) {
      const record: unknown = await registry.findClient(clientId);
      if (record === undefined || record === null) return undefined;
      if (typeof record !== 'object') throw new InvalidClientRecordError(clientId, [`findClient resolved ${typeof record}, not a client object or undefined`]);
      return check(record as RegisteredClient, clientId);
    },
    ...(typeof entries === 'function' && {
      *entries() {
        for (const record of entries.call(registry)) yield check(record, String((record as { client_id?: unknown })?.client_id));
      },
    }),
  };
}

/**
 * Checks every record of a registry that lists them (`entries()`), at startup. Problems are
 * pushed as option-style messages (`clients["svc"].grant_types must be …`).
 */
export function checkRegistryEntries(registry: ClientRegistry, rules: ClientRecordRules, problems: string[]): void {
  if (typeof registry.entries !== 'function') return;
  let index = 0;
  for (const record of registry.entries()) {
    const id = typeof (record as { client_id?: unknown })?.client_id === 'string' ? JSON.stringify(record.client_id) : String(index);
    for (const problem of checkClientRecord(record, rules).problems) problems.push(`clients[${id}].${problem}`);
    index += 1;
  }
}

/**
 * A listed client registered for a grant type the router does not serve is a wiring mistake the
 * host would otherwise meet late (`unsupported_grant_type`, or a host call such as
 * issueAuthorizationCode rejecting): one warning per grant type at startup. Not an error: one
 * registry may serve several routers.
 */
export function warnUnservedGrantTypes(registry: ClientRegistry, served: ReadonlySet<string>, warn: (message: string) => void): void {
  if (typeof registry.entries !== 'function') return;
  const unserved = new Map<string, string[]>();
  for (const record of registry.entries()) {
    for (const grantType of record.grant_types ?? ['authorization_code']) {
      if (served.has(grantType)) continue;
      const clients = unserved.get(grantType) ?? [];
      clients.push(record.client_id);
      unserved.set(grantType, clients);
    }
  }
  for (const [grantType, clients] of unserved) {
    const named = clients.slice(0, 5).map((id) => JSON.stringify(id)).join(', ');
    const more = clients.length > 5 ? ` and ${clients.length - 5} more` : '';
    warn(`clients ${named}${more}: grant_types lists ${JSON.stringify(grantType)}, which this router does not serve; add its grant to options.grants (or remove it from the clients).`);
  }
}

/** The record and every array or object it holds that the library reads are frozen. */
function isDeeplyFrozen(record: RegisteredClient): boolean {
  if (!Object.isFrozen(record)) return false;
  for (const key of ['grant_types', 'redirect_uris', 'resources', 'access_token_audience', 'refresh_token_policy'] as const) {
    const value: unknown = record[key];
    if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) return false;
  }
  const digests = record.client_secrets;
  return digests === undefined || (Object.isFrozen(digests) && digests.every((digest) => Object.isFrozen(digest)));
}
