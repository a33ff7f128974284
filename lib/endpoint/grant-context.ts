// lib/endpoint/grant-context.ts
// The GrantContext one token request hands to its strategy. A class, so a request allocates one
// object and no closures; it remembers the tokens it minted so the router reports token.issued
// for exactly the body that is answered.
import type { AuthenticatedClient, ClientRegistry } from '../contracts/clients';
import type { TokenEndpointEvent } from '../contracts/events';
import type { GrantContext, GrantParameters, GrantStorage, IssuedTokens, IssueTokensRequest, ParameterSpecs, RequestFacts, ScopeRules, StorageMethodName, TokenResponse } from '../contracts/grant';
import type { GrantedScope } from '../contracts/scope';
import type { GrantedResources, ResourceRules } from '../contracts/resources';
import type { Logger } from '../contracts/logger';
import type { RefreshTokenService } from '../contracts/refresh-tokens';
import type { SubjectResolver } from '../contracts/subjects';
import type { AccessTokenService, IdTokenService, TokenInspector } from '../contracts/tokens';
import { grantScope, issuedEvent, issueTokens, type MintedTokens, type TokenServices } from '../issuance/issue-tokens';

/** What every request's context shares, built once by the router. */
export interface GrantContextShared {
  readonly services: TokenServices;
  readonly refreshTokens: RefreshTokenService;
  readonly tokens: TokenInspector;
  readonly clients: ClientRegistry;
  readonly issuer: string;
  readonly grantRetentionMs: number;
  readonly clock: () => number;
  readonly emit: (event: TokenEndpointEvent) => void;
  readonly logger: Logger;
  readonly unchecked: { readonly accessTokens: AccessTokenService; readonly idTokens: IdTokenService };
}

export class RequestGrantContext implements GrantContext<ParameterSpecs, StorageMethodName> {
  readonly clients: ClientRegistry;
  readonly issuer: string;
  readonly subjects: SubjectResolver;
  readonly refreshTokens: RefreshTokenService;
  readonly tokens: TokenInspector;
  readonly unchecked: GrantContextShared['unchecked'];
  readonly grantRetentionMs: number;
  readonly now: () => number;
  readonly emit: (event: TokenEndpointEvent) => void;
  readonly logger: Logger;
  /** Headers a grant added with setHeader. */
  headers: Record<string, string> | undefined = undefined;
  private minted: Array<{ readonly minted: MintedTokens; readonly request: IssueTokensRequest }> | undefined = undefined;

  constructor(
    private readonly shared: GrantContextShared,
    readonly grantType: string,
    readonly client: AuthenticatedClient,
    readonly params: GrantParameters,
    readonly dto: object | undefined,
    readonly requestedScope: readonly string[] | undefined,
    readonly requestedResources: readonly string[] | undefined,
    readonly storage: GrantStorage<StorageMethodName>,
    readonly request: RequestFacts,
  ) {
    this.clients = shared.clients;
    this.issuer = shared.issuer;
    this.subjects = shared.services.subjects;
    this.refreshTokens = shared.refreshTokens;
    this.tokens = shared.tokens;
    this.unchecked = shared.unchecked;
    this.grantRetentionMs = shared.grantRetentionMs;
    this.now = shared.clock;
    this.emit = shared.emit;
    this.logger = shared.logger;
  }

  grantScope(requested: readonly string[] | undefined, rules?: ScopeRules): GrantedScope {
    return grantScope(this.client, requested, rules);
  }

  grantResources(requested: readonly string[] | undefined, rules?: ResourceRules): GrantedResources {
    return this.shared.services.resources.grant(this.client.metadata, requested, rules);
  }

  async issueTokens(request: IssueTokensRequest): Promise<IssuedTokens> {
    const minted = await issueTokens(this.shared.services, this.client, this.grantType, request, this.request.dpopJkt);
    (this.minted ??= []).push({ minted, request });
    return minted.issued;
  }

  setHeader(name: string, value: string): void {
    (this.headers ??= {})[name] = value;
  }

  /** Reports token.issued when `body` carries an access token this request minted. */
  reportIssued(body: TokenResponse): void {
    if (!this.minted) return;
    for (const { minted, request } of this.minted) {
      if (minted.issued.body.access_token === body.access_token) {
        this.emit(issuedEvent(this.now(), this.grantType, this.client, minted, request, body));
        return;
      }
    }
  }
}
