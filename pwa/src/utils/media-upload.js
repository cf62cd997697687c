// Sends the phone's photos (PUT /api/media/{sha256}, asking first with HEAD whether the server
// has one), then queues each held mutation whose photos are all up. Runs in the page and in the
// service worker (Background Sync), one run at a time across both; reads who may send from
// IndexedDB like the outbox push does.
import { getMeta } from './db.js';
import {
  PENDING,
  REFUSED,
  UPLOADED,
  allDrafts,
  announceMedia,
  deleteHeld,
  deletePhoto,
  listHeld,
  photosOf,
  updatePhoto,
} from './media-store.js';
import { addMutation, listMutations } from './outbox.js';
import { SYNC_TAG, flush } from './push.js';

export const MEDIA_SYNC_TAG = 'anbao-media';
const LOCK = 'anbao-media';
// A body that arrived damaged (hash_mismatch) is sent again this many times, then shown refused.
const MAX_DAMAGED = 3;
// Uploaded photos nothing refers to are dropped from the phone after this long.
const KEEP_UPLOADED_MS = 6 * 60 * 60 * 1000;

/**
 * What a run did, and why it stopped before every photo was up:
 *   'signed_out' nobody may send;  'network' no answer;  'server' 5xx/429/unreadable answer;
 *   'refused' 403 csrf_failed (the session needs refreshing before a retry).
 */
export class UploadResult {
  constructor() {
    this.uploaded = 0;
    this.refused = 0;
    this.promoted = 0; // held mutations moved to the outbox
    this.remaining = 0; // photos still waiting for the server
    this.stopped = null;
    this.error = null;
  }
}

function withLock(fn) {
  const locks = globalThis.navigator?.locks;
  return locks?.request ? locks.request(LOCK, fn) : fn();
}

async function errorOf(res) {
  try {
    const body = await res.json();
    if (body?.error?.code) return { status: res.status, ...body.error };
  } catch {
    // no JSON body (HEAD, a proxy's page): described by the status alone
  }
  return { status: res.status, code: 'unexpected_response', message: '', details: { status: res.status } };
}

function headers(auth, lang, csrf) {
  const out = { Accept: 'application/json' };
  if (lang) out['Accept-Language'] = lang;
  const token = csrf?.() || auth.csrf_token;
  if (token) out['X-CSRF-Token'] = token;
  return out;
}

/**
 * One photo to the server: 'uploaded', 'refused' (with error), or a reason to stop the run.
 * HEAD first: a photo the server already holds for this person costs no upload at all.
 */
async function sendOne(photo, auth, lang, csrf) {
  const url = `/api/media/${photo.sha256}`;
  const base = { credentials: 'same-origin', cache: 'no-store' };
  let res;
  try {
    res = await fetch(url, { ...base, method: 'HEAD', headers: headers(auth, lang) });
    if (res.ok) return { outcome: 'uploaded' };
    if (res.status === 404) {
      const put = headers(auth, lang, csrf);
      put['Content-Type'] = photo.type || 'image/jpeg';
      res = await fetch(url, { ...base, method: 'PUT', headers: put, body: photo.blob });
      if (res.ok) return { outcome: 'uploaded' };
    }
  } catch {
    return { outcome: 'stop', stopped: 'network' };
  }
  const error = await errorOf(res);
  if (res.status === 401) return { outcome: 'stop', stopped: 'signed_out', error };
  if (res.status === 403 && error.code === 'csrf_failed') return { outcome: 'stop', stopped: 'refused', error };
  if (res.status >= 500 || res.status === 429 || error.code === 'unexpected_response') {
    return { outcome: 'stop', stopped: 'server', error };
  }
  if (error.code === 'hash_mismatch' && (photo.tries || 0) + 1 < MAX_DAMAGED) return { outcome: 'again', error };
  return { outcome: 'refused', error };
}

/** Hashes referenced by held mutations and drafts of `userId` (their blobs stay on the phone). */
export async function referenced(userId) {
  const [held, drafts] = await Promise.all([listHeld(userId), allDrafts()]);
  const refs = new Set();
  for (const entry of held) for (const sha of entry.photos || []) refs.add(sha);
  for (const draft of drafts) {
    if (draft.value?.user_id !== userId) continue;
    for (const sha of draft.value?.photos || []) refs.add(sha);
  }
  return refs;
}

/** Queues every held mutation of `userId` whose photos are all on the server; answers how many. */
async function promoteReady(auth) {
  const held = await listHeld(auth.user_id);
  if (!held.length) return 0;
  const photos = new Map((await photosOf(auth.user_id)).map((p) => [p.sha256, p]));
  let queuedOutbox = null;
  let promoted = 0;
  for (const entry of held) {
    // A photo no longer kept was dropped after its upload (see `collect`): the server has it.
    const ready = (entry.photos || []).every((sha) => !photos.has(sha) || photos.get(sha).status === UPLOADED);
    if (!ready) continue;
    // Two databases cannot share a transaction: a crash between the two steps below leaves the
    // mutation in both places, so the outbox is asked first (by the entity id the args carry).
    queuedOutbox ??= await listMutations(auth.user_id);
    const already = queuedOutbox.some((m) => m.name === entry.name && m.args?.id === entry.args?.id);
    if (!already) {
      await addMutation({ id: auth.user_id, name: entry.user_name || auth.user_name || '' }, entry.name, entry.args);
    }
    await deleteHeld(entry.id);
    promoted += 1;
  }
  return promoted;
}

/**
 * Drops the blobs the server has had for a while and nothing on the phone still refers to. The
 * wait covers a photo uploaded while its form is still open (not yet named by a draft or a held
 * mutation), and keeps recent photos quick to show.
 */
async function collect(userId) {
  const refs = await referenced(userId);
  const before = Date.now() - KEEP_UPLOADED_MS;
  for (const photo of await photosOf(userId)) {
    const old = Date.parse(photo.uploaded_at || 0) < before;
    if (photo.status === UPLOADED && old && !refs.has(photo.sha256)) await deletePhoto(userId, photo.sha256);
  }
}

async function runLocked({ lang, csrf } = {}) {
  const result = new UploadResult();
  const auth = await getMeta('auth');
  if (!auth?.user_id) {
    result.stopped = 'signed_out';
    return result;
  }
  const waiting = (await photosOf(auth.user_id))
    .filter((p) => p.status === PENDING)
    .sort((a, b) => String(a.added_at).localeCompare(String(b.added_at)));
  for (const photo of waiting) {
    if (result.stopped) {
      result.remaining += 1;
      continue;
    }
    const sent = await sendOne(photo, auth, lang, csrf);
    const now = new Date().toISOString();
    if (sent.outcome === 'uploaded') {
      await updatePhoto(auth.user_id, photo.sha256, () => ({ status: UPLOADED, uploaded_at: now, code: '', message: '', details: {} }));
      result.uploaded += 1;
    } else if (sent.outcome === 'refused') {
      const e = sent.error;
      await updatePhoto(auth.user_id, photo.sha256, (p) => ({
        status: REFUSED,
        code: e.code,
        message: e.message || '',
        details: { ...(e.details || {}), status: e.status },
        tries: (p.tries || 0) + 1,
      }));
      result.refused += 1;
    } else if (sent.outcome === 'again') {
      await updatePhoto(auth.user_id, photo.sha256, (p) => ({ tries: (p.tries || 0) + 1 }));
      result.remaining += 1;
    } else {
      result.stopped = sent.stopped;
      result.error = sent.error || null;
      result.remaining += 1;
    }
    announceMedia();
  }
  if (result.stopped !== 'signed_out') {
    result.promoted = await promoteReady(auth);
    await collect(auth.user_id).catch(() => {});
  }
  announceMedia();
  return result;
}

/**
 * Sends the signed-in user's waiting photos and queues what waited for them; resolves to an
 * UploadResult. `csrf()` may give a fresher CSRF token than the one kept at sign-in (the page).
 */
export function uploadPending(options) {
  return withLock(() => runLocked(options));
}

/**
 * The service worker's Background Sync handler: photos, then the outbox when a held mutation was
 * queued (if that push cannot finish, the outbox's own sync is asked for). Rejects while photos
 * still wait, so the browser tries again later.
 */
export async function photoSync({ lang } = {}) {
  const result = await uploadPending({ lang });
  if (result.promoted) {
    const pushed = await flush({ lang });
    if (pushed.stopped && pushed.stopped !== 'signed_out') await self.registration?.sync?.register(SYNC_TAG).catch(() => {});
  }
  if (result.remaining > 0 && result.stopped !== 'signed_out') throw new Error(`media: ${result.remaining} photo(s) still waiting`);
  return result;
}
