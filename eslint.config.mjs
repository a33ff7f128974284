// eslint.config.mjs
// Lint rules: typescript-eslint's recommended set plus a few that matter for a security library.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tmp/**', 'bench/**/node_modules/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['warn', 'error'] }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['spec/**/*.ts', 'demo-app/**/*.ts', 'examples/**/*.ts', 'scripts/**', 'bench/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // KeyObjects fresh from generateKeyPairSync share the key-generation job's mutex; on Node 20 a GC
    // that destroys the job while asymmetricKeyDetails holds that mutex deadlocks the process (a jest
    // worker stalled for good: docs/decisions.md). Generate PEM and parse it (spec/helpers/keys.ts).
    files: ['spec/**/*.ts', 'demo-app/**/*.ts', 'examples/**/*.ts', 'examples/**/*.mjs'],
    rules: {
      'no-restricted-syntax': ['error', {
        selector: "CallExpression[callee.name='generateKeyPairSync']:not(:has(Property[key.name='privateKeyEncoding']))",
        message: 'generateKeyPairSync without privateKeyEncoding hands out KeyObjects that can deadlock Node 20 (docs/decisions.md): use keyPair() from spec/helpers/keys.ts, or PEM encodings.',
      }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { require: 'readonly', module: 'writable', process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly' } },
  },
  {
    // CommonJS on purpose: the jest example shows a user's require(); jest loads its test
    // environment (spec/helpers/jest-environment.js) untransformed.
    files: ['examples/**/*.js', 'examples/**/*.cjs', 'spec/**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // CommonJS so the doc-snippets spec (ts-jest, CommonJS) can require the reader the script uses.
    files: ['scripts/**/*.cjs'],
    languageOptions: { globals: { __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['spec/**/*.js'],
    languageOptions: { globals: { setTimeout: 'readonly', setInterval: 'readonly' } },
  },
);
