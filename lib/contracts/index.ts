// lib/contracts/index.ts
// The public contracts every part of the library depends on: the grant, client-registry and
// storage seams, refresh policies, token services, events and the error types. This folder
// imports nothing from the rest of lib/ (checked by scripts/check-imports.mjs).
export * from './client-auth';
export * from './clients';
export * from './discovery';
export * from './errors';
export * from './events';
export * from './grant';
export * from './logger';
export * from './refresh-policy';
export * from './refresh-tokens';
export * from './resources';
export * from './scope';
export * from './storage';
export * from './subjects';
export * from './tokens';
export * from './telemetry';
