// typescript-eslint with type information for the TypeScript sources, in the spirit of the NestJS packages'
// configs: correctness rules, not layout (prettier formats; `npm run lint` checks both).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: [
      'dist/',
      'dist-*/',
      'coverage/',
      'temp/',
      '.sample-data/',
      'test/consumers/',
      'test/fixtures/cli-app/migrations-*/',
      'test/fixtures/migrations-app/migrations-*/',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `typeof import('x')` stays allowed: it types the optional peer dependencies that are loaded lazily.
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // Entity classes and decorator targets are typed `any` on purpose, as in MikroORM's and Nest's own signatures.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  // Scripts, fixtures and configs in JavaScript: no type information.
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], extends: [tseslint.configs.disableTypeChecked] },
  // CommonJS fixtures: apps as tsc compiles them for `nest new` projects (require(), decorated class reassigned).
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off', 'no-useless-assignment': 'off' },
  },
);
