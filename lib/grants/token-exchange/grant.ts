// lib/grants/token-exchange/grant.ts
// OAuth 2.0 Token Exchange (RFC 8693) as a built-in strategy, off unless the host enables it with
// a policy that decides each exchange. Built on the public grant contract only.
import { randomUUID } from 'node:crypto';
import type { RegisteredClient } from '../../contracts/clients';
import { OAuthError } from '../../contracts/errors';
import { defineGrant, type GrantContext, type GrantStrategy, type ParameterSpec, type RequiredParameterSpec, type TokenResponse } from '../../contracts/grant';
import type { SessionFacts } from '../../contracts/storage';
import { checkKeys } from '../../options/checks';
import { parseScope } from '../../issuance/scope';
import { assertLocalSubject, CLIENT_SUBJECT_PREFIX } from '../../issuance/subjects';
import { MAX_PRESENTED_TOKEN_LENGTH } from '../../tokens/presented-token';
import { prepareTrustedIssuers, verifyTrustedJwt, type PreparedIssuer, type TrustedIssuer } from './trusted-issuers';

/** The grant type URN (RFC 8693 §2.1). */
export const TOKEN_EXCHANGE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** Token type identifiers (RFC 8693 §3). */
export const TOKEN_TYPES = Object.freeze({
  /** An OAuth access token. */
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
  /** An OAuth refresh token. */
  refreshToken: 'urn:ietf:params:oauth:token-type:refresh_token',
  /** An OpenID Connect ID token. */
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
  /** Any JWT (e.g. from a trusted issuer). */
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
} as const);

/** A subject or actor token after verification. */
export interface ExchangedToken {
  /** The `*_token_type` the client sent. */
  readonly tokenType: string;
  /** Who issued it: this router's issuer, or a trusted issuer's. */
  readonly issuer: string;
  /** Its `sub` (for our access and ID tokens: as their client sees it, pairwise for pairwise clients). */
  readonly subject: string;
  /**
   * The host's local subject, when this server knows it: our refresh tokens; our access and ID
   * tokens of clients with public subjects. Undefined for a token without an end user (a
   * client_credentials token), of a pairwise client, and for every JWT of a trusted issuer (its
   * `sub` is the partner's identifier: map it to your user with `decision.subject`).
   */
  readonly localSubject: string | undefined;
  /**
   * The client of ours it was issued to (our tokens only). Undefined for a trusted issuer's JWT: its
   * `client_id`/`azp` name the partner's clients, readable in `claims` together with `issuer`.
   */
  readonly clientId: string | undefined;
  /** Its scope (empty when it has none). */
  readonly scope: readonly string[];
  /** Its verified claims (for a refresh token: the stored facts as claims: sub, client_id, scope, exp, iat, grant_id). */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** What the policy decides on. */
export interface TokenExchangeRequest {
  /** The authenticated client asking. */
  readonly client: RegisteredClient;
  /** The verified `subject_token`. */
  readonly subjectToken: ExchangedToken;
  /** Present for delegation (RFC 8693 §1.1): the new token gets an `act` claim naming this actor. */
  readonly actorToken: ExchangedToken | undefined;
  /** `requested_token_type` (defaults to the access-token URN). */
  readonly requestedTokenType: string;
  /** `audience` as sent (a logical name of the target service; one value). Map it to `decision.resources`. */
  readonly audience: readonly string[];
  /** `resource` as sent (RFC 8707: absolute URIs, syntax-checked; may repeat), not yet checked against the client. */
  readonly resources: readonly string[];
  /** `scope` as sent (not yet checked). */
  readonly scope: readonly string[] | undefined;
}

/** What the policy grants. Returning `false` (or nothing) refuses the exchange (400 invalid_request). */
export interface TokenExchangeDecision {
  /**
   * The most the new token may carry: a requested `scope` must be within it (else
   * `invalid_scope`); without a request, all of it. Also limited by the client's registered scope.
   */
  readonly scope: readonly string[];
  /**
   * The host's local subject of the new token, when it differs from (or cannot be derived from)
   * the subject token's: required for pairwise tokens and for a trusted issuer's JWT (else 400
   * `invalid_request`). Absent with one of our tokens without an end user: the new token is then
   * the client-level token the subject token was (its `sub`).
   */
  readonly subject?: string;
  /**
   * The resources (RFC 8707; keys of the router's `resources` option, registered for the asking
   * client) the new token may be for: requested `resource` values must be among them (else
   * `invalid_target`), and without a request the token is for all of them — its `aud`, lifetime and
   * scope per resource. This is how a requested `audience` is served: map it to its resource(s).
   * Absent: requested resources are checked against the client only, and a request that named an
   * `audience` is `invalid_target` (a token is never issued for the default audience instead) unless
   * `audienceServed` says the policy served it another way.
   */
  readonly resources?: readonly string[];
  /**
   * The policy served the requested `audience` without resources (e.g. it selected a profile and
   * returns it in `claims`): the token keeps the default `aud`. Defaults to false.
   */
  readonly audienceServed?: boolean;
  /** Whether `requested_token_type` refresh_token may be answered (a new refresh family). Defaults to false. */
  readonly refreshToken?: boolean;
  /** Extra access-token claims (protected claims — `aud`, `act`, `may_act`, `grant_id` included — are never overridden). */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** Options of {@link tokenExchange}. */
export interface TokenExchangeOptions {
  /**
   * Decides each exchange after the tokens were verified (and `may_act` honoured): return what
   * the new token may carry, or `false` to refuse (400 `invalid_request`, RFC 8693 §2.2.2). There is
   * no default: without a policy nothing is exchanged.
   */
  policy: (request: TokenExchangeRequest) => TokenExchangeDecision | false | undefined | Promise<TokenExchangeDecision | false | undefined>;
  /** Issuers whose JWTs are accepted as `urn:ietf:params:oauth:token-type:jwt` tokens. Defaults to none. */
  trustedIssuers?: readonly TrustedIssuer[];
  /** Whether public clients may exchange tokens. Defaults to false. */
  allowPublicClients?: boolean;
}

const OPTION_KEYS: { readonly [K in keyof Required<TokenExchangeOptions>]: true } = { policy: true, trustedIssuers: true, allowPublicClients: true };

const URN = { maxLength: 256 } as const;
/** The form parameters of the token-exchange request (RFC 8693 §2.1); each is refused with other grant types. */
export type TokenExchangeParameters = {
  /** The token that represents the party on whose behalf the request is made. */
  readonly subject_token: RequiredParameterSpec;
  /** The type URN of `subject_token` (see {@link TOKEN_TYPES}). */
  readonly subject_token_type: RequiredParameterSpec;
  /** The token of the acting party, for delegation. */
  readonly actor_token: ParameterSpec;
  /** The type URN of `actor_token`; required when `actor_token` is sent. */
  readonly actor_token_type: ParameterSpec;
  /** The type URN of the token wanted; defaults to an access token. */
  readonly requested_token_type: ParameterSpec;
  /** The logical name of the target service. */
  readonly audience: ParameterSpec;
};

const PARAMETERS: TokenExchangeParameters = {
  subject_token: { required: true, maxLength: MAX_PRESENTED_TOKEN_LENGTH, exclusive: true },
  subject_token_type: { required: true, ...URN, exclusive: true },
  actor_token: { maxLength: MAX_PRESENTED_TOKEN_LENGTH, exclusive: true },
  actor_token_type: { ...URN, exclusive: true },
  requested_token_type: { ...URN, exclusive: true },
  audience: { maxLength: 2048, exclusive: true },
};

type Requires = never;
type ExchangeContext = GrantContext<TokenExchangeParameters, Requires>;

/**
 * The token-exchange grant (RFC 8693). Subject and actor tokens may be this router's access
 * tokens, ID tokens (issued to the asking client) and refresh tokens (the asking client's own;
 * looked up, not consumed), each checked for expiry and revocation, or JWTs from `trustedIssuers`.
 * An `actor_token` makes it delegation (the new access token's `act` claim names the actor and
 * nests any earlier `act`, §4.1); `may_act` in the subject token (§4.4) must name the actor (or
 * the asking client). Everything then goes to `policy`; without its consent nothing is issued.
 *
 * @example
 * grants: [...defaultGrants(), tokenExchange({
 *   policy: ({ client, subjectToken }) => client.client_id === 'api-gateway' && subjectToken.clientId === 'web' ? { scope: ['orders:read'] } : false,
 * })]
 */
export function tokenExchange(options: TokenExchangeOptions): GrantStrategy<TokenExchangeParameters, never> {
  const problems: string[] = [];
  let issuers: PreparedIssuer[] = [];
  if (typeof options !== 'object' || options === null) problems.push('tokenExchange(options): options must be an object { policy, trustedIssuers?, allowPublicClients? }.');
  else {
    checkKeys(options as unknown as Record<string, unknown>, 'tokenExchange(options)', Object.keys(OPTION_KEYS), problems);
    if (typeof options.policy !== 'function') problems.push('tokenExchange(options).policy is required: a function (request) => decision | false that decides each exchange (nothing is exchanged without it).');
    if (options.allowPublicClients !== undefined && typeof options.allowPublicClients !== 'boolean') problems.push('tokenExchange(options).allowPublicClients must be true or false.');
    issuers = prepareTrustedIssuers(options.trustedIssuers, 'tokenExchange(options).trustedIssuers', problems);
  }
  return defineGrant({
    grantType: TOKEN_EXCHANGE_GRANT_TYPE,
    parameters: PARAMETERS,
    allowPublicClients: options?.allowPublicClients === true,
    validateSetup: () => problems,
    async handle(ctx): Promise<TokenResponse> {
      const { params } = ctx;
      const requestedTokenType = params.requested_token_type ?? TOKEN_TYPES.accessToken;
      if (requestedTokenType !== TOKEN_TYPES.accessToken && requestedTokenType !== TOKEN_TYPES.refreshToken) {
        throw new OAuthError('invalid_request', 'The requested_token_type is not supported; use urn:ietf:params:oauth:token-type:access_token or refresh_token.');
      }
      // §2.1: actor_token_type is REQUIRED with actor_token and MUST NOT be sent without it.
      if ((params.actor_token === undefined) !== (params.actor_token_type === undefined)) {
        throw new OAuthError('invalid_request', 'actor_token and actor_token_type must be sent together.');
      }
      const subjectToken = await verifyToken(ctx, params.subject_token, params.subject_token_type, issuers, 'subject_token');
      const actorToken = params.actor_token !== undefined && params.actor_token_type !== undefined
        ? await verifyToken(ctx, params.actor_token, params.actor_token_type, issuers, 'actor_token')
        : undefined;
      checkMayAct(subjectToken, actorToken, ctx.client.clientId, ctx.issuer);

      const audience = params.audience === undefined ? [] : [params.audience];
      const decision = await options.policy({ client: ctx.client.metadata, subjectToken, actorToken, requestedTokenType, audience, resources: ctx.requestedResources ?? [], scope: ctx.requestedScope });
      if (decision === false || decision === undefined || decision === null) throw new OAuthError('invalid_request', 'The token exchange is not permitted.');
      checkDecision(decision);
      // An exchange does not authenticate the user: no ID token now, nor one refresh later.
      if (ctx.requestedScope?.includes('openid')) throw new OAuthError('invalid_scope', 'A token exchange cannot grant openid: it does not authenticate the user.');
      const scope = ctx.grantScope(ctx.requestedScope, { within: decision.scope, withinDescription: 'what this exchange permits', fallback: decision.scope.filter((token) => token !== 'openid') });
      // RFC 8693 §2.2.2: a target (audience or resource) this server will not serve is invalid_target.
      const resources = ctx.grantResources(ctx.requestedResources, decision.resources === undefined ? undefined : { within: decision.resources, withinDescription: 'what this exchange permits', fallback: decision.resources });
      if (audience.length > 0 && resources.length === 0 && decision.audienceServed !== true) throw new OAuthError('invalid_target', 'The requested audience is not served by this exchange.');
      // Only our own tokens name a grant of ours; a partner's `grant_id` claim means nothing here.
      const subjectGrantId = subjectToken.issuer === ctx.issuer && typeof subjectToken.claims.grant_id === 'string' ? subjectToken.claims.grant_id : undefined;

      const localSubject = decision.subject ?? subjectToken.localSubject;
      if (localSubject === undefined && !isClientLevel(subjectToken, ctx.issuer)) {
        throw new OAuthError('invalid_request', 'The subject_token does not identify its user to this server.');
      }
      const session = localSubject === undefined ? undefined : sessionOf(localSubject, subjectToken, ctx.issuer);

      if (requestedTokenType === TOKEN_TYPES.refreshToken) {
        if (decision.refreshToken !== true || session === undefined) throw new OAuthError('invalid_request', 'A refresh token cannot be issued for this exchange.');
        // The family joins the subject token's grant: revoking the user's grant (logout, reuse, a code
        // replay) ends it too, and revoking it ends the grant it came from.
        const grantId = subjectGrantId ?? randomUUID();
        const dpopJkt = ctx.client.isPublic ? ctx.request.dpopJkt : undefined;
        const refreshTokenValue = await ctx.refreshTokens.issueFirst({ client: ctx.client, grantId, session, scope, ...(resources.length > 0 && { resources }), ...(dpopJkt !== undefined && { dpopJkt }), now: ctx.now() });
        if (refreshTokenValue === undefined) throw new OAuthError('invalid_request', 'A refresh token cannot be issued to this client for this scope (offline_access, its grant_types and refresh policy decide).');
        const stored = await ctx.tokens.refreshToken(refreshTokenValue);
        if (!stored) throw new Error('tokenExchange: the refresh token just issued is not in storage.');
        // §2.2.1: access_token carries the issued token whatever its type; token_type N_A for a non-access token.
        return {
          access_token: refreshTokenValue,
          issued_token_type: TOKEN_TYPES.refreshToken,
          token_type: 'N_A',
          expires_in: Math.max(0, Math.floor((stored.record.expiresAt - ctx.now()) / 1000)),
          scope: scope.length > 0 ? scope.join(' ') : undefined,
        };
      }

      const actor = actorToken === undefined ? undefined : actClaim(actorToken, subjectToken, ctx.issuer);
      // The new access token belongs to the subject token's grant: revoking the user's grant (logout,
      // refresh-token revocation or reuse) makes it inactive too.
      const tokens = await ctx.issueTokens({
        scope,
        ...(resources.length > 0 && { resources }),
        ...(session !== undefined ? { session } : { clientSubject: subjectToken.subject }),
        ...(subjectGrantId !== undefined && { grantId: subjectGrantId }),
        ...(decision.claims !== undefined && { accessTokenClaims: decision.claims }),
        ...(actor !== undefined && { actor }),
      });
      const { refresh_token: _refresh, ...body } = tokens.body;
      return { ...body, issued_token_type: TOKEN_TYPES.accessToken };
    },
  });
}

async function verifyToken(ctx: ExchangeContext, token: string, tokenType: string, issuers: readonly PreparedIssuer[], name: string): Promise<ExchangedToken> {
  // §2.2.2: a token that is invalid for any reason is invalid_request (the reason is not told).
  const invalid = () => new OAuthError('invalid_request', `The ${name} is invalid, expired or revoked.`);
  switch (tokenType) {
    case TOKEN_TYPES.accessToken: {
      const claims = await ctx.tokens.accessToken(token);
      if (!claims) throw invalid();
      return ourJwt(ctx, tokenType, claims, claims.client_id, scopeOf(claims.scope));
    }
    case TOKEN_TYPES.idToken: {
      const claims = await ctx.tokens.idToken(token);
      // An ID token is for the client it was issued to (OIDC Core §2): another client's is not usable.
      if (!claims || !(Array.isArray(claims.aud) ? claims.aud.includes(ctx.client.clientId) : claims.aud === ctx.client.clientId)) throw invalid();
      return ourJwt(ctx, tokenType, claims, ctx.client.clientId, []);
    }
    case TOKEN_TYPES.refreshToken: {
      const found = await ctx.tokens.refreshToken(token);
      // A refresh token is a credential of its client: only its own client may present it.
      if (!found?.active || found.record.clientId !== ctx.client.clientId) throw invalid();
      const { record } = found;
      const owner = ctx.client.metadata;
      return {
        tokenType,
        issuer: ctx.issuer,
        subject: ctx.subjects.subjectFor(owner, record.subject),
        localSubject: record.subject,
        clientId: record.clientId,
        scope: record.scope,
        claims: {
          sub: ctx.subjects.subjectFor(owner, record.subject),
          client_id: record.clientId,
          scope: record.scope.join(' '),
          iat: Math.floor(record.issuedAt / 1000),
          exp: Math.floor(record.expiresAt / 1000),
          grant_id: record.grantId,
          ...(record.authTime !== undefined && { auth_time: record.authTime }),
          ...(record.acr !== undefined && { acr: record.acr }),
          ...(record.amr !== undefined && { amr: record.amr }),
        },
      };
    }
    case TOKEN_TYPES.jwt: {
      const claims = await verifyTrustedJwt(token, issuers, ctx.issuer, ctx.now());
      if (!claims) throw invalid();
      // The partner's namespaces are not ours: no local subject, no client of ours (the policy maps them).
      return { tokenType, issuer: String(claims.iss), subject: claims.sub as string, localSubject: undefined, clientId: undefined, scope: scopeOf(claims.scope), claims };
    }
    default:
      throw new OAuthError('invalid_request', `The ${name}_type is not supported; use an urn:ietf:params:oauth:token-type: access_token, refresh_token, id_token or jwt.`);
  }
}

async function ourJwt(ctx: ExchangeContext, tokenType: string, claims: Readonly<Record<string, unknown>> & { readonly sub: string }, clientId: string, scope: readonly string[]): Promise<ExchangedToken> {
  // The local subject is known when the token's client sees public subjects (sub = local subject).
  const owner = await ctx.clients.findClient(clientId);
  const pairwise = owner?.subject_type === 'pairwise';
  // Every end-user token of ours carries grant_id (issueTokens adds one): an access token without it is a client's own.
  const clientLevel = tokenType === TOKEN_TYPES.accessToken && claims.grant_id === undefined;
  return { tokenType, issuer: ctx.issuer, subject: claims.sub, localSubject: pairwise || clientLevel || !owner ? undefined : claims.sub, clientId, scope, claims };
}

function scopeOf(value: unknown): readonly string[] {
  if (typeof value === 'string') return parseScope(value);
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return [];
}

// One of our tokens without an end user (client_credentials): the exchanged token stays client-level.
// Never a partner's token, whatever its `sub` looks like.
function isClientLevel(token: ExchangedToken, ownIssuer: string): boolean {
  return token.issuer === ownIssuer && token.tokenType === TOKEN_TYPES.accessToken && token.claims.grant_id === undefined;
}

// RFC 8693 §4.4: may_act names who may act for the subject; the actor (or, without an actor
// token, the asking client, named as our tokens name clients: client:<id>) must match it, else the
// exchange is refused. Without `iss` in may_act, the actor must come from the subject token's issuer.
function checkMayAct(subject: ExchangedToken, actor: ExchangedToken | undefined, clientId: string, ownIssuer: string): void {
  const mayAct = subject.claims.may_act;
  if (mayAct === undefined) return;
  const allowed = typeof mayAct === 'object' && mayAct !== null && !Array.isArray(mayAct) ? (mayAct as Record<string, unknown>) : {};
  const actorSub = actor ? actor.subject : `${CLIENT_SUBJECT_PREFIX}${clientId}`;
  const actorIss = actor ? actor.issuer : ownIssuer;
  const matches = typeof allowed.sub === 'string' && allowed.sub === actorSub && (allowed.iss ?? subject.issuer) === actorIss;
  if (!matches) throw new OAuthError('invalid_request', 'The actor is not allowed to act for the subject (may_act).');
}

/** Longest chain of actors kept in `act` (the current one plus earlier ones). */
const MAX_ACT_DEPTH = 8;

// RFC 8693 §4.1: the current actor outermost, earlier actors nested. Only `sub`, `iss` and `act`
// of an earlier chain are carried over, each checked: a malformed or too deep chain is refused.
function actClaim(actor: ExchangedToken, subject: ExchangedToken, ownIssuer: string): Record<string, unknown> {
  const prior = subject.claims.act === undefined ? undefined : priorActors(subject.claims.act, 1);
  return {
    sub: actor.subject,
    ...(actor.issuer !== ownIssuer && { iss: actor.issuer }),
    ...(prior !== undefined && { act: prior }),
  };
}

function priorActors(value: unknown, depth: number): Record<string, unknown> {
  const invalid = () => new OAuthError('invalid_request', 'The subject_token has a malformed act claim.');
  if (depth >= MAX_ACT_DEPTH || typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid();
  const { sub, iss, act } = value as Record<string, unknown>;
  if (typeof sub !== 'string' || (iss !== undefined && typeof iss !== 'string')) throw invalid();
  return { sub, ...(iss !== undefined && { iss }), ...(act !== undefined && { act: priorActors(act, depth + 1) }) };
}

// Authentication facts (auth_time, acr, amr) only from our own tokens: a partner's are not ours to assert.
function sessionOf(localSubject: string, token: ExchangedToken, ownIssuer: string): SessionFacts {
  if (token.issuer !== ownIssuer) return { subject: localSubject };
  const { auth_time: authTime, acr, amr } = token.claims;
  return {
    subject: localSubject,
    ...(typeof authTime === 'number' && { authTime }),
    ...(typeof acr === 'string' && { acr }),
    ...(Array.isArray(amr) && amr.every((item) => typeof item === 'string') && { amr: amr as string[] }),
  };
}

// The policy is host code: a malformed decision is the host's bug (500, logged), never a token.
function checkDecision(decision: TokenExchangeDecision): void {
  const problems: string[] = [];
  if (typeof decision !== 'object' || decision === null) problems.push('must be an object { scope, subject?, refreshToken?, claims? } or false');
  else {
    if (!Array.isArray(decision.scope) || !decision.scope.every((s) => typeof s === 'string')) problems.push('scope must be an array of scope tokens');
    if (decision.subject !== undefined) {
      try {
        assertLocalSubject(decision.subject, 'subject');
      } catch (error) {
        problems.push(error instanceof Error ? error.message : 'subject must be a local subject');
      }
    }
    if (decision.refreshToken !== undefined && typeof decision.refreshToken !== 'boolean') problems.push('refreshToken must be true or false');
    if (decision.audienceServed !== undefined && typeof decision.audienceServed !== 'boolean') problems.push('audienceServed must be true or false');
    if (decision.resources !== undefined && (!Array.isArray(decision.resources) || !decision.resources.every((r) => typeof r === 'string'))) problems.push('resources must be an array of resource URIs');
    if (decision.claims !== undefined && (typeof decision.claims !== 'object' || decision.claims === null || Array.isArray(decision.claims))) problems.push('claims must be an object');
  }
  if (problems.length > 0) throw new TypeError(`tokenExchange policy returned a bad decision: ${problems.join('; ')}.`);
}
