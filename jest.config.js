/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  // The examples import the package by name, as a user's code does; in tests that is lib/.
  moduleNameMapper: { '^express-token-endpoint$': '<rootDir>/lib', '^express-token-endpoint/(.*)$': '<rootDir>/lib/$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // Two cores on CI machines: keep workers bounded so race tests are not starved.
  maxWorkers: 2,
  testTimeout: 20000,
};
