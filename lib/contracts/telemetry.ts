// lib/contracts/telemetry.ts
// The telemetry seam: what the router reports about requests, storage calls, signing and events
// when `telemetry` is configured. No tracing library is named here: `openTelemetry()` from
// `express-token-endpoint/opentelemetry` implements it on @opentelemetry/api, and nothing of this
// seam runs (not even a wrapper) when the option is absent.
import type { TokenEndpointEvent } from './events';
import type { StorageMethodName } from './grant';

/**
 * A unit of work being measured (a span, in tracing terms). The router calls `run` once, with
 * the work, and then `end` once when the work is over.
 */
export interface TelemetryScope {
  /**
   * Runs `work` with this scope as the current one (in OpenTelemetry: the span active in the
   * context), so work started inside it (storage calls, signing, the host's own instrumented
   * calls) nests under it. Must call `work` exactly once, synchronously, and return its result.
   */
  run<T>(work: () => T): T;
}

/** How a request ended, as reported to {@link RequestTelemetry.end}. Carries no secret, token or code. */
export interface RequestOutcome {
  /**
   * `success` (answered 2xx/3xx), `error` (answered 4xx or 5xx), or `aborted` (the connection
   * closed before the answer was sent).
   */
  readonly outcome: 'success' | 'error' | 'aborted';
  /** The HTTP status sent (when aborted: the status set so far, usually 200). */
  readonly status: number;
  /**
   * The grant type the request is for: at `/token`, the `grant_type` sent when this router serves
   * it (an unsupported value is never reported: it is caller input); at an endpoint a grant
   * contributes (device authorization), that grant's type. Absent otherwise.
   */
  readonly grantType?: string;
  /**
   * The client: the authenticated client id, or after a failed authentication the id the request
   * claimed (bounded and escaped like event values). Absent when the request named none.
   */
  readonly clientId?: string;
  /** Whether `clientId` was authenticated. */
  readonly clientAuthenticated: boolean;
  /** The OAuth error code answered (`invalid_grant`, `server_error`, …); absent on success. */
  readonly error?: string;
}

/** One request at an endpoint of the router. */
export interface RequestTelemetry extends TelemetryScope {
  /** The answer was sent (or the connection closed). Called once. */
  end(outcome: RequestOutcome): void;
}

/** One storage call or one signing. */
export interface OperationTelemetry extends TelemetryScope {
  /** The operation finished; `failed`: it threw or its promise rejected. Called once. */
  end(failed: boolean): void;
}

/** Where a request arrived. */
export interface RequestTelemetryStart {
  /**
   * The endpoint, by its path without the leading slash: `token`, `deviceauthorization`,
   * `revocation`, `introspection`, or the path of a host's endpoint plug-in.
   */
  readonly endpoint: string;
  /** The route as mounted: the router's mount path (`req.baseUrl`) followed by the endpoint's path, e.g. `/connect/token`. */
  readonly route: string;
}

/** What is signed, reported to {@link TelemetryHooks.signing}. Public facts only. */
export interface SigningTelemetryStart {
  /** JWS `alg` of the key. */
  readonly alg: string;
  /** JWS `kid` of the key (public: it is in the JWKS). */
  readonly kid: string;
  /** JWS `typ`: `at+jwt` (access tokens) or `JWT` (ID tokens). */
  readonly typ: string;
}

/**
 * The router's telemetry seam (the `telemetry` option of `createTokenRouter`). Use
 * `openTelemetry()` from `express-token-endpoint/opentelemetry`; implement it yourself only to
 * feed another tracing or metrics system.
 *
 * Every method is called inside a try/catch: a hook that throws never fails a request (the
 * router logs the first such failure and carries on without that span). No argument ever carries
 * a client secret, token, code, assertion or other credential.
 */
export interface TelemetryHooks {
  /** A request arrived at `POST /token` or at an endpoint a grant or plug-in contributes. */
  request(start: RequestTelemetryStart): RequestTelemetry;
  /** A call to a storage adapter method starts (every method the router and its grants call). */
  storage(operation: StorageMethodName): OperationTelemetry;
  /** A JWT (access token or ID token) is about to be signed. */
  signing(start: SigningTelemetryStart): OperationTelemetry;
  /** Every event the router emits (the same objects `onEvent` receives), e.g. for counters. */
  event(event: TokenEndpointEvent): void;
}
