// Runs the jest tests of examples/ (compiled by `npm run examples` into .tmp/examples) against the
// built package, as a user's test suite would run them. <rootDir> is this directory.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/.tmp/examples'],
  testMatch: ['**/*.test.js'],
  transform: {},
  moduleNameMapper: { '^express-token-endpoint$': '<rootDir>/dist/index.js', '^express-token-endpoint/(.*)$': '<rootDir>/dist/$1/index.js' },
  maxWorkers: 1,
};
