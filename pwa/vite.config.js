// Builds the app shell into dist/ and our own service worker (src/sw.js) with the precache
// manifest injected; the backend serves dist/ at `/`.
import { readFileSync } from 'node:fs';
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const DARK = '#0f1419';

export default defineConfig({
  define: { __ANBAO_VERSION__: JSON.stringify(version) },
  server: { fs: { allow: ['..'] } }, // the error catalogs live in ../backend/locales
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0, // every asset a file: nothing for the CSP to trip over
    modulePreload: { polyfill: false },
  },
  plugins: [
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'src',
      filename: 'sw.js',
      injectRegister: false, // src/page/sw-register.js registers it (no inline script)
      includeManifestIcons: false, // the glob below already lists them
      injectManifest: {
        globPatterns: ['**/*.{js,css,html,png,webmanifest}'],
        rollupFormat: 'iife', // a classic worker: runs wherever service workers do
      },
      manifest: {
        id: '/',
        name: '安保 Anbao',
        short_name: '安保',
        description: 'Anbao — security team app / 安保值守',
        lang: 'zh-CN',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        orientation: 'any',
        theme_color: DARK,
        background_color: DARK,
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      devOptions: { enabled: false },
    }),
  ],
});
