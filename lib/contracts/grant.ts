// lib/contracts/grant.ts
// The grant-strategy plug-in contract: what a strategy declares (parameters, storage methods,
// contributions) and the context it runs with. Built-in grants use exactly this contract.
import type { IncomingHttpHeaders } from 'node:http';
import type { AuthenticatedClient, ClientRegistry, RegisteredClient } from './clients';
import type { DiscoveryOptions } from './discovery';
import type { TokenEndpointEvent } from './events';
import type { Logger } from './logger';
import type { RefreshTokenService } from './refresh-tokens';
import type { GrantedResources, ResourceRules } from './resources';
import type { GrantedScope } from './scope';
import type { SessionFacts, StorageAdapter } from './storage';
import type { SubjectResolver } from './subjects';
import type { AccessTokenService, IdTokenService, TokenInspector } from './tokens';

/** How the router validates one parameter a grant (or a contributed endpoint) reads. */
export interface ParameterSpec {
  /** Missing (or empty) → 400 invalid_request naming the parameter. */
  readonly required?: boolean;
  /** Longest accepted value, checked before any hashing or lookup. Defaults to 2048. */
  readonly maxLength?: number;
  /** Values must match this (compiled once, at router creation). No `g` or `y` flag. */
  readonly pattern?: RegExp;
  /** Explains `pattern` in the error description, e.g. "43-128 characters of [A-Za-z0-9-._~]". */
  readonly patternDescription?: string;
  /**
   * When true, the parameter belongs to this grant only: sending it with another grant_type is
   * 400 invalid_request instead of being ignored (for extension parameters that would otherwise
   * be silently dropped by the other grants, RFC 6749 §3.2).
   */
  readonly exclusive?: boolean;
}

/** A parameter declared `required: true`: the strategy reads it as a `string`. */
export interface RequiredParameterSpec extends ParameterSpec {
  /** Always `true`: missing (or empty) → 400 invalid_request naming the parameter. */
  readonly required: true;
}

/** Parameter name → rules. Only declared parameters (plus `scope` and `resource`, which the router reads itself) reach the strategy. */
export type ParameterSpecs = Readonly<Record<string, ParameterSpec>>;

/**
 * The validated parameters a strategy receives: declared ones only. A parameter declared
 * `required: true` is a `string`; the others are `string | undefined` (absent when not sent).
 */
export type GrantParameters<P extends ParameterSpecs = ParameterSpecs> = {
  readonly [K in keyof P]: P[K] extends RequiredParameterSpec ? string : string | undefined;
};

/** A class-validator DTO class (properties with decorators); see `GrantStrategy.paramsDto`. */
export type ParamsDtoClass = new () => object;

/** The name of one {@link StorageAdapter} method. */
export type StorageMethodName = keyof StorageAdapter;

/**
 * Every {@link StorageAdapter} method name, for run-time checks of `GrantStrategy.requires`.
 * Written as an object keyed by the interface so a new storage method cannot be forgotten here.
 */
const STORAGE_METHOD_SET: { readonly [K in StorageMethodName]: true } = {
  saveAuthorizationCode: true,
  findAuthorizationCode: true,
  consumeAuthorizationCode: true,
  saveRefreshToken: true,
  findRefreshToken: true,
  rotateRefreshToken: true,
  revokeGrant: true,
  isGrantRevoked: true,
  revokeAccessToken: true,
  isAccessTokenRevoked: true,
  recordOneTimeUse: true,
  saveDeviceCode: true,
  findDeviceCode: true,
  findDeviceCodeByUserCode: true,
  decideDeviceCode: true,
  pollDeviceCode: true,
  consumeDeviceCode: true,
};
/** Every {@link StorageAdapter} method name, e.g. to check that an adapter of your own implements them all. */
export const STORAGE_METHODS: readonly StorageMethodName[] = Object.freeze(Object.keys(STORAGE_METHOD_SET) as StorageMethodName[]);

/** The storage a strategy sees: exactly the methods it declared in `requires`. */
export type GrantStorage<R extends StorageMethodName = never> = Readonly<Pick<StorageAdapter, R>>;


/** Limits for {@link GrantContext.grantScope} beyond the client's registered `scope`. */
export interface ScopeRules {
  /**
   * The requested scope may only narrow this one, e.g. the scope an authorization code or a
   * refresh token was issued with (RFC 6749 §6).
   */
  readonly within?: readonly string[];
  /** What `within` is, for the `invalid_scope` description. Defaults to "this grant". */
  readonly withinDescription?: string;
  /**
   * Granted when no scope was requested. Scopes the client may not (or no longer) request are
   * dropped from it silently. Defaults to none.
   */
  readonly fallback?: readonly string[];
}

/** What {@link GrantContext.issueTokens} mints. */
export interface IssueTokensRequest {
  /**
   * Checked scope, from {@link GrantContext.grantScope}. `openid` with a `session` adds an ID token.
   * With `resources`, the access token (and the response's `scope`) keeps only the scopes that
   * belong to one of them or to no configured resource (see the router's `resources` option).
   */
  readonly scope: GrantedScope;
  /**
   * Checked resource indicators (RFC 8707), from {@link GrantContext.grantResources}: the access
   * token's `aud` (a string for one, an array for several), its lifetime per the router's
   * `resources` option, its scope narrowed to theirs. Absent or empty: `aud` is the client's
   * `access_token_audience` or the router's `accessToken.audience`.
   */
  readonly resources?: GrantedResources;
  /**
   * The end user the tokens are for: the host's local subject (mapped to the pairwise `sub`
   * for pairwise clients) and the session facts (auth_time, acr, amr, sid, host claims).
   * Absent: the tokens are the client's own (no ID token; `sub` is `clientSubject`).
   */
  readonly session?: SessionFacts;
  /** `sub` of a token without end user. Defaults to the client id (RFC 9068 §2.2). Ignored with `session`. */
  readonly clientSubject?: string;
  /** The grant (revocation unit) the tokens belong to, reported in `token.issued`. */
  readonly grantId?: string;
  /** OIDC nonce for the ID token (authorization code flow). */
  readonly nonce?: string;
  /**
   * Grant-specific access-token claims. Protected claims still win and are dropped here, `aud`
   * among them: set the audience with `resources` (the supported way).
   */
  readonly accessTokenClaims?: Readonly<Record<string, unknown>>;
  /** A refresh token to return, already stored (see {@link RefreshTokenService.issueFirst}). */
  readonly refreshToken?: string;
  /**
   * The access token's `act` claim (RFC 8693 §4.1) for a delegated token: `{ sub, iss?, act? }`,
   * the current actor outermost. `act` cannot be set through `accessTokenClaims` or any hook.
   */
  readonly actor?: Readonly<Record<string, unknown>>;
}

/** Tokens minted by {@link GrantContext.issueTokens}. */
export interface IssuedTokens {
  /** The response body: return it (or a copy with extra members) from `handle`. */
  readonly body: TokenResponse;
  /** The `sub` the client sees. */
  readonly subject: string;
  /** The access token's `jti`. */
  readonly jti: string;
  /** When the access token expires, ms since the epoch. */
  readonly accessTokenExpiresAt: number;
}

/** The token response body (RFC 6749 §5.1). Members that are `undefined` are left out. */
export interface TokenResponse {
  /** The access token (a JWT, RFC 9068). */
  readonly access_token: string;
  /** `Bearer`, or `DPoP` for a DPoP-bound token (RFC 9449 §5); grants may name other types. */
  readonly token_type: 'Bearer' | (string & {});
  /** Lifetime of the access token in seconds (integer). */
  readonly expires_in: number;
  /** Space-separated granted scope. */
  readonly scope?: string;
  /** A refresh token, when the client's refresh policy issues one. */
  readonly refresh_token?: string;
  /** The OpenID Connect ID token, for an end user with `openid` in scope. */
  readonly id_token?: string;
  /** Grants may add members (e.g. `issued_token_type`); `null`/`undefined` values are dropped. */
  readonly [member: string]: unknown;
}

/** Read-only facts about the HTTP request (for sender-constraining, auditing). */
export interface RequestFacts {
  /** The client's IP address as Express reports it (honours the app's `trust proxy`); undefined when unknown. */
  readonly ip: string | undefined;
  /** The request headers (lower-case names). */
  readonly headers: IncomingHttpHeaders;
  /**
   * The JWK thumbprint (RFC 7638) of the request's verified DPoP proof (RFC 9449), when it had one.
   * `issueTokens` binds the access token to it (`cnf.jkt`, `token_type: DPoP`); grants bind refresh
   * tokens of public clients and check codes issued with `dpopJkt`.
   */
  readonly dpopJkt?: string;
}

/**
 * Everything a strategy needs to handle one request. Dependencies are explicit, never global.
 * `P` types the parameters, `R` the storage methods (both inferred by {@link defineGrant}).
 */
export interface GrantContext<P extends ParameterSpecs = ParameterSpecs, R extends StorageMethodName = never> {
  /** The `grant_type` of the request. */
  readonly grantType: string;
  /** The authenticated client (its record checked and normalised at the registry boundary). */
  readonly client: AuthenticatedClient;
  /** Validated parameters the strategy declared. */
  readonly params: GrantParameters<P>;
  /** The validated DTO instance when the strategy declared `paramsDto`. */
  readonly dto: object | undefined;
  /**
   * `scope` parsed and syntax-checked, **not yet checked against the client**: pass it through
   * {@link GrantContext.grantScope}. Undefined when absent.
   */
  readonly requestedScope: readonly string[] | undefined;
  /**
   * The `resource` parameters (RFC 8707; the parameter may repeat), syntax-checked (absolute URIs
   * without fragment, bounded length and count; else the router answered `invalid_target`),
   * duplicates dropped, **not yet checked against the client**: pass them through
   * {@link GrantContext.grantResources}. Undefined when absent.
   */
  readonly requestedResources: readonly string[] | undefined;
  /** The storage methods this grant declared in `requires` (checked at `createTokenRouter`). */
  readonly storage: GrantStorage<R>;
  /** The client registry, behind the same record checks as client authentication. */
  readonly clients: ClientRegistry;
  /** The issuer identifier (`iss`). */
  readonly issuer: string;
  /** Maps the host's subject to the `sub` this client sees (public or pairwise). */
  readonly subjects: SubjectResolver;
  /** Refresh-token policies and families. */
  readonly refreshTokens: RefreshTokenService;
  /** Verifies tokens this router issued that the request presents (e.g. a token exchange's subject_token). */
  readonly tokens: TokenInspector;
  /**
   * Checks a requested scope against the client's registered `scope` and the `rules`
   * (400 `invalid_scope` naming the first scope refused), or picks `rules.fallback` when none
   * was requested. The result is the only scope {@link GrantContext.issueTokens} accepts.
   */
  grantScope(requested: readonly string[] | undefined, rules?: ScopeRules): GrantedScope;
  /**
   * Checks requested resource indicators (RFC 8707) against the client's registered `resources`
   * (which must all be in the router's `resources` option) and the `rules` (400 `invalid_target`,
   * naming no resource), or picks `rules.fallback` when none was requested. The result is the only
   * list {@link IssueTokensRequest.resources} accepts.
   */
  grantResources(requested: readonly string[] | undefined, rules?: ResourceRules): GrantedResources;
  /**
   * Mints the access token (and, for an end user with `openid` in scope, the ID token) with the
   * built-in grants' guarantees: checked scope, pairwise subject mapping, the client's audience
   * and lifetime, the router's claims hooks. When the returned body is answered, the router
   * reports `token.issued` (a body minted but not returned — a lost race — is not reported).
   */
  issueTokens(request: IssueTokensRequest): Promise<IssuedTokens>;
  /**
   * The raw token services, **without** those guarantees: no scope check, no pairwise mapping,
   * no `token.issued` event. For grants that deliberately mint something else; the name is
   * there so a reviewer sees it.
   */
  readonly unchecked: {
    /** Signs access tokens exactly as asked. */
    readonly accessTokens: AccessTokenService;
    /** Signs ID tokens exactly as asked. */
    readonly idTokens: IdTokenService;
  };
  /** Adds a header to the success response (e.g. `Deprecation`). */
  setHeader(name: string, value: string): void;
  /** How long a revoked grant's mark is kept, in ms (covers the longest-lived token of a grant). */
  readonly grantRetentionMs: number;
  /** Current time in ms since the epoch (the router's clock). */
  now(): number;
  /** Read-only facts about the HTTP request. */
  readonly request: RequestFacts;
  /** Reports an event (exceptions from listeners are contained). */
  emit(event: TokenEndpointEvent): void;
  /** The router's logger. */
  readonly logger: Logger;
}

/** What a strategy can check once, at router creation (see `GrantStrategy.validateSetup`). */
export interface GrantSetupContext {
  /** The storage adapter as configured (possibly partial, possibly absent). */
  readonly storage: Partial<StorageAdapter> | undefined;
  /** The issuer identifier (`iss`). */
  readonly issuer: string;
}

/** What a strategy's `contribute` receives, once, after every check passed. */
export interface GrantContributionContext<R extends StorageMethodName = never> {
  /** The storage methods the strategy declared in `requires`. */
  readonly storage: GrantStorage<R>;
  /** The client registry, behind the record checks. */
  readonly clients: ClientRegistry;
  /** Maps the host's subject to the `sub` a client sees (public or pairwise). */
  readonly subjects: SubjectResolver;
  /** Refresh-token policies and families. */
  readonly refreshTokens: RefreshTokenService;
  /** Verifies tokens this router issued (revocation, introspection). */
  readonly tokens: TokenInspector;
  /** The issuer identifier (`iss`). */
  readonly issuer: string;
  /** The router's `discovery` option (e.g. endpoint URLs the host overrides). */
  readonly discovery: Readonly<DiscoveryOptions>;
  /**
   * The client-authentication methods clients may use (`token_endpoint_auth_methods_supported`:
   * the built-ins and `clientAuthentication.methods`), e.g. for an endpoint's own
   * `*_endpoint_auth_methods_supported` member.
   */
  readonly clientAuthMethods: readonly string[];
  /** The router's clock (ms since the epoch). */
  readonly clock: () => number;
  /**
   * Checks resource indicators (RFC 8707) a client asks for outside a token request, e.g. at an
   * authorization or a device authorization endpoint, to store them with what that request
   * starts: each must be among the client's registered `resources` (400 `invalid_target`
   * otherwise, naming no resource). Returns them frozen, duplicates dropped.
   */
  readonly checkResources: (client: RegisteredClient, requested: readonly string[]) => readonly string[];
  /** Reports an event (exceptions from listeners are contained). */
  readonly emit: (event: TokenEndpointEvent) => void;
  /** The router's logger. */
  readonly logger: Logger;
}

/** What one request to a contributed endpoint sees. */
export interface FormEndpointContext<P extends ParameterSpecs = ParameterSpecs> {
  /** The authenticated client (same methods, limits and failure budgets as the token endpoint). */
  readonly client: AuthenticatedClient;
  /** The endpoint's declared parameters, validated. */
  readonly params: GrantParameters<P>;
  /** `scope` parsed and syntax-checked, not yet checked against the client; undefined when absent. */
  readonly requestedScope: readonly string[] | undefined;
  /**
   * The `resource` parameters (RFC 8707), syntax-checked as at the token endpoint, not yet checked
   * against the client (see `GrantContributionContext.checkResources`); undefined when absent.
   */
  readonly requestedResources: readonly string[] | undefined;
  /** Read-only facts about the HTTP request. */
  readonly request: RequestFacts;
}

/**
 * A `POST` endpoint a grant adds to the router (e.g. RFC 8628's device authorization endpoint).
 * It runs the token endpoint's pipeline: HTTPS check, strict form parsing, credentials refused
 * in the query, rate limit, client authentication with its failure budgets, parameter checks,
 * `no-store`, and OAuth JSON errors (anything unexpected → 500 `server_error`, logged).
 * Other methods get 405.
 */
export interface FormEndpoint<P extends ParameterSpecs = ParameterSpecs> {
  /** Path relative to the router, e.g. `/deviceauthorization`. */
  readonly path: string;
  /**
   * The grant this endpoint starts: a client without it in `grant_types` gets 400
   * `unauthorized_client` before any parameter is read, and public clients are admitted as the
   * grant's `allowPublicClients` says.
   */
  readonly grantType?: string;
  /**
   * For an endpoint without `grantType`: whether public (`none`) clients may call it (RFC 7009
   * lets them revoke their own tokens). A public client otherwise gets 400 `unauthorized_client`.
   * Defaults to false.
   */
  readonly allowPublicClients?: boolean;
  /** Parameters read besides the client credentials, `scope` and `resource`, checked like a grant's. */
  readonly parameters?: P;
  /**
   * Also accept an `application/json` body (a flat object of strings, parsed as strictly as a
   * form). For compatibility with devices that send JSON (TelenorID+); defaults to false.
   */
  readonly acceptsJsonBody?: boolean;
  /** Returns the 200 JSON body (`undefined`: 200 with an empty body, as RFC 7009 §2.2 answers), or throws OAuthError. */
  handle(ctx: FormEndpointContext<P>): Promise<Readonly<Record<string, unknown>> | undefined>;
}

/** What a strategy adds to the router besides `POST /token` handling. */
export interface GrantContribution {
  /** Extra POST endpoints on the router. */
  readonly endpoints?: readonly FormEndpoint[];
  /** Discovery metadata members (they cannot replace members the library computes). */
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** Methods and objects set on the returned router for the host (e.g. `issueAuthorizationCode`). */
  readonly hostApi?: Readonly<Record<string, unknown>>;
}

/**
 * A grant type handler. Built-ins come from factories (`clientCredentials()` …) and use this
 * same contract; a host passes its own object for a custom grant, best through
 * {@link defineGrant} so parameters and storage are typed.
 */
export interface GrantStrategy<P extends ParameterSpecs = ParameterSpecs, R extends StorageMethodName = never> {
  /** The exact `grant_type` value or URN. Unique among a router's grants. */
  readonly grantType: string;
  /** Parameters this grant reads; every other parameter (except `scope` and `resource`) is ignored. */
  readonly parameters: P;
  /**
   * Optional class-validator DTO, validated after `parameters` (class-transformer builds the
   * instance from the declared parameters). A failure is 400 invalid_request. class-validator's
   * decorators need `"experimentalDecorators": true` in your tsconfig.json (without it: TS1240);
   * `parameters` alone needs no decorators.
   */
  readonly paramsDto?: ParamsDtoClass;
  /**
   * Whether public (`none`) clients may use this grant. When false, a public client gets
   * 400 unauthorized_client. Confidential clients always authenticate.
   */
  readonly allowPublicClients: boolean;
  /**
   * Also accept its token requests as an `application/json` body (a flat object of strings,
   * parsed as strictly as a form). Other grants keep refusing JSON. Defaults to false.
   */
  readonly acceptsJsonBody?: boolean;
  /**
   * The storage methods this grant calls. `createTokenRouter` checks once that the storage has
   * each of them; `ctx.storage` then holds exactly these.
   */
  readonly requires?: readonly R[];
  /**
   * Checks of the strategy's own settings made once at `createTokenRouter`; return problems as
   * messages naming what to fix.
   */
  validateSetup?(setup: GrantSetupContext): readonly string[];
  /** Called once at `createTokenRouter`, after every check passed: routes, metadata, host API. */
  contribute?(context: GrantContributionContext<R>): GrantContribution;
  /** Handles a request: returns the body or throws OAuthError. Never writes the response. */
  handle(ctx: GrantContext<P, R>): Promise<TokenResponse>;
}

/**
 * A plug-in that adds endpoints (and their discovery members and host API) without being a
 * grant: the built-in `revocation()` and `introspection()` are such plug-ins, passed in the
 * router's `endpoints` option. It gets the same contribution context, storage checks and
 * endpoint pipeline as a grant's `contribute`.
 */
export interface EndpointPlugin<R extends StorageMethodName = never> {
  /** Names the plug-in in startup errors, e.g. `revocation`. */
  readonly name: string;
  /** The storage methods it calls, checked once at `createTokenRouter` (`context.storage` then holds exactly these). */
  readonly requires?: readonly R[];
  /** Checks of its own settings made once at `createTokenRouter`; return problems as messages. */
  validateSetup?(setup: GrantSetupContext): readonly string[];
  /** Called once at `createTokenRouter`, after every check passed. */
  contribute(context: GrantContributionContext<R>): GrantContribution;
}

/** Any endpoint plug-in, whatever its storage methods (what `options.endpoints` takes). */
export type AnyEndpointPlugin = Omit<EndpointPlugin<never>, 'requires'> & {
  /** The storage methods it calls (see {@link EndpointPlugin.requires}). */
  readonly requires?: readonly StorageMethodName[];
};

/** Declares an endpoint plug-in with typed storage (see {@link EndpointPlugin}). Returns it unchanged. */
export function defineEndpointPlugin<R extends StorageMethodName = never>(plugin: EndpointPlugin<R>): EndpointPlugin<R> {
  return plugin;
}

/**
 * Any grant strategy, whatever its parameters and storage methods (what `options.grants` takes).
 * The router hands each strategy a context with exactly the storage it declared.
 */
export type AnyGrantStrategy = Omit<GrantStrategy<ParameterSpecs, never>, 'requires'> & {
  /** The storage methods it calls (see {@link GrantStrategy.requires}). */
  readonly requires?: readonly StorageMethodName[];
};

/**
 * Declares a grant with typed parameters and storage: a parameter declared `required: true` is a
 * `string` in `handle`, and `ctx.storage` has exactly the methods listed in `requires`. Returns
 * the strategy unchanged.
 *
 * @example
 * const tokenExchange = defineGrant({
 *   grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
 *   parameters: { subject_token: { required: true, maxLength: 4096 } },
 *   allowPublicClients: false,
 *   async handle(ctx) {
 *     const user = await verify(ctx.params.subject_token); // a string, no cast
 *     const tokens = await ctx.issueTokens({ scope: ctx.grantScope(ctx.requestedScope), session: { subject: user.id } });
 *     return { ...tokens.body, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token' };
 *   },
 * });
 */
export function defineGrant<const P extends ParameterSpecs, R extends StorageMethodName = never>(strategy: GrantStrategy<P, R>): GrantStrategy<P, R> {
  return strategy;
}

/** Declares a contributed endpoint with typed parameters (see {@link FormEndpoint}). Returns it unchanged. */
export function defineFormEndpoint<const P extends ParameterSpecs>(endpoint: FormEndpoint<P>): FormEndpoint<P> {
  return endpoint;
}
