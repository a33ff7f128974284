// lib/well-known/discovery.ts
// OpenID Provider / RFC 8414 metadata and the JWKS, built and serialised once per key set (at
// creation and on setSigningKeys) and served from a small router that reads the current set.
import { Router, type Request, type Response } from 'express';
import type { SigningKey } from '../tokens/signing-keys';
import type { PublicJwk } from '../contracts/tokens';
import { DPOP_ALGORITHMS } from '../dpop/proof';
import type { DiscoveryOptions } from '../contracts/discovery';

/** What the library knows that goes into the metadata. */
export interface MetadataFacts {
  readonly issuer: string;
  readonly grantTypes: readonly string[];
  /** Every published key (next, active, retiring), in publishing order (the active key first). */
  readonly signingKeys: readonly SigningKey[];
  readonly pairwiseEnabled: boolean;
  /** `token_endpoint_auth_methods_supported`: the built-in and plugged-in client-authentication methods. */
  readonly authMethods: readonly string[];
  /** `token_endpoint_auth_signing_alg_values_supported`: what the methods verify (JWT assertions). */
  readonly authSigningAlgorithms: readonly string[];
  /** Whether access tokens can be bound to TLS client certificates (RFC 8705 §3.3). */
  readonly certificateBoundTokens: boolean;
  /** Members contributed by grants (e.g. device_authorization_endpoint); checked against {@link COMPUTED_METADATA_MEMBERS}. */
  readonly extra: Readonly<Record<string, unknown>>;
}

/** Members the library computes; neither `discovery.metadata` nor a grant's contribution can replace them. */
export const COMPUTED_METADATA_MEMBERS: ReadonlySet<string> = new Set([
  'issuer',
  'authorization_endpoint',
  'token_endpoint',
  'jwks_uri',
  'scopes_supported',
  'response_types_supported',
  'grant_types_supported',
  'subject_types_supported',
  'id_token_signing_alg_values_supported',
  'token_endpoint_auth_methods_supported',
  'token_endpoint_auth_signing_alg_values_supported',
  'dpop_signing_alg_values_supported',
  'tls_client_certificate_bound_access_tokens',
]);

/** Builds the metadata document (OIDC Discovery 1.0 §3, RFC 8414 §2). */
export function buildMetadata(facts: MetadataFacts, options: DiscoveryOptions): Record<string, unknown> {
  const base = facts.issuer.replace(/\/+$/, '');
  const computed: Record<string, unknown> = {
    issuer: facts.issuer,
    ...(options.authorizationEndpoint !== undefined && { authorization_endpoint: options.authorizationEndpoint }),
    token_endpoint: options.tokenEndpoint ?? `${base}/connect/token`,
    jwks_uri: options.jwksUri ?? `${base}/.well-known/jwks.json`,
    ...facts.extra,
    ...(options.scopesSupported !== undefined && { scopes_supported: [...options.scopesSupported] }),
    response_types_supported: ['code'],
    grant_types_supported: [...facts.grantTypes],
    subject_types_supported: facts.pairwiseEnabled ? ['public', 'pairwise'] : ['public'],
    // Every published key's alg, the active one first: a relying party that takes its allowed
    // algorithms from here accepts tokens of retiring keys and of the next key alike.
    id_token_signing_alg_values_supported: [...new Set(facts.signingKeys.map((key) => key.alg))],
    token_endpoint_auth_methods_supported: [...facts.authMethods],
    // private_key_jwt and client_secret_jwt, and what plugged-in methods declare (RFC 8414 §2; never none).
    token_endpoint_auth_signing_alg_values_supported: [...facts.authSigningAlgorithms],
    // RFC 9449 §5.1: DPoP proofs accepted at the token endpoint.
    dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS],
    // RFC 8705 §3.3: published when the host serves client certificates (an mTLS method or a reader).
    ...(facts.certificateBoundTokens && { tls_client_certificate_bound_access_tokens: true }),
  };
  return { ...options.metadata, ...computed };
}

/** The JWKS: public parts of every published key (next, active, retiring), the active one first. */
export function buildJwks(keys: readonly SigningKey[]): { keys: PublicJwk[] } {
  return { keys: keys.map((key) => key.publicJwk) };
}

/** The discovery document and the JWKS of one key set, each serialised once. */
export interface WellKnownDocuments {
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly jwks: { keys: PublicJwk[] };
  readonly metadataBody: string;
  readonly jwksBody: string;
}

/** Freezes both documents and serialises them, so serving one costs no work per request. */
export function wellKnownDocuments(metadata: Record<string, unknown>, jwks: { keys: PublicJwk[] }): WellKnownDocuments {
  return Object.freeze({
    metadata: Object.freeze(metadata),
    jwks: Object.freeze(jwks),
    metadataBody: JSON.stringify(metadata),
    jwksBody: JSON.stringify(jwks),
  });
}

/**
 * A router serving `/.well-known/openid-configuration`, `/.well-known/oauth-authorization-server`
 * and `/.well-known/jwks.json`. Mount it at the issuer's path (`/` for an issuer without one).
 * `current` returns the documents of the current key set (swapped whole by setSigningKeys);
 * responses are cacheable and readable cross-origin (public data).
 */
export function createWellKnownRouter(current: () => WellKnownDocuments, maxAgeSeconds: number): Router {
  const serve = (body: (documents: WellKnownDocuments) => string, type: string) => (_req: Request, res: Response) => {
    res.set({ 'Cache-Control': `public, max-age=${maxAgeSeconds}`, 'Access-Control-Allow-Origin': '*' });
    res.type(type).send(body(current()));
  };
  const metadataBody = (documents: WellKnownDocuments) => documents.metadataBody;
  const router = Router();
  router.get('/.well-known/openid-configuration', serve(metadataBody, 'application/json'));
  router.get('/.well-known/oauth-authorization-server', serve(metadataBody, 'application/json'));
  router.get('/.well-known/jwks.json', serve((documents) => documents.jwksBody, 'application/jwk-set+json'));
  return router;
}

/**
 * The URL of an endpoint mounted next to the token endpoint (`/revocation`, `/introspection`):
 * the sibling of `discovery.tokenEndpoint`, or `${issuer}/connect/<name>` by default.
 */
export function siblingOfTokenEndpoint(discovery: DiscoveryOptions, issuer: string, name: string): string {
  return discovery.tokenEndpoint !== undefined ? new URL(name, discovery.tokenEndpoint).href : `${issuer.replace(/\/+$/, '')}/connect/${name}`;
}
