// lib/testing/host/signing-key.ts
// A fixed signing key for hosts' tests: the same tokens' kid and JWKS in every run, and no key
// generation per test. Its private half is public (it ships in this package): the router and the
// standalone requireAccessToken refuse it when NODE_ENV=production (lib/tokens/published-test-key.ts).
import type { SigningKeyInput } from '../../contracts/tokens';

/** The `kid` of {@link testSigningKey}: the `kid` header of every token it signs, and its JWKS entry. */
export const TEST_SIGNING_KEY_ID = 'express-token-endpoint-test-key';

// A 2048-bit RSA key (RS256: the algorithm OpenID Connect requires every relying party to accept),
// generated once for this package. TEST ONLY: published, so it protects nothing. The line before the
// PEM (text outside the boundaries is allowed, RFC 7468 §2) travels with any copy of it.
const TEST_ONLY_PRIVATE_KEY = `TEST ONLY: the published test key of express-token-endpoint/testing. Never use it outside tests.
-----BEGIN PRIVATE KEY-----
MIIEuwIBADANBgkqhkiG9w0BAQEFAASCBKUwggShAgEAAoIBAQCPUV0ZdTxVCQ86
dcGHuMlShht/G/9WRTAEOt/Jx33DyRo+XAvtpj8EkhLll0xrls0+QJ+nTSpXBqh5
GdnJFaWHfp5mfI5b/Gc0OIwwosviCmsTkPcUE+Mi8Q2NZvUOycXQv1tPNyI3IlLo
Gi/meNgSCkmKNOWWMBfLLbwl+n1+9AZrz4580n+soyl5kQrSPS66SEE9Ci897nC6
CCywRjq2ONJY0DPpsVN2NOI8p8lIpYybnyQCuCyFjQBo5quk98bNmDXDGeu1abgE
2jBdmYBICwx2ePeQdbbEchjRKkqDvG05KiGS+u4qsh+QkcFmFeruSiLIvxOQp26U
qzgqs5f3AgMBAAECggEACwMB58BZw+Df0iqVFaQNl/Ek8LXKfyruvwx1AHB7Cc2M
Xik9Y2OoKOY+XHStEwExwOw/OCAWNjyVOkTRtoEayFfivNYqLAgvN9R2dRA1ISeS
xZyYV2sVwywJUgmMn7fCIsFpNyNx1hGllB7a+lbjpzMyJlPdJhaI5XwcnkBqXxQs
cA9z3XO18/3MlEXnssINkC9/tPbeXlBGiqyBXiGUXbMADra4EvouFV/vywazVbHA
jStBv2pfkvgl3oBruPWk/D/AV9TBLeTzIh9Yffewi5MPznNJV8bjZq7tBd9VM6fk
A4dvT31V82XUmE2x6i8BFXQv0J9zJAM7yW7I97VtYQKBgQDCO4I1Ynpv5LrYPsL0
gmxpOdAQvHtNUJaYTqppbYC9ldf4d1VgD0eMO5cXHrBUwGLCFaievnOvBou07wiX
/tgd7E8I4U1pbbjuXhT7y/9FfLtAKdy6CY7JN7JuiS2PHwZQm7I2Mju702u467bd
1c4gxq75yyCpPMl58DXzKVQ84QKBgQC85ONTuAR2L5S1ewp8Qt08c/w/1P95XgvF
qZDAjzXrYdcj98I3YtOsQY4M2pRthZZiJ52OdbPNhlcLB6sS5HWHlfsu/Ncbuukk
MS5CJvvXCNjQuL1/5ORGdrF++gHp7+dqwkDK68jB5gRI/3x+wYWsL+4Qn4CVuHvf
NI7FOMRX1wJ/DOXmv6TKfKOzxKhmSdZfXJ16M6JQjdHMLlEK//VFl1FcBiPmh3p8
RdOvNNnU28vqwvitOd1r0TOeE2XMLEvADjyjAvPzMA0ZOrsEqbPiP7sItDoTbkc0
NCh+sNhrLhXhVXkBXJf5X3+qp5z/h7uq9II9HFlg0dw3hOFus7cK4QKBgQCgQwYI
OqE2cKoXy1ubD9PKfZFvytQx8bPFMVdJuHeDzFAPCR7zhNqYVEoj57N0tJlhj8Di
ZER3xFnHVuszLTf2IC6rsAMFWPCDL2LS52ZWDACAHa1RfC6dBgkT9SN4in1qG4OD
Zsa+k9vg3zqOBLzX2RZ/bgRXgt0+A8Z51+7lowKBgDJGnXM/FEJJof0GFA/xEmNU
lUG5D+jrSrB5e2LDQ8AnbCCWR1dvML5aF+9hA973jNXKELExwDxNqzp9XK6TSbW3
pb8uPfbJv6hw7EglonY29RGXtQpADONGosxCnaT6llnIAF9YzvDYbq090wv2c4yy
zRdb/izQQ4FUyBFGS437
-----END PRIVATE KEY-----
`;

/**
 * A fixed RS256 signing key (RSA, 2048 bits) for tests, as an entry of `signingKeys` (kid
 * {@link TEST_SIGNING_KEY_ID}, no status: alone, it is the active key): deterministic, and free of
 * the cost of generating a key per test.
 *
 * **Test only.** Its private key is published in this package, so anyone can sign tokens with it.
 * `createTokenRouter` (and `setSigningKeys`) refuse it, and the standalone `requireAccessToken`
 * refuses it in a JWKS, whenever `process.env.NODE_ENV === 'production'`.
 *
 * @example
 * createTokenRouter({ issuer, clients, storage, signingKeys: [testSigningKey()], clock });
 */
export function testSigningKey(): SigningKeyInput {
  return Object.freeze({ kid: TEST_SIGNING_KEY_ID, alg: 'RS256', privateKey: TEST_ONLY_PRIVATE_KEY });
}
