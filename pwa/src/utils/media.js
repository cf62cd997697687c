// Photos for any feature (incidents, parcels, the gate): prepare one on the phone, keep it until
// the server has it, and send a mutation only once its photos are up.
//
//   addPhoto(file)                         → {sha256, blob, url (= thumbUrl), width, height, size, status}
//   queueWithPhotos(user, name, args, shas) the mutation waits on the phone, then goes to the outbox
//   whenUploaded(shas)                     resolves when all are up; rejects when one is refused
//   photoStates(shas), onMediaChange(fn)   what the screens show ("2 photos to upload", refusals)
//   uploadNow(), startPhotoSync(me)        sending: now, on start, online, visible, with backoff
import { ApiError, currentCsrfToken, reportUnauthorized } from './api.js';
import { onConnectivity, reportReachable } from './connectivity.js';
import { getMeta } from './db.js';
import { getLang } from './i18n.js';
import { preparePhoto } from './media-image.js';
import {
  PENDING,
  REFUSED,
  UPLOADED,
  addHeld,
  deleteHeld,
  deletePhoto,
  dropCachedExcept,
  getHeld,
  getPhotos,
  keepPhoto,
  listHeld,
  onMediaAnnounce,
  updateHeld,
  updatePhoto,
} from './media-store.js';
import { MEDIA_SYNC_TAG, referenced, uploadPending } from './media-upload.js';
import { addMutation } from './outbox.js';
import { queued } from './sync.js';

export { PENDING, REFUSED, UPLOADED, deleteHeld, getHeld, listHeld, updateHeld };
export { MAX_SIDE, PhotoError } from './media-image.js';
// Drafts (forms closed before they were sent; `value.photos` keeps their photos on the phone) and
// answers kept for offline reading.
export { cached, clearDraft, keepCached, loadDraft, saveDraft } from './media-store.js';
export const MAX_PHOTOS = 10; // per incident (backend: schemas/incidents.MAX_PHOTOS)

const RETRY_MS = [5_000, 15_000, 30_000, 60_000, 120_000, 300_000];

let user = null; // {id, name} while signed in
let running = null;
let again = false;
let retryTimer = null;
let retryStep = 0;
let wired = false;
let hearing = false;
const listeners = new Set();

/** `fn()` whenever a photo or a waiting mutation changed (here, in another tab, in the worker). */
export function onMediaChange(fn) {
  if (!hearing) {
    hearing = true;
    onMediaAnnounce(() => emit());
  }
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit() {
  for (const fn of [...listeners]) fn();
}

async function userId(given) {
  if (given != null) return given;
  if (user) return user.id;
  return (await getMeta('auth'))?.user_id ?? null;
}

// Object URLs of kept blobs, made once per photo and page.
const urls = new Map();

function blobUrl(row) {
  if (!row?.blob) return null;
  if (!urls.has(row.key)) urls.set(row.key, URL.createObjectURL(row.blob));
  return urls.get(row.key);
}

/** The server's thumbnail or display image of a photo, for one the phone no longer keeps. */
export const serverUrl = (sha256, variant = 'thumb') => `/api/media/${sha256}/${variant}`;

/**
 * Prepares `file` (downscaled JPEG, SHA-256) and keeps it for the signed-in user; resolves once
 * it is on disk, then starts sending it. Rejects with PhotoError for a file that is no photo.
 */
export async function addPhoto(file, { userId: given } = {}) {
  const uid = await userId(given);
  if (uid == null) throw new Error('addPhoto: nobody is signed in');
  const photo = await preparePhoto(file);
  const row = await keepPhoto(uid, photo);
  uploadSoon();
  const url = blobUrl(row);
  return { ...photo, status: row.status, url, thumbUrl: url };
}

/**
 * Each photo as the screens show it: {sha256, status ('pending' | 'uploaded' | 'refused' |
 * 'unknown' when the phone holds nothing), url, code, message, details, width, height, size}.
 */
export async function photoStates(hashes, { userId: given } = {}) {
  const uid = await userId(given);
  const rows = uid == null ? hashes.map(() => null) : await getPhotos(uid, hashes);
  return hashes.map((sha256, i) => {
    const row = rows[i];
    if (!row) return { sha256, status: 'unknown', url: serverUrl(sha256), code: '', message: '', details: {} };
    return {
      sha256,
      status: row.status,
      url: blobUrl(row) || serverUrl(sha256),
      code: row.code,
      message: row.message,
      details: row.details || {},
      width: row.width,
      height: row.height,
      size: row.size,
    };
  });
}

/**
 * Queues mutation `name` with `args` for `user` ({id, name}) to be sent once every photo in
 * `hashes` is on the server (at once when there are none). Resolves once it is on disk, with the
 * held entry ({id, ...}) or the outbox entry.
 */
export async function queueWithPhotos(me, name, args, hashes) {
  if (!hashes.length) {
    const entry = await addMutation(me, name, args);
    queued();
    return entry;
  }
  const entry = await addHeld({
    id: crypto.randomUUID(),
    user_id: me.id,
    user_name: me.name || '',
    name,
    args,
    photos: [...hashes],
    site_id: args.site_id ?? null,
    created_at: new Date().toISOString(),
  });
  uploadSoon();
  registerPhotoSync();
  return entry;
}

/** Resolves with the photos' states when all are up; rejects ({refused: [...]}) when one is refused. */
export function whenUploaded(hashes, options = {}) {
  return new Promise((resolve, reject) => {
    let off = () => {};
    const check = async () => {
      const states = await photoStates(hashes, options);
      const refused = states.filter((s) => s.status === REFUSED);
      if (refused.length) {
        off();
        reject(Object.assign(new Error('photo refused'), { refused }));
      } else if (states.every((s) => s.status === UPLOADED || s.status === 'unknown')) {
        off();
        resolve(states);
      }
    };
    off = onMediaChange(check);
    check();
    uploadSoon();
  });
}

/** A refused photo is offered again (after the reason was dealt with on the server's side). */
export async function retryPhoto(sha256, options = {}) {
  const uid = await userId(options.userId);
  await updatePhoto(uid, sha256, () => ({ status: PENDING, code: '', message: '', details: {}, tries: 0 }));
  retryStep = 0;
  uploadSoon();
}

/** Drops a photo taken off a form, unless the server has it or something else still names it. */
export async function forgetPhoto(sha256, options = {}) {
  const uid = await userId(options.userId);
  if (uid == null || (await referenced(uid)).has(sha256)) return;
  const [row] = await getPhotos(uid, [sha256]);
  if (row && row.status !== UPLOADED) await deletePhoto(uid, sha256);
}

export async function registerPhotoSync() {
  try {
    const reg = await navigator.serviceWorker?.getRegistration();
    await reg?.sync?.register(MEDIA_SYNC_TAG);
  } catch {
    // no Background Sync here: the page's own triggers (start, online, visible) remain
  }
}

function retryLater() {
  clearTimeout(retryTimer);
  const delay = RETRY_MS[Math.min(retryStep, RETRY_MS.length - 1)];
  retryStep += 1;
  retryTimer = setTimeout(() => uploadNow(), delay);
}

async function handle(result) {
  if (result.promoted) await queued();
  if (result.stopped === null) {
    retryStep = 0;
    if (result.uploaded || result.refused) reportReachable(true);
    return;
  }
  if (result.stopped === 'network') reportReachable(false);
  if (result.stopped === 'signed_out') {
    const e = result.error;
    if (e?.status === 401) reportUnauthorized(new ApiError(401, e.code, e.message, e.details));
    return;
  }
  registerPhotoSync();
  retryLater();
}

/** Sends waiting photos now; concurrent calls share one run (and one more pass if asked meanwhile). */
export function uploadNow() {
  if (running) {
    again = true;
    return running;
  }
  running = (async () => {
    do {
      again = false;
      const result = await uploadPending({ lang: getLang(), csrf: currentCsrfToken }).catch((err) => {
        console.warn('photo upload failed', err);
        return { stopped: 'server', promoted: 0, uploaded: 0, refused: 0, remaining: 1, error: null };
      });
      await handle(result);
      if (result.stopped) break;
    } while (again);
  })().finally(() => {
    running = null;
  });
  return running;
}

function uploadSoon() {
  setTimeout(() => uploadNow(), 0);
}

/** Begins sending for `me` (sign-in, or a cold start with a cached session). */
export function startPhotoSync(me) {
  user = { id: me.user.id, name: me.user.display_name || me.user.username };
  retryStep = 0;
  // What another person read on this phone is not kept for the one signed in now.
  dropCachedExcept(user.id).catch(() => {});
  if (!wired) {
    wired = true;
    onConnectivity((online) => {
      if (online) {
        retryStep = 0;
        uploadNow();
      }
    });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') uploadNow();
    });
  }
  uploadNow();
}
