// ESLint (flat config, `npm run lint`): the recommended rules, with the globals of where each
// file runs — the page, the service worker, Node (build scripts), the unit tests.
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['dist/', 'dev-dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  {
    files: ['src/**/*.js'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { ...globals.browser, __ANBAO_VERSION__: 'readonly' },
    },
  },
  {
    files: ['src/sw.js'],
    languageOptions: { globals: { ...globals.serviceworker } },
  },
  {
    files: ['*.js', 'scripts/**/*.js', 'test/**/*.config.js'],
    languageOptions: { sourceType: 'module', globals: { ...globals.node } },
  },
  {
    files: ['test/**/*.js'],
    languageOptions: { sourceType: 'module', globals: { ...globals.browser, ...globals.node } },
  },
];
