// The page side of sync: when to push the outbox and pull changes, and the counts the status bar
// shows. The pushing itself is utils/push.js, shared with the service worker.
import { ApiError, NetworkError, api, reportUnauthorized } from './api.js';
import { isOnline, onConnectivity, reportReachable } from './connectivity.js';
import { getMeta } from './db.js';
import { getLang } from './i18n.js';
import { onMediaAnnounce } from './media-store.js';
import { countFor, onAnnounce, othersWaiting } from './outbox.js';
import { SYNC_TAG, flush } from './push.js';
import { applyPage, cursorFor, dropPulled } from './replica.js';

const PULL_EVERY_MS = 60_000;
const RETRY_MS = [5_000, 15_000, 30_000, 60_000, 120_000, 300_000];
const MAX_PULL_PAGES = 200;

let user = null; // {id, name} of the signed-in user, or null
let refreshSession = null; // set by the app: fetch /me again (a fresh CSRF token, device)
// `counted` is false until the outbox has been counted for the signed-in user: until then the
// bar must not say that everything was sent.
const status = { online: isOnline(), waiting: 0, rejected: 0, counted: false, others: [], error: null };
const listeners = new Set();
let flushing = null;
let flushAgain = false;
let pulling = null;
let retryTimer = null;
let retryStep = 0;
let wired = false;
let checkingSender = null;

export const syncStatus = () => status;

/** `fn(status, what)` after any change: what = 'count' | 'pulled'. Returns an unsubscribe. */
export function onSyncChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit(what) {
  for (const fn of [...listeners]) fn(status, what);
}

async function recount() {
  const uid = user?.id ?? null;
  let counted = true;
  const [counts, others] = await Promise.all([countFor(uid), uid == null ? [] : othersWaiting(uid)]).catch(() => {
    counted = false; // the outbox could not be read: say nothing rather than "all sent"
    return [{ waiting: 0, rejected: 0 }, []];
  });
  // A count started for a user who has since signed out or changed is not theirs to show.
  if ((user?.id ?? null) !== uid) return;
  Object.assign(status, counts, { others, counted, online: isOnline() });
  emit('count');
}

function wire() {
  if (wired) return;
  wired = true;
  onConnectivity((online) => {
    status.online = online;
    emit('count');
    if (online) {
      retryStep = 0; // back online: the next failure starts the backoff again from its shortest
      syncNow();
    }
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') syncNow();
  });
  setInterval(() => {
    if (user && document.visibilityState === 'visible') pull();
  }, PULL_EVERY_MS);
  // A report held for its photos, or one of them uploaded: the count of what waits changed.
  onMediaAnnounce(() => recount());
  // The service worker or another tab sent or queued something, or was signed out mid-send.
  onAnnounce(() => {
    recount();
    emit('pulled');
    checkSender();
  });
}

/**
 * Who may send the outbox is gone while this page still shows a signed-in user: a 401 answered
 * the service worker or another tab (the session was revoked or expired). Ask the server: a 401
 * signs this page out too (api.js reports it) and the guard is asked to sign in again; a good
 * answer stores the sender again and sending resumes.
 */
function checkSender() {
  checkingSender ??= (async () => {
    const sender = await getMeta('auth').catch(() => null);
    if (!user || (sender?.user_id === user.id && sender.device_uid)) return;
    try {
      if (refreshSession) await refreshSession();
      else await api.get('/api/auth/me');
    } catch {
      return; // a 401 was reported by the API client; offline: the next sync asks again
    }
    if (user) retryLater();
  })().finally(() => {
    checkingSender = null;
  });
  return checkingSender;
}

/** Begins syncing for `me` (after sign-in, or a cold start with a cached session). */
export function startSync(me, { onRefused } = {}) {
  wire();
  if (user?.id !== me.user.id) {
    Object.assign(status, { waiting: 0, rejected: 0, counted: false, others: [] });
    emit('count');
  }
  user = { id: me.user.id, name: me.user.display_name || me.user.username };
  refreshSession = onRefused || null;
  retryStep = 0;
  recount();
  syncNow();
}

/** Stops sending (signed out); whatever waits stays in the outbox. */
export function stopSync() {
  user = null;
  clearTimeout(retryTimer);
  recount();
}

/** Push what waits, then pull. */
export async function syncNow() {
  await pushNow();
  await pull();
}

/** After a new mutation: count it, ask for Background Sync (the tab may close), try to send. */
export async function queued() {
  await recount();
  registerBackgroundSync();
  pushNow();
}

export async function registerBackgroundSync() {
  try {
    const reg = await navigator.serviceWorker?.getRegistration();
    await reg?.sync?.register(SYNC_TAG);
  } catch {
    // no Background Sync here: the page's own triggers (start, online, visible) remain
  }
}

function retryLater() {
  clearTimeout(retryTimer);
  const delay = RETRY_MS[Math.min(retryStep, RETRY_MS.length - 1)];
  retryStep += 1;
  retryTimer = setTimeout(() => pushNow(), delay);
}

async function handle(result) {
  status.error = result.error;
  if (result.stopped === null) {
    retryStep = 0;
    if (result.sent) reportReachable(true);
    return;
  }
  if (result.stopped === 'network') reportReachable(false);
  if (result.stopped === 'signed_out' && result.error?.status === 401) {
    const e = result.error;
    reportUnauthorized(new ApiError(401, e.code, e.message, e.details));
    return;
  }
  if (result.stopped === 'signed_out') {
    await checkSender(); // nobody may send, yet this page is signed in: find out why
    return;
  }
  if (result.stopped === 'refused' && refreshSession) await refreshSession().catch(() => {});
  if (result.stopped !== 'signed_out') {
    registerBackgroundSync();
    retryLater();
  }
}

/** Sends the outbox now; concurrent calls share one flush (and one more pass if asked meanwhile). */
export function pushNow() {
  if (!user) return Promise.resolve();
  if (flushing) {
    flushAgain = true;
    return flushing;
  }
  flushing = (async () => {
    let applied = 0;
    do {
      flushAgain = false;
      const result = await flush({ lang: getLang() }).catch((err) => {
        console.warn('outbox flush failed', err);
        return { stopped: 'server', sent: 0, applied: 0, error: null };
      });
      applied += result.applied;
      await handle(result);
      await recount();
      // Asked again while this pass lost the network: the phone may be back (the 'online' event
      // can fire while a send begun offline is still finishing). Go again now rather than after
      // the backoff; another network failure stops as usual.
      if (result.stopped && !(result.stopped === 'network' && flushAgain)) break;
    } while (flushAgain && user);
    if (applied) pull();
  })().finally(() => {
    flushing = null;
  });
  return flushing;
}

function withLock(name, fn) {
  return navigator.locks?.request ? navigator.locks.request(name, fn) : fn();
}

/** Pulls changes until `more` is false; one pull at a time across tabs. */
export function pull() {
  if (!user) return Promise.resolve();
  pulling ??= withLock('anbao-pull', async () => {
    const uid = user?.id;
    if (uid == null) return;
    let cursor = await cursorFor(uid);
    for (let i = 0; i < MAX_PULL_PAGES && user?.id === uid; i++) {
      let page;
      try {
        page = await api.get(`/api/sync/pull?cursor=${encodeURIComponent(cursor)}`);
      } catch (err) {
        if (err instanceof ApiError && err.code === 'bad_cursor' && cursor) {
          await dropPulled(); // start over: from zero the server yields every live entity
          cursor = '';
          continue;
        }
        throw err;
      }
      if (user?.id !== uid) return;
      await applyPage(uid, page);
      emit('pulled');
      cursor = page.cursor;
      if (!page.more) break;
    }
  })
    .catch((err) => {
      if (!(err instanceof NetworkError) && err?.status !== 401) console.warn('pull failed', err);
    })
    .finally(() => {
      pulling = null;
    });
  return pulling;
}
