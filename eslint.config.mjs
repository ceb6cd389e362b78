// ESLint flat config: type-aware rules for all TypeScript; stricter rules for the server, whose
// stdout may be the LSP transport and whose promises must never float.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'out/',
      'media/webview/build/',
      'node_modules/',
      '.vscode-test/',
      'native/build/',
      '.gpu/',
      'test/fixtures/',
      'examples/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    rules: {
      // node:test's test() and describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['server/**/*.ts'],
    rules: {
      'no-console': 'error',
      // The engine is a library: no VS Code API anywhere in the server, and LSP only in its wiring.
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'vscode', message: 'The server must not import the VS Code API.' }],
          patterns: [
            {
              group: ['vscode-languageserver*', 'vscode-jsonrpc*'],
              message: 'Only server/src/lsp/ and server/src/main.ts may use LSP types.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['server/src/lsp/**/*.ts', 'server/src/main.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'vscode', message: 'The server must not import the VS Code API.' }] },
      ],
    },
  },
  {
    // The webview scripts run in the browser, with the DOM and without Node.
    files: ['client/webview-ui/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'vscode', 'vscode-languageclient*'],
              message: 'A webview script runs in the browser: no Node, no VS Code API (only types).',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The bin wrappers are plain CommonJS that load the bundles; .cjs files are tools' configuration.
    files: ['bin/**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
