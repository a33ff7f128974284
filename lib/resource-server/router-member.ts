// lib/resource-server/router-member.ts
// `tokenRouter.requireAccessToken(options)`: the resource-server middleware for routes of the app
// that serves the token endpoint, verifying with the router's own inspector (its current key
// set, its issuer, its clock, its storage's revocation list and grant revocation marks).
import type { RequestHandler } from 'express';
import { ConfigurationError } from '../contracts/errors';
import type { TokenInspector } from '../contracts/tokens';
import { checkRequirement, createAccessTokenMiddleware, REQUIREMENT_KEYS } from './middleware';
import { bearerAndDpop, bearerScheme, type CertificateReader } from './presentation';
import type { RequireAccessTokenOptions } from './types';

/** What the router hands over. */
export interface ResourceServerDependencies {
  readonly tokens: TokenInspector;
  readonly clock: () => number;
  /** The storage's one-time-use record (DPoP proof jtis); without it only Bearer is accepted. */
  readonly recordOneTimeUse: ((key: string, expiresAt: number) => Promise<boolean>) | undefined;
  /** The router's TLS client-certificate reader (certificate-bound tokens, RFC 8705 §3). */
  readonly clientCertificate: CertificateReader;
}

/** The router's resource-server member. */
export interface ResourceServerHostApi {
  requireAccessToken(options: RequireAccessTokenOptions): RequestHandler;
}

/** Builds the member the router adds to itself (see TokenRouter.requireAccessToken). */
export function resourceServerHostApi(deps: ResourceServerDependencies): ResourceServerHostApi {
  return {
    requireAccessToken(options) {
      const problems: string[] = [];
      const requirement = checkRequirement(options, 'requireAccessToken(options)', REQUIREMENT_KEYS, problems);
      if (requirement === undefined) throw new ConfigurationError('ERR_TOKEN_ROUTER_OPTIONS', problems);
      const clockToleranceSeconds = requirement.toleranceSeconds;
      const record = deps.recordOneTimeUse;
      const schemes = record === undefined ? new Map([['bearer', bearerScheme(deps.clientCertificate)]]) : bearerAndDpop({ recordOneTimeUse: record, clock: deps.clock, readCertificate: deps.clientCertificate });
      return createAccessTokenMiddleware(requirement, (token) => deps.tokens.accessToken(token, { clockToleranceSeconds }), deps.clock, schemes);
    },
  };
}
