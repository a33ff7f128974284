// lib/contracts/grant.ts
// The grant-strategy plug-in shape and the context the router hands to a strategy.
import type { IncomingHttpHeaders } from 'node:http';
import type { AuthenticatedClient, ClientRegistry } from './clients';
import type { TokenEndpointEvent } from './events';
import type { Logger } from '../internal/logger';
import type { StorageAdapter } from './storage';
import type { RefreshTokenService } from '../issuance/refresh-tokens';
import type { SubjectResolver } from '../issuance/subjects';
import type { AccessTokenService } from '../tokens/access-token';
import type { IdTokenService } from '../tokens/id-token';

/** How the router validates one parameter a grant reads. */
export interface ParameterSpec {
  /** Missing (or empty) → 400 invalid_request naming the parameter. */
  readonly required?: boolean;
  /** Longest accepted value, checked before any hashing or lookup. Defaults to 2048. */
  readonly maxLength?: number;
  /** Values must match this (compiled once, at router creation). */
  readonly pattern?: RegExp;
  /** Explains `pattern` in the error description, e.g. "43-128 characters of [A-Za-z0-9-._~]". */
  readonly patternDescription?: string;
  /**
   * When true, the parameter belongs to this grant only: sending it with another grant_type is
   * 400 invalid_request instead of being ignored (e.g. TelenorID+'s `tnuId`).
   */
  readonly exclusive?: boolean;
}

/** Parameter name → rules. Only declared parameters (plus `scope`) reach the strategy. */
export type ParameterSpecs = Readonly<Record<string, ParameterSpec>>;

/** The validated parameters a strategy receives: declared ones only, absent when not sent. */
export type GrantParameters = Readonly<Record<string, string | undefined>>;

/** A class-validator DTO class (properties with decorators); see `GrantStrategy.paramsDto`. */
export type ParamsDtoClass = new () => object;

/** The token response body (RFC 6749 §5.1). Members that are `undefined` are left out. */
export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer' | (string & {});
  /** Lifetime of the access token in seconds (integer). */
  readonly expires_in: number;
  /** Space-separated granted scope. */
  readonly scope?: string;
  readonly refresh_token?: string;
  readonly id_token?: string;
  /** Grants may add members (e.g. `issued_token_type`); `null`/`undefined` values are dropped. */
  readonly [member: string]: unknown;
}

/** Everything a strategy needs to handle one request. Dependencies are explicit, never global. */
export interface GrantContext {
  /** The `grant_type` of the request. */
  readonly grantType: string;
  /** The authenticated client. */
  readonly client: AuthenticatedClient;
  /** Validated parameters the strategy declared. */
  readonly params: GrantParameters;
  /** The validated DTO instance when the strategy declared `paramsDto`. */
  readonly dto: object | undefined;
  /** `scope` parsed and syntax-checked (not yet checked against the client); undefined when absent. */
  readonly requestedScope: readonly string[] | undefined;
  /** The storage adapter (the router checked at startup that the methods this grant needs exist). */
  readonly storage: StorageAdapter;
  /** The client registry. */
  readonly clients: ClientRegistry;
  /** The issuer identifier (`iss`). */
  readonly issuer: string;
  /** Mints access tokens. */
  readonly accessTokens: AccessTokenService;
  /** Mints OIDC ID tokens. */
  readonly idTokens: IdTokenService;
  /** Maps the host's subject to the `sub` this client sees (public or pairwise). */
  readonly subjects: SubjectResolver;
  /** Refresh-token policies and minting. */
  readonly refreshTokens: RefreshTokenService;
  /** Adds a header to the success response (e.g. `Deprecation`). */
  setHeader(name: string, value: string): void;
  /** How long a revoked grant's mark is kept, in ms (covers the longest-lived token of a grant). */
  readonly grantRetentionMs: number;
  /** Current time in ms since the epoch (the router's clock). */
  now(): number;
  /** Read-only facts about the HTTP request (for sender-constraining, auditing). */
  readonly request: { readonly ip: string | undefined; readonly headers: IncomingHttpHeaders };
  /** Reports an event (exceptions from listeners are contained). */
  emit(event: TokenEndpointEvent): void;
  readonly logger: Logger;
}

/** What a strategy can check once, at router creation. */
export interface GrantSetupContext {
  /** The storage adapter as configured (possibly partial, possibly absent). */
  readonly storage: Partial<StorageAdapter> | undefined;
  readonly issuer: string;
}

/**
 * A grant type handler. Built-ins come from factories (`clientCredentials()` …); a host can
 * pass its own object for a custom grant.
 *
 * @example
 * const tokenExchange: GrantStrategy = {
 *   grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
 *   parameters: { subject_token: { required: true, maxLength: 4096 }, subject_token_type: { required: true } },
 *   allowPublicClients: false,
 *   async handle(ctx) {
 *     const subject = await verifySubjectToken(ctx.params.subject_token!);
 *     const at = await ctx.accessTokens.issue({ client: ctx.client, grantType: ctx.grantType, subject, scope: [] });
 *     return { access_token: at.token, token_type: 'Bearer', expires_in: at.expiresIn };
 *   },
 * };
 */
export interface GrantStrategy {
  /** The exact `grant_type` value or URN. Unique among a router's grants. */
  readonly grantType: string;
  /** Parameters this grant reads; every other parameter (except `scope`) is ignored. */
  readonly parameters: ParameterSpecs;
  /**
   * Optional class-validator DTO, validated after `parameters` (class-transformer builds the
   * instance from the declared parameters). A failure is 400 invalid_request.
   */
  readonly paramsDto?: ParamsDtoClass;
  /**
   * Whether public (`none`) clients may use this grant. When false, a public client gets
   * 400 unauthorized_client. Confidential clients always authenticate.
   */
  readonly allowPublicClients: boolean;
  /**
   * Checks made once at `createTokenRouter`; return problems as messages naming what to fix
   * (e.g. a storage method this grant needs).
   */
  validateSetup?(setup: GrantSetupContext): readonly string[];
  /** Handles a request: returns the body or throws OAuthError. Never writes the response. */
  handle(ctx: GrantContext): Promise<TokenResponse>;
}
