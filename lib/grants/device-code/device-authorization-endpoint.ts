// lib/grants/device-code/device-authorization-endpoint.ts
// RFC 8628 §3.1-3.2: the device authorization endpoint, a form endpoint the device grant adds.
import { randomUUID } from 'node:crypto';
import type { RegisteredClient } from '../../contracts/clients';
import { OAuthError } from '../../contracts/errors';
import type { FormEndpoint } from '../../contracts/grant';
import type { DeviceCodeRecord, DeviceCodeStore } from '../../contracts/storage';
import { allowedScopes, assertScopesAllowed, parseScope } from '../../issuance/scope';
import { createOpaqueToken } from '../../tokens/opaque-token';
import { generateUserCode, hashUserCode } from './user-codes';
import type { DeviceCodeSettings } from './settings';

const MAX_SAVE_ATTEMPTS = 5;

/** What the device authorization endpoint needs. */
export interface DeviceAuthorizationEndpointDeps {
  readonly settings: DeviceCodeSettings;
  readonly grantType: string;
  readonly storage: Pick<DeviceCodeStore, 'saveDeviceCode'>;
  readonly clock: () => number;
  /** Checks resource indicators against the client (see GrantContributionContext.checkResources). */
  readonly checkResources: (client: RegisteredClient, requested: readonly string[]) => readonly string[];
}

/**
 * RFC 8628 §3.1-3.2: `POST /deviceauthorization`, contributed to the router by the device grant.
 * The router's pipeline authenticates the client (with the token endpoint's methods and failure
 * budgets) and refuses clients without the device grant in `grant_types`.
 */
export function deviceAuthorizationEndpoint(deps: DeviceAuthorizationEndpointDeps): FormEndpoint {
  const { settings } = deps;
  return {
    path: '/deviceauthorization',
    grantType: deps.grantType,
    async handle({ client, requestedScope, requestedResources }) {
      const scope = scopeOf(requestedScope, client.metadata);
      // RFC 8707: stored with the request; the poll may narrow them.
      const resources = requestedResources === undefined ? [] : deps.checkResources(client.metadata, requestedResources);
      const now = deps.clock();
      const deviceCode = createOpaqueToken();
      const grantId = randomUUID();
      for (let attempt = 0; attempt < MAX_SAVE_ATTEMPTS; attempt += 1) {
        const userCode = generateUserCode(settings.userCode);
        const record: DeviceCodeRecord = {
          deviceCodeHash: deviceCode.hash,
          userCodeHash: hashUserCode(userCode.normalized),
          clientId: client.clientId,
          scope,
          ...(resources.length > 0 && { resources }),
          grantId,
          issuedAt: now,
          expiresAt: now + settings.expiresIn * 1000,
          interval: settings.interval,
          status: 'pending',
        };
        // false: a live request holds this user code already; draw another.
        if (await deps.storage.saveDeviceCode(record)) {
          return {
            device_code: deviceCode.value,
            user_code: userCode.display,
            verification_uri: settings.verificationUri,
            verification_uri_complete: settings.verificationUriComplete(settings.verificationUri, userCode.display),
            expires_in: settings.expiresIn,
            interval: settings.interval,
          };
        }
      }
      throw new Error(`could not draw an unused user code in ${MAX_SAVE_ATTEMPTS} attempts: the user-code space is too small for the number of live requests`);
    },
  };
}

function scopeOf(requested: readonly string[] | undefined, client: RegisteredClient): readonly string[] {
  const allowed = allowedScopes(client);
  if (requested !== undefined) {
    assertScopesAllowed(requested, allowed);
    return requested;
  }
  // RFC 8628 §3.1 makes scope optional; TelenorID+ requires it. Fall back to the client's
  // default_scope when it has one, otherwise insist (never silently grant everything).
  if (client.default_scope !== undefined) {
    const fallback = parseScope(client.default_scope).filter((s) => allowed.has(s));
    if (fallback.length > 0) return fallback;
  }
  throw new OAuthError('invalid_scope', 'The scope parameter is required.');
}

