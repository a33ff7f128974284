// lib/tokens/published-test-key.ts
// The public half of the signing key that `express-token-endpoint/testing` ships (testSigningKey()).
// Its private half is in the npm package for anyone to read, so a token signed with it proves
// nothing: where NODE_ENV is "production", the router refuses it as a signing key and the standalone
// requireAccessToken refuses it in a JWKS. The key material itself lives in lib/testing only.
import type { JsonWebKey } from 'node:crypto';

/** The published test key's public members (RSA, 2048 bits, as a JWK). */
export const PUBLISHED_TEST_KEY = Object.freeze({
  kty: 'RSA',
  e: 'AQAB',
  n: 'j1FdGXU8VQkPOnXBh7jJUoYbfxv_VkUwBDrfycd9w8kaPlwL7aY_BJIS5ZdMa5bNPkCfp00qVwaoeRnZyRWlh36eZnyOW_xnNDiMMKLL4gprE5D3FBPjIvENjWb1DsnF0L9bTzciNyJS6Bov5njYEgpJijTlljAXyy28Jfp9fvQGa8-OfNJ_rKMpeZEK0j0uukhBPQovPe5wuggssEY6tjjSWNAz6bFTdjTiPKfJSKWMm58kArgshY0AaOarpPfGzZg1wxnrtWm4BNowXZmASAsMdnj3kHW2xHIY0SpKg7xtOSohkvruKrIfkJHBZhXq7koiyL8TkKdulKs4KrOX9w',
});

/** Whether `jwk` (a public JWK, or the public members of a private one) is the published test key. */
export function isPublishedTestKey(jwk: JsonWebKey): boolean {
  return jwk.kty === PUBLISHED_TEST_KEY.kty && jwk.n === PUBLISHED_TEST_KEY.n && jwk.e === PUBLISHED_TEST_KEY.e;
}

/** Refused only in production, read when keys are parsed (as `requireHttps` reads NODE_ENV): tests use the key on purpose. */
export function publishedTestKeyRefused(): boolean {
  return process.env.NODE_ENV === 'production';
}

/** The problem reported for the published test key where it is refused. */
export function publishedTestKeyProblem(at: string): string {
  return `${at} is the published test key of express-token-endpoint/testing (testSigningKey()): anyone can sign tokens with it, so it is refused when NODE_ENV=production. Use a key of your own.`;
}
