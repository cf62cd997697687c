// The service worker: precache the app shell, serve it for navigations, never touch /api, and
// send the outbox when Background Sync says the network is back (even with no page open).
import { cacheNames, clientsClaim, setCacheNameDetails } from 'workbox-core';
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { getMeta } from './utils/db.js';
import { countFor } from './utils/outbox.js';
import { SYNC_TAG, flush } from './utils/push.js';

const VERSION = __ANBAO_VERSION__;
const PREFIX = 'anbao';

setCacheNameDetails({ prefix: PREFIX, suffix: `v${VERSION}`, precache: 'shell', runtime: 'runtime' });

// Revisioned entries: only changed files are fetched again on an update.
precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();

// Client routes (/home, /login, /n?…) get the precached index.html, online or not.
// /api/* is never routed here, so the network (and the server's auth) always answers it.
registerRoute(new NavigationRoute(createHandlerBoundToURL('/index.html'), { denylist: [/^\/api(\/|$)/] }));

// A new version waits until the page says the user agreed to reload.
self.addEventListener('message', (event) => {
  if (event.data?.type === 'SKIP_WAITING') self.skipWaiting();
});

// Background Sync: the same outbox and the same flush as the page. Rejecting while items still
// wait is what makes the browser try again later; nothing to do for a signed-out phone.
self.addEventListener('sync', (event) => {
  if (event.tag !== SYNC_TAG) return;
  event.waitUntil(
    (async () => {
      const result = await flush({ lang: self.navigator.language });
      const auth = await getMeta('auth');
      const { waiting } = await countFor(auth?.user_id);
      if (waiting > 0 && result.stopped !== 'signed_out') throw new Error(`outbox: ${waiting} still waiting`);
    })(),
  );
});

// Take over open pages on first install, and drop caches of older versions.
clientsClaim();
self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const keep = new Set([cacheNames.precache, cacheNames.runtime]);
      const names = await caches.keys();
      await Promise.all(names.filter((n) => n.startsWith(`${PREFIX}-`) && !keep.has(n)).map((n) => caches.delete(n)));
    })(),
  );
});
