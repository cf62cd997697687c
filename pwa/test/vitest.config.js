// JS unit tests (`npm run test:unit`): the pure parts of the app in a DOM of happy-dom, with
// IndexedDB from fake-indexeddb. The real browser is tested from tests/browser/ (Chromium).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  define: { __ANBAO_VERSION__: JSON.stringify('test') },
  test: {
    include: ['test/**/*.test.js'],
    environment: 'happy-dom',
    setupFiles: ['test/setup.js'],
    restoreMocks: true,
    unstubGlobals: true,
  },
});
