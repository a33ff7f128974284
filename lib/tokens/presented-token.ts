// lib/tokens/presented-token.ts
// A token a client presents for revocation or introspection: the parameters (RFC 7009 §2.1,
// RFC 7662 §2.1) and how to tell our access tokens from our refresh tokens.

/** Our access tokens are JWTs of at most a few KiB; refresh tokens are 43 characters. */
export const MAX_PRESENTED_TOKEN_LENGTH = 8192;

/** The parameters of both endpoints (RFC 7009 §2.1, RFC 7662 §2.1). */
export const TOKEN_PARAMETERS = {
  token: { required: true, maxLength: MAX_PRESENTED_TOKEN_LENGTH },
  // Any value is accepted and only used as a hint (RFC 7009 §2.1: an unknown hint is ignored).
  token_type_hint: { maxLength: 64 },
} as const;

// A JWS compact serialisation has two dots; our refresh tokens are plain base64url. The shape, not
// the hint, picks where to look: a wrong hint costs nothing and a missing one nothing either.
export function looksLikeJwt(token: string): boolean {
  return token.split('.').length === 3;
}

