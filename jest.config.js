/** @type {import('jest').Config} */
module.exports = {
  // jest's node environment with a watchdog for a worker whose event loop stopped (where no test
  // timeout can fire) and a report of the handles each file left open: spec/helpers/jest-environment.js.
  testEnvironment: '<rootDir>/spec/helpers/jest-environment.js',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  // The examples import the package by name, as a user's code does; in tests that is lib/.
  moduleNameMapper: { '^express-token-endpoint$': '<rootDir>/lib', '^express-token-endpoint/(.*)$': '<rootDir>/lib/$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // Two cores on CI machines: keep workers bounded so race tests are not starved.
  maxWorkers: 2,
  // Every test and hook: a promise that never settles fails its test after 20 s instead of hanging.
  testTimeout: 20000,
  // In CI jest exits once the results are written, even when a file left a server or socket open in
  // the main process (runs in band); spec/helpers/jest-environment.js names such files. Locally jest
  // keeps waiting and says "did not exit", so the leak is noticed.
  forceExit: process.env.CI === 'true',
};
