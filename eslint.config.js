// Lint: typescript-eslint's recommended rules and no import cycles between files (`npm run lint`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'native/build/', 'results/', 'data/', '.cache/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    plugins: { 'import-x': importX },
    settings: {
      // Dependencies are TypeScript too: parse them as such, or no-cycle sees no imports in them.
      'import-x/extensions': ['.ts', '.mjs', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      // Sources import each other as `./x.js`; the file on disk is `x.ts`.
      'import-x/resolver-next': [
        createNodeResolver({
          extensions: ['.ts', '.mjs', '.js', '.json', '.node'],
          extensionAlias: { '.js': ['.ts', '.js'] },
        }),
      ],
    },
    rules: {
      // JSON Schema walking and components generic over their parameters use `any` on purpose.
      '@typescript-eslint/no-explicit-any': 'off',
      // Tests match aligned CLI output, where literal runs of spaces mirror what is printed.
      'no-regex-spaces': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    // Cycles matter between source files; tests and benchmarks only import them (scripts/check-layers.mjs checks folders).
    files: ['src/**/*.ts'],
    rules: { 'import-x/no-cycle': ['error', { maxDepth: '∞', ignoreExternal: true }] },
  },
);
