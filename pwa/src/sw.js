// The service worker: precache the app shell, serve it for navigations, never touch /api, and
// send the outbox when Background Sync says the network is back (even with no page open).
import { cacheNames, clientsClaim, setCacheNameDetails } from 'workbox-core';
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { getMeta } from './utils/db.js';
import { countFor } from './utils/outbox.js';
import { SYNC_TAG, flush } from './utils/push.js';
import { MEDIA_SYNC_TAG, photoSync } from './utils/media-upload.js';

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

// Background Sync for photos: upload what waits, then queue and send the reports that waited for
// them (utils/media-upload.js); rejects while photos remain, so the browser tries again.
self.addEventListener('sync', (event) => {
  if (event.tag === MEDIA_SYNC_TAG) event.waitUntil(photoSync({ lang: self.navigator.language }));
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

// Web push notices (utils/webpush.js): show each one (a parcel's pickup code, an alert), tell the
// open pages so their lists refresh, and open the page the notice names when it is tapped.
const NOTICE_MESSAGE = 'anbao-notice';

function readNotice(event) {
  try {
    return event.data?.json() ?? {};
  } catch {
    return { body: event.data?.text() ?? '' };
  }
}

/** Only our own pages: a notice's url is a path on this origin. */
function noticeUrl(url) {
  const target = new URL(url || '/', self.location.origin);
  return target.origin === self.location.origin ? target : new URL('/', self.location.origin);
}

self.addEventListener('push', (event) => {
  const notice = readNotice(event);
  event.waitUntil(
    (async () => {
      await self.registration.showNotification(notice.title || '安保 Anbao', {
        body: notice.body || '',
        tag: notice.tag || '',
        renotify: Boolean(notice.tag), // a reminder for the same parcel alerts again
        icon: '/icons/icon-192.png',
        badge: '/icons/icon-192.png',
        data: { ...(notice.data || {}), url: noticeUrl(notice.url).href, kind: notice.kind || '', id: notice.id ?? null },
      });
      const pages = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      for (const page of pages) page.postMessage({ type: NOTICE_MESSAGE, notice });
    })(),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const target = noticeUrl(event.notification.data?.url);
  const opening = (async () => {
    const pages = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const page = pages.find((p) => p.focused) || pages[0];
    if (!page) {
      await self.clients.openWindow(target.href);
      return;
    }
    await page.focus().catch(() => {});
    if (page.url === target.href) return;
    // An open page of the app goes to the parcel (a page we do not control cannot be navigated).
    const moved = await page.navigate(target.href).catch(() => null);
    if (!moved) await self.clients.openWindow(target.href);
  })();
  try {
    event.waitUntil(opening);
  } catch {
    // Only an event dispatched by script (the browser tests) cannot be extended; it still runs.
  }
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
