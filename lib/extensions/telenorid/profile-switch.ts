// lib/extensions/telenorid/profile-switch.ts
// TelenorID+'s deprecated `tnuId` parameter on refresh_token requests ("Update AT claims"): switch
// the access token to another profile of the same user. Opt-in, as a refresh-grant extension; new
// integrations should use RFC 8693 token exchange instead.
import type { RegisteredClient } from '../../contracts/clients';
import { OAuthError } from '../../contracts/errors';
import type { SessionFacts } from '../../contracts/storage';
import type { RefreshGrantExtension } from '../../grants/refresh-token/grant';
import { checkOptionKeys } from '../../options/checks';

/** The scope the grant must hold for a tnuId switch (TelenorID+). */
export const PROFILE_SCOPE = 'account.profiles';

/** What the profile-switch hook sees. */
export interface ProfileSwitchContext {
  /** The authenticated client's record. */
  readonly client: RegisteredClient;
  /** The grant (token family) being refreshed. */
  readonly grantId: string;
  /** The session facts of the family, after the session check. */
  readonly session: SessionFacts;
  /** The requested profile (the `tnuId` parameter, verbatim). */
  readonly tnuId: string;
}

/** Options of {@link tnuIdProfileSwitch}. */
export interface ProfileSwitchOptions {
  /** Must confirm that the profile belongs to the same user (true), else the refresh is invalid_grant. */
  verifyProfile: (context: ProfileSwitchContext) => boolean | Promise<boolean>;
  /** `Deprecation` response header (RFC 9745). Defaults to `@1654041600` (2022-06-01). */
  deprecation?: string;
  /** `Link` to the successor mechanism, sent with rel="deprecation". Defaults to RFC 8693. */
  deprecationLink?: string;
}

const DEFAULT_DEPRECATION = '@1654041600';
const DEFAULT_DEPRECATION_LINK = 'https://www.rfc-editor.org/rfc/rfc8693';

/**
 * The TelenorID+ `tnuId` profile switch, as an extension of the refresh grant:
 * `refreshToken({ extensions: [tnuIdProfileSwitch({ verifyProfile })] })`.
 *
 * A refresh with `tnuId` needs a client with `update_access_token_claims: true`
 * (else 400 unauthorized_client) and a grant holding {@link PROFILE_SCOPE} (else invalid_scope);
 * `verifyProfile` must confirm the profile is the user's (else invalid_grant). The new access
 * token carries `tnuid`, and the response `Deprecation` and `Link` headers. `tnuId` sent with any
 * other grant_type is 400 invalid_request.
 */
export function tnuIdProfileSwitch(options: ProfileSwitchOptions): RefreshGrantExtension {
  return {
    name: 'tnuIdProfileSwitch',
    parameters: { tnuId: { maxLength: 256, exclusive: true } },
    validateSetup() {
      const problems: string[] = [];
      if (typeof options?.verifyProfile !== 'function') problems.push('verifyProfile must be a function.');
      checkOptionKeys(options, ['verifyProfile', 'deprecation', 'deprecationLink'], problems);
      return problems;
    },
    async onRefresh({ params, client, grantId, grantScope, session, setHeader }) {
      const tnuId = params.tnuId;
      if (tnuId === undefined) return undefined;
      if (client.update_access_token_claims !== true) {
        throw new OAuthError('unauthorized_client', 'This client may not switch profiles with tnuId.');
      }
      if (!grantScope.includes(PROFILE_SCOPE)) {
        throw new OAuthError('invalid_scope', `Switching profiles with tnuId needs the ${PROFILE_SCOPE} scope.`);
      }
      const ok = await options.verifyProfile({ client, grantId, session, tnuId });
      if (ok !== true) throw new OAuthError('invalid_grant', 'The requested profile does not belong to this user.');
      setHeader('Deprecation', options.deprecation ?? DEFAULT_DEPRECATION);
      setHeader('Link', `<${options.deprecationLink ?? DEFAULT_DEPRECATION_LINK}>; rel="deprecation"`);
      return { tnuid: tnuId };
    },
  };
}
