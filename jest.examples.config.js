// The jest tests of examples/ (examples/**/*.test.ts), run against the built package (dist/, from
// `npm run build`) as a user's suite runs against the installed one: `npx jest -c jest.examples.config.js`.
// spec/testing/example-tests.spec.ts runs it in CI; `npm run examples` type-checks them with --strict.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/examples'],
  testMatch: ['**/*.test.ts'],
  // Transpile only: `tsc -p examples/tsconfig.json` does the type checking.
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: { isolatedModules: true, esModuleInterop: true, module: 'commonjs', target: 'ES2022' } }] },
  moduleNameMapper: { '^express-token-endpoint$': '<rootDir>/dist/index.js', '^express-token-endpoint/(.*)$': '<rootDir>/dist/$1/index.js' },
  maxWorkers: 1,
};
