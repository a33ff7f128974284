// spec/helpers/host-registry.ts
// A host's own ClientRegistry (a plain { findClient } without entries(), as a database-backed
// registry is), so that specs can hand the router a record the memory registry would refuse at
// startup, and the pieces to assert how such a record is refused.
import { ConfigurationError, hashClientSecret, type ClientRegistry, type MemoryClientDefinition, type RegisteredClient } from '../../lib';
import { InvalidClientRecordError } from '../../lib/clients/checked-registry';
import type { TestApp } from './create-app';

/**
 * A registry over `records` (keyed by client_id). The test may replace or edit a record between
 * requests, like a host editing its client table; every lookup hands out a fresh copy.
 */
export function hostRegistry(records: Record<string, object>): ClientRegistry {
  return {
    findClient: async (clientId) => {
      const record = Object.prototype.hasOwnProperty.call(records, clientId) ? records[clientId] : undefined;
      return record === undefined ? undefined : ({ ...record } as RegisteredClient);
    },
  };
}

/** A memory client definition as a host registry stores it: the plaintext secret as a digest. */
export function hostRecord(definition: MemoryClientDefinition): RegisteredClient {
  const { client_secret, client_secret_list: _list, ...rest } = definition;
  return (client_secret === undefined ? rest : { ...rest, client_secrets: [{ sha256: hashClientSecret(client_secret) }] }) as RegisteredClient;
}

/** The ConfigurationError `build` throws (fails the test when it throws nothing or something else). */
export function configurationErrorOf(build: () => unknown): ConfigurationError {
  let thrown: unknown;
  try {
    build();
  } catch (error) {
    thrown = error;
  }
  if (thrown === undefined) throw new Error('expected a ConfigurationError, but nothing was thrown');
  expect(thrown).toBeInstanceOf(ConfigurationError);
  return thrown as ConfigurationError;
}

/** The ConfigurationError a storage factory throws, with the storage code (fails the test otherwise). */
export function storageConfigurationErrorOf(build: () => unknown): ConfigurationError {
  const error = configurationErrorOf(build);
  expect(error.code).toBe('ERR_TOKEN_ROUTER_STORAGE');
  return error;
}

/** What a host API call rejected with (fails the test when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => { throw new Error(`expected a rejection, got ${JSON.stringify(value)}`); },
    (error: unknown) => error,
  );
}

/** Asserts `error` is the boundary's InvalidClientRecordError for `clientId`, with a problem matching `field`. */
export function expectInvalidRecord(error: unknown, clientId: string, field: RegExp): void {
  expect(error).toBeInstanceOf(InvalidClientRecordError);
  const invalid = error as InvalidClientRecordError;
  expect(invalid.clientId).toBe(clientId);
  expect(invalid.problems).toContainEqual(expect.stringMatching(field));
  expect(invalid.message).toContain(`invalid record for client "${clientId}"`);
}

/**
 * Asserts the logger got `times` errors (one per refused request), each for the invalid record of
 * `clientId`, naming the client and a problem matching `field`.
 */
export function expectLoggedInvalidRecord(logged: TestApp['logged'], clientId: string, field: RegExp, times = 1): void {
  const errors = logged.filter((entry) => entry.level === 'error');
  expect(errors).toHaveLength(times);
  for (const { details = {} } of errors) {
    expect(details.errorName).toBe('InvalidClientRecordError');
    expect(details.clientId).toBe(clientId);
    expect(details.errorMessage).toEqual(expect.stringContaining(`The client registry returned an invalid record for client "${clientId}": `));
    expect(details.errorMessage).toMatch(field);
  }
}
