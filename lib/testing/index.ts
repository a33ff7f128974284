// lib/testing/index.ts
// Public test kit (`express-token-endpoint/testing`): checks a storage adapter against the contract,
// and helps hosts test their own protected routes and flows (a test key and clock, a ready router,
// real tokens on demand).
export { runStorageConformance, CONFORMANCE_T0 } from './storage-conformance';
export type { StorageConformanceOptions, ConformanceTestApi } from './storage-conformance';
export { withLatency } from './latency';
export { testSigningKey, TEST_SIGNING_KEY_ID } from './host/signing-key';
export { createTestClock } from './host/clock';
export type { TestClock } from './host/clock';
export { createTestTokenRouter, TEST_CLIENT, TEST_ISSUER } from './host/test-router';
export type { TestTokenRouter, TestTokenRouterOptions, TestCodeExchangeInput } from './host/test-router';
export { mintAccessToken, codeExchange } from './host/token-requests';
export type { TestTokenRequest, CodeExchangeInput, TestClientSecretMethod } from './host/token-requests';
