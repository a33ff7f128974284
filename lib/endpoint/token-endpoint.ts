// lib/endpoint/token-endpoint.ts
// The POST /token pipeline: parse → client auth → grant supported → grant allowed → params → handle,
// and the same pipeline for endpoints grants contribute (e.g. device authorization).
import type { NextFunction, Request, Response } from 'express';
import type { AuthenticatedClient, ClientRegistry } from '../contracts/clients';
import { OAuthError } from '../contracts/errors';
import type { TokenEndpointEvent } from '../contracts/events';
import type { AnyGrantStrategy, FormEndpoint } from '../contracts/grant';
import type { Logger } from '../contracts/logger';
import { describeError } from '../internal/logger';
import { eventText } from '../internal/event-text';
import { authenticateClient, ClientAuthenticationError, type ClientAuthSettings } from './client-auth/authenticate-client';
import { extractCredentials, peekClientId, type AssertionTypes } from './client-auth/credentials';
import type { AssertionSettings } from './client-auth/client-assertion';
import type { ClientAuthenticationMethod, PresentedClientCertificate } from '../contracts/client-auth';
import { certificateThumbprint } from '../mtls/certificate';
import { verifyDpopProof, type VerifiedProof } from '../dpop/proof';
import type { NonceService } from '../dpop/nonce';
import { createClientAuthFailureLimiter, createGrantFailureLimiter, TooManyFailuresError, type ClientAuthFailureSettings, type GrantFailureSettings } from './brute-force';
import { RequestGrantContext, type GrantContextShared } from './grant-context';
import type { RouterTelemetry } from '../telemetry/router-telemetry';
import type { PreparedGrant } from './grant-registry';
import { alreadyParsed, readParameters, REPEATABLE_PARAMETER, type FormLimits, type FormParameters } from './read-form';
import { compactBody, setNoStore, writeError, writeJson } from './respond';
import { compileParameters, pickParameters, validateDto } from './validate-parameters';
import { parseScope } from '../issuance/scope';
import { parseResourceParameters } from '../issuance/resources';

/** Longest accepted `grant_type` and `scope`, checked before anything else reads them. */
const MAX_GRANT_TYPE_LENGTH = 256;
const MAX_SCOPE_LENGTH = 2048;
const MAX_PARAMETERS = 64;

/** What the endpoint runs on, resolved once by createTokenRouter. */
export interface TokenEndpointSettings {
  readonly issuer: string;
  readonly clients: ClientRegistry;
  readonly grants: ReadonlyMap<string, PreparedGrant>;
  readonly enforceRegisteredAuthMethod: boolean;
  readonly ignorePublicClientSecret: boolean;
  /** JWT client authentication: accepted audiences and the single-use jti store. */
  readonly clientAssertions: AssertionSettings;
  /** The methods of the client-authentication seam (JWT, mTLS, the host's), by name. */
  readonly clientAuthMethods: { readonly byName: ReadonlyMap<string, ClientAuthenticationMethod> };
  /** Reads the request's TLS client certificate (RFC 8705). */
  readonly clientCertificate: (req: Request) => PresentedClientCertificate | undefined;
  /** Server-provided DPoP nonces (RFC 9449 §8), when configured. */
  readonly dpopNonces: NonceService | undefined;
  readonly bruteForce: {
    readonly clientAuthFailures: ClientAuthFailureSettings | undefined;
    readonly grantFailures: GrantFailureSettings | undefined;
  };
  readonly maxBodyBytes: number;
  /** Pass unexpected (5xx) errors to Express's next(err) after logging, instead of answering them. */
  readonly forwardUnexpectedErrors: boolean;
  readonly logger: Logger;
  readonly clock: () => number;
  /** Reports an event to the host's listener, containing listener failures. */
  readonly emit: (event: TokenEndpointEvent) => void;
  /** Telemetry, when configured: the endpoint notes each request's client and error code. */
  readonly telemetry: Pick<RouterTelemetry, 'noteClient' | 'noteError'> | undefined;
}

/** Everything the endpoint needs, built once by createTokenRouter. */
export interface TokenEndpoint {
  /** Express middleware: reads the form into req.body (runs before the rate limiter). */
  readonly parseBody: (req: Request, res: Response, next: NextFunction) => void;
  /** The same for a contributed endpoint, which may accept JSON bodies. */
  readonly parseBodyFor: (endpoint: FormEndpoint) => (req: Request, res: Response, next: NextFunction) => void;
  /** Express handler for POST /token (after parseBody and the limiter). */
  readonly handle: (req: Request, res: Response) => Promise<void>;
  /** Express handler for a contributed endpoint (after parseBody and the limiter). */
  readonly formEndpoint: (endpoint: FormEndpoint) => (req: Request, res: Response) => Promise<void>;
  /** Express error handler for anything thrown in the router's routes. */
  readonly handleError: (error: unknown, req: Request, res: Response, next: NextFunction) => void;
}

/** Builds the endpoint. `shared` is what every grant context carries. */
export function createTokenEndpoint(settings: TokenEndpointSettings, shared: GrantContextShared, extraQueryParameters: readonly string[]): TokenEndpoint {
  const { clock, logger, emit, grants, telemetry } = settings;
  const formLimits: FormLimits = { maxBytes: settings.maxBodyBytes, maxParameters: MAX_PARAMETERS };
  const authSettings: ClientAuthSettings = {
    clients: settings.clients,
    realm: settings.issuer.replace(/["\\]/g, ''),
    enforceRegisteredMethod: settings.enforceRegisteredAuthMethod,
    ignorePublicClientSecret: settings.ignorePublicClientSecret,
    methods: settings.clientAuthMethods.byName,
  };
  const assertionTypes: AssertionTypes = new Map(
    [...settings.clientAuthMethods.byName.values()].flatMap((method) => (typeof method.credential === 'object' ? [[method.credential.assertionType, method.assertionSubject?.bind(method)] as const] : [])),
  );
  // Every parameter some grant, endpoint or client authentication reads: such values in the URL query are refused.
  const sensitiveQueryParameters = new Set(['grant_type', 'client_id', 'client_secret', 'client_assertion', 'client_assertion_type', 'scope', REPEATABLE_PARAMETER, ...extraQueryParameters]);
  for (const { parameters } of grants.values()) for (const name of parameters.names) sensitiveQueryParameters.add(name);
  // Parameters a grant declared `exclusive`: refused with any other grant_type.
  const exclusiveParameters: string[] = [];
  for (const { parameters } of grants.values()) for (const name of parameters.names) if (parameters.specs[name].exclusive) exclusiveParameters.push(name);

  // Failure budgets (online guessing, RFC 6819 §4.3.5), on top of the request rate limit.
  const { clientAuthFailures, grantFailures } = settings.bruteForce;
  const authFailures = clientAuthFailures ? createClientAuthFailureLimiter(clientAuthFailures, logger) : undefined;
  const grantFailureLimiter = grantFailures ? createGrantFailureLimiter(grantFailures, logger) : undefined;

  // JSON bodies at /token only when some grant takes them; the grant of the request is checked in handle().
  const tokenAcceptsJson = [...grants.values()].some((grant) => grant.strategy.acceptsJsonBody === true);
  // A host body parser in front (app.use(express.urlencoded())) leaves us its result, not the bytes:
  // said once, since the strict checks of the raw form cannot run then.
  let hostParserReported = false;
  const bodyParser = (allowJson: boolean) => (req: Request, res: Response, next: NextFunction): void => {
    setNoStore(res);
    rejectQueryParameters(req, sensitiveQueryParameters);
    if (!hostParserReported && alreadyParsed(req)) {
      hostParserReported = true;
      logger.warn('A body parser of the host app read the token request before the token router (e.g. app.use(express.urlencoded())). The router then checks that parser\'s result: a malformed percent-escape, invalid UTF-8 or an empty value can no longer be told apart and refused as invalid_request. Mount the token router before global body parsers (or exclude its path from them).', { path: req.originalUrl.split('?')[0] });
    }
    readParameters(req, formLimits, allowJson).then(
      ({ params, resources, json }) => {
        req.body = params;
        if (resources.length > 0) res.locals.resources = resources;
        if (json) res.locals.jsonBody = true;
        next();
      },
      next,
    );
  };
  const parseBody = bodyParser(tokenAcceptsJson);
  const parseBodyFor = (endpoint: FormEndpoint) => bodyParser(endpoint.acceptsJsonBody === true);

  async function handle(req: Request, res: Response): Promise<void> {
    const form = req.body as FormParameters;
    const grantType = requireGrantType(form);
    // A JSON body is a request-format question, answered before authentication like any parse error.
    if (res.locals.jsonBody === true && grants.get(grantType)?.strategy.acceptsJsonBody !== true) {
      throw new OAuthError('invalid_request', 'The request body must be application/x-www-form-urlencoded (UTF-8).');
    }
    const client = await authenticate(req, form, true);
    const grant = findGrant(grantType);
    assertGrantAllowed(client, grant.strategy);
    for (const name of exclusiveParameters) {
      if (form[name] !== undefined && grant.parameters.specs[name] === undefined) {
        throw new OAuthError('invalid_request', `The ${name} parameter is not accepted with this grant_type.`);
      }
    }
    // Only public clients are counted: a confidential client authenticated (see brute-force.ts).
    const grantBudget = client.isPublic ? grantFailureLimiter : undefined;
    await grantBudget?.check(req.ip, client.clientId);
    try {
      await runGrant(req, res, form, grantType, client, grant);
    } catch (error) {
      // Only invalid_grant counts (device polling's authorization_pending / slow_down /
      // access_denied / expired_token never do).
      if (grantBudget && error instanceof OAuthError && error.error === 'invalid_grant') await grantBudget.record(req.ip, client.clientId);
      throw error;
    }
  }

  async function runGrant(req: Request, res: Response, form: FormParameters, grantType: string, client: AuthenticatedClient, grant: PreparedGrant): Promise<void> {
    const params = pickParameters(form, grant.parameters);
    const requestedScope = readScope(form);
    const requestedResources = readResources(res);
    const dto = await validateDto(grant.strategy, params);
    const proof = await dpopProofOf(req, client);
    const ctx = new RequestGrantContext(shared, grantType, client, params, dto, requestedScope, requestedResources, grant.storage, { ip: req.ip, headers: req.headers, ...(proof !== undefined && { dpopJkt: proof.jkt }) });
    const body = await grant.strategy.handle(ctx);
    ctx.reportIssued(body);
    // §8.2: every token response carries the nonce to use next.
    const nonce = settings.dpopNonces?.current(clock());
    writeJson(res, 200, compactBody(body), nonce === undefined ? ctx.headers : { ...ctx.headers, 'DPoP-Nonce': nonce });
  }

  function formEndpoint(endpoint: FormEndpoint): (req: Request, res: Response) => Promise<void> {
    const parameters = compileParameters(endpoint.parameters ?? {});
    for (const name of parameters.names) sensitiveQueryParameters.add(name);
    // The grant this endpoint starts: the same client rules as at /token (grant_types, public clients).
    const started = endpoint.grantType === undefined ? undefined : grants.get(endpoint.grantType)?.strategy;
    return async function contributedEndpoint(req, res) {
      const form = req.body as FormParameters;
      const client = await authenticate(req, form, false);
      if (started) assertGrantAllowed(client, started);
      else if (client.isPublic && endpoint.allowPublicClients !== true) {
        throw new OAuthError('unauthorized_client', 'Public clients cannot use this endpoint; it needs a confidential client.');
      }
      const params = pickParameters(form, parameters);
      const proof = await dpopProofOf(req, undefined);
      // `scope` and `resource` are read (and syntax-checked: 400 invalid_scope / invalid_target) only by
      // an endpoint that reads them (device authorization): for the others (revocation, introspection)
      // they are not parameters, and unknown parameters are ignored (RFC 6749 §3.2), whatever they hold.
      let scope: { readonly value: readonly string[] | undefined } | undefined;
      let resources: { readonly value: readonly string[] | undefined } | undefined;
      const body = await endpoint.handle({
        client,
        params,
        get requestedScope() {
          scope ??= { value: readScope(form) };
          return scope.value;
        },
        get requestedResources() {
          resources ??= { value: readResources(res) };
          return resources.value;
        },
        // A proof sent here is checked like at /token (RFC 9449 §5: "and the revocation/introspection
        // endpoints"), never required, and its key is handed to the endpoint.
        request: { ip: req.ip, headers: req.headers, ...(proof !== undefined && { dpopJkt: proof.jkt }) },
      });
      if (body === undefined) res.status(200).end();
      else writeJson(res, 200, compactBody(body));
    };
  }

  // RFC 9449 §5: a proof binds what this request issues to its key; a client registered with
  // dpop_bound_access_tokens must send one (§5.2).
  async function dpopProofOf(req: Request, client: AuthenticatedClient | undefined): Promise<VerifiedProof | undefined> {
    const proof = await verifyDpopProof(req.headers.dpop, {
      method: req.method,
      // req.protocol and req.host follow Express's `trust proxy` (X-Forwarded-Proto / -Host from trusted proxies only).
      url: `${req.protocol}://${req.host ?? ''}${req.originalUrl.split('?')[0]}`,
      nowMs: clock(),
      recordOneTimeUse: settings.clientAssertions.recordOneTimeUse,
      // Nonces are required at the token endpoint only (the contributed endpoints check proofs when sent).
      ...(client !== undefined && settings.dpopNonces !== undefined && { nonces: settings.dpopNonces }),
    });
    if (proof === undefined && client?.metadata.dpop_bound_access_tokens === true) {
      throw new OAuthError('invalid_request', 'This client must send a DPoP proof (RFC 9449).');
    }
    return proof;
  }

  /** Authenticates the request's client; `issuesTokens`: the request issues tokens (POST /token), so certificate binding applies. */
  async function authenticate(req: Request, form: FormParameters, issuesTokens: boolean): Promise<AuthenticatedClient> {
    rejectRepeatedAuthorization(req.rawHeaders);
    const credentials = extractCredentials(req.headers.authorization, form, assertionTypes);
    let certificate: { readonly value: PresentedClientCertificate | undefined } | undefined;
    const clientCertificate = (): PresentedClientCertificate | undefined => (certificate ??= { value: settings.clientCertificate(req) }).value;
    // Refused (429) here when the source's budget is spent or the pair backs off; a secret is
    // compared only inside an evaluation slot of the source (attempt.enter).
    // An assertion is a credential like a secret: counted by the failure budgets the same way.
    const attempt = await authFailures?.admit(req.ip, credentials.clientId, credentials.secret !== undefined || credentials.assertion !== undefined);
    let client: AuthenticatedClient;
    try {
      client = await authenticateClient(credentials, authSettings, { headers: req.headers, form, clientCertificate, recordOneTimeUse: settings.clientAssertions.recordOneTimeUse }, clock(), attempt?.enter);
    } catch (error) {
      if (error instanceof ClientAuthenticationError) {
        telemetry?.noteClient(req, error.clientId, false);
        await attempt?.failed(error.clientId !== undefined);
        emit({ type: 'client.authentication_failed', at: clock(), clientId: eventText(error.clientId), reason: error.reason, ip: eventText(req.ip) });
      } else {
        // Not a failed authentication (e.g. the client registry threw, a budget refused): nothing to count.
        attempt?.done();
      }
      throw error;
    }
    attempt?.done();
    telemetry?.noteClient(req, client.clientId, true);
    // RFC 8705 §3: a client registered for certificate-bound tokens gets them bound to the
    // certificate of this connection, so a token request must have one (other endpoints issue nothing).
    if (issuesTokens && client.metadata.tls_client_certificate_bound_access_tokens === true) {
      const presented = clientCertificate();
      if (presented === undefined) throw new OAuthError('invalid_request', 'This client must connect with its TLS client certificate (RFC 8705 section 3).');
      return { ...client, certificateThumbprint: certificateThumbprint(presented.certificate) };
    }
    return client;
  }

  function findGrant(grantType: string): PreparedGrant {
    const grant = grants.get(grantType);
    if (!grant) throw new OAuthError('unsupported_grant_type', 'The grant_type is not supported by this server.');
    return grant;
  }

  function handleError(error: unknown, req: Request, res: Response, next: NextFunction): void {
    if (res.headersSent) {
      next(error);
      return;
    }
    const oauthError = toOAuthError(error);
    telemetry?.noteError(req, oauthError.error);
    if (error instanceof TooManyFailuresError) {
      emit({ type: 'rate_limited', at: clock(), clientId: eventText(error.clientId), ip: eventText(req.ip), limiter: error.limiter });
    } else if (oauthError.status >= 500) {
      const forward = settings.forwardUnexpectedErrors && !(error instanceof OAuthError);
      logger.error(forward ? 'Unexpected error at the token endpoint; passed to the host\'s error handler.' : 'Unexpected error at the token endpoint; answered server_error.', { ...describeError(error), path: req.originalUrl });
      if (forward) {
        next(error);
        return;
      }
    } else if (!(error instanceof ClientAuthenticationError)) {
      const form = (req.body ?? {}) as FormParameters;
      // Values as sent: bounded and with control characters escaped.
      // The client as claimed: body client_id or the HTTP Basic user-id (not authenticated).
      emit({ type: 'request.rejected', at: clock(), error: oauthError.error, grantType: eventText(form.grant_type), clientId: eventText(peekClientId(req.headers.authorization, form)), ip: eventText(req.ip) });
    }
    writeError(res, oauthError);
  }

  return { parseBody, parseBodyFor, handle, formEndpoint, handleError };
}

/** The client's registered grant types; RFC 7591 §2: defaults to ["authorization_code"]. */
export function grantTypesOf(client: AuthenticatedClient): readonly string[] {
  return client.metadata.grant_types ?? ['authorization_code'];
}

function requireGrantType(form: FormParameters): string {
  const grantType = form.grant_type;
  if (grantType === undefined) throw new OAuthError('invalid_request', 'The grant_type parameter is required.');
  if (grantType.length > MAX_GRANT_TYPE_LENGTH) throw new OAuthError('unsupported_grant_type', 'The grant_type is not supported by this server.');
  return grantType;
}

function assertGrantAllowed(client: AuthenticatedClient, strategy: Pick<AnyGrantStrategy, 'grantType' | 'allowPublicClients'>): void {
  if (!grantTypesOf(client).includes(strategy.grantType)) {
    throw new OAuthError('unauthorized_client', 'This client is not allowed to use this grant_type.');
  }
  if (client.isPublic && !strategy.allowPublicClients) {
    throw new OAuthError('unauthorized_client', 'Public clients cannot use this grant_type; it needs a confidential client.');
  }
}

function readScope(form: FormParameters): readonly string[] | undefined {
  const scope = form.scope;
  if (scope === undefined) return undefined;
  if (scope.length > MAX_SCOPE_LENGTH) throw new OAuthError('invalid_scope', 'The scope parameter is too long.');
  const parsed = parseScope(scope);
  // A scope of only spaces names nothing: treat it like an empty value, i.e. absent (RFC 6749 §3.2).
  return parsed.length > 0 ? parsed : undefined;
}

/** The `resource` parameters (RFC 8707 §2) the body parser kept apart, syntax-checked (`invalid_target`). */
function readResources(res: Response): readonly string[] | undefined {
  const values = (res.locals as { resources?: readonly string[] }).resources;
  return values === undefined ? undefined : parseResourceParameters(values);
}

// RFC 6749 §2.3.1 / §3.2: credentials and grant values never travel in the URL. Such a
// request is refused (they are already in access logs), and nothing is read from the query.
function rejectQueryParameters(req: Request, sensitive: ReadonlySet<string>): void {
  const url = req.url;
  const q = url.indexOf('?');
  if (q === -1) return;
  for (const name of new URLSearchParams(url.slice(q + 1)).keys()) {
    if (sensitive.has(name)) {
      throw new OAuthError('invalid_request', 'Token request parameters must be sent in the request body, not in the URL query.');
    }
  }
}

// Node keeps the first of several Authorization headers and drops the rest, while a proxy in
// front may have checked another one: such a request is ambiguous and refused.
function rejectRepeatedAuthorization(rawHeaders: readonly string[]): void {
  let seen = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].length === 13 && rawHeaders[i].toLowerCase() === 'authorization') seen += 1;
  }
  if (seen > 1) throw new OAuthError('invalid_request', 'The request has more than one Authorization header.');
}

/** Maps anything thrown to the error sent: OAuthError as is, body-parser style errors by status, else server_error. */
function toOAuthError(error: unknown): OAuthError {
  if (error instanceof OAuthError) return error;
  const status = (error as { status?: unknown; statusCode?: unknown } | null)?.status ?? (error as { statusCode?: unknown } | null)?.statusCode;
  if (status === 413) return new OAuthError('invalid_request', 'The request body is too large.', { status: 413 });
  if (typeof status === 'number' && status >= 400 && status < 500 && (error as { expose?: unknown }).expose === true) {
    return new OAuthError('invalid_request', 'The request could not be parsed.');
  }
  return new OAuthError('server_error', undefined, { cause: error });
}
