// lib/testing/index.ts
// Public test kit (`express-token-endpoint/testing`): checks a storage adapter against the contract.
export { runStorageConformance, CONFORMANCE_T0 } from './storage-conformance';
export type { StorageConformanceOptions, ConformanceTestApi } from './storage-conformance';
export { withLatency } from './latency';
