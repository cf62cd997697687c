// Photos on the phone until the server has them, and the mutations that wait for them: a small
// IndexedDB database of its own ('anbao-media'), opened the same way by the page and the service
// worker. Each photo is named by the SHA-256 of its bytes (docs/sync.md: photos travel apart).
import { openDB } from 'idb';

const DB_NAME = 'anbao-media';
const DB_VERSION = 1;

export const PENDING = 'pending'; // on the phone only: to be uploaded
export const UPLOADED = 'uploaded'; // the server has it (the blob may be dropped)
export const REFUSED = 'refused'; // the server answered 4xx: shown with its reason, never retried

// Stores:
//   photos  `${user_id}:${sha256}` → {user_id, sha256, blob, type, size, width, height, status,
//           code, message, details, tries, added_at, uploaded_at}
//   held    mutations waiting for their photos, by id: {id, user_id, user_name, name, args,
//           photos: [sha256], site_id, created_at}; queued in the outbox once all are uploaded
//   drafts  a form's unsent state (photos named by hash), by a key the form chooses
//   cache   answers read online and shown offline: {key, user_id, value, at}
let dbPromise = null;

export function mediaDb() {
  dbPromise ??= openDB(DB_NAME, DB_VERSION, {
    upgrade(database, oldVersion) {
      if (oldVersion < 1) {
        database.createObjectStore('photos', { keyPath: 'key' }).createIndex('user', 'user_id');
        database.createObjectStore('held', { keyPath: 'id' }).createIndex('user', 'user_id');
        database.createObjectStore('drafts', { keyPath: 'key' });
        database.createObjectStore('cache', { keyPath: 'key' });
      }
    },
    blocking() {
      dbPromise?.then((d) => d.close());
      dbPromise = null;
    },
    terminated() {
      dbPromise = null;
    },
  });
  return dbPromise;
}

// Page, other tabs and the service worker tell each other when a photo or a held mutation changed.
const CHANNEL = 'anbao-media';
let channel = null;

// A channel does not hear its own messages: listeners in this same page or worker are told here.
const here = new Set();

export function announceMedia(what = 'changed') {
  for (const fn of [...here]) fn(what);
  try {
    channel ??= new BroadcastChannel(CHANNEL);
    channel.postMessage({ type: what });
  } catch {
    // no BroadcastChannel: the other side looks again on its own next event
  }
}

export function onMediaAnnounce(fn) {
  here.add(fn);
  try {
    const listener = new BroadcastChannel(CHANNEL);
    listener.onmessage = (event) => fn(event.data?.type);
    return () => {
      here.delete(fn);
      listener.close();
    };
  } catch {
    return () => here.delete(fn);
  }
}

const photoKey = (userId, sha256) => `${userId}:${sha256}`;

// --- photos --------------------------------------------------------------------------------

/** Keeps a prepared photo for `userId`; resolves once it is on disk. A photo kept before stays. */
export async function keepPhoto(userId, photo) {
  const tx = (await mediaDb()).transaction('photos', 'readwrite', { durability: 'strict' });
  const key = photoKey(userId, photo.sha256);
  const before = await tx.store.get(key);
  if (before && before.blob) {
    await tx.done;
    return before;
  }
  const row = {
    key,
    user_id: userId,
    sha256: photo.sha256,
    blob: photo.blob,
    type: photo.type,
    size: photo.size,
    width: photo.width,
    height: photo.height,
    status: before?.status === UPLOADED ? UPLOADED : PENDING,
    code: '',
    message: '',
    details: {},
    tries: 0,
    added_at: new Date().toISOString(),
    uploaded_at: before?.uploaded_at || null,
  };
  await tx.store.put(row);
  await tx.done;
  announceMedia();
  return row;
}

export async function getPhoto(userId, sha256) {
  return (await (await mediaDb()).get('photos', photoKey(userId, sha256))) ?? null;
}

/** The photos of `userId` with these hashes, in the same order (null where none is kept). */
export async function getPhotos(userId, hashes) {
  const tx = (await mediaDb()).transaction('photos');
  const rows = await Promise.all(hashes.map((sha) => tx.store.get(photoKey(userId, sha))));
  await tx.done;
  return rows.map((r) => r ?? null);
}

export async function photosOf(userId) {
  return (await mediaDb()).getAllFromIndex('photos', 'user', userId);
}

/** Applies `change(row)` to one photo (if kept) in one transaction; answers the new row. */
export async function updatePhoto(userId, sha256, change) {
  const tx = (await mediaDb()).transaction('photos', 'readwrite', { durability: 'strict' });
  const row = await tx.store.get(photoKey(userId, sha256));
  let next = null;
  if (row) {
    next = { ...row, ...change(row) };
    await tx.store.put(next);
  }
  await tx.done;
  return next;
}

export async function deletePhoto(userId, sha256) {
  await (await mediaDb()).delete('photos', photoKey(userId, sha256));
  announceMedia();
}

// --- held mutations --------------------------------------------------------------------------

export async function addHeld(entry) {
  const tx = (await mediaDb()).transaction('held', 'readwrite', { durability: 'strict' });
  await tx.store.put(entry);
  await tx.done;
  announceMedia();
  return entry;
}

/** A user's held mutations, oldest first. */
export async function listHeld(userId) {
  const rows = await (await mediaDb()).getAllFromIndex('held', 'user', userId);
  return rows.sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
}

export async function getHeld(id) {
  return (await (await mediaDb()).get('held', id)) ?? null;
}

/** Applies `change(entry)` to a held mutation; answers the new entry, or null if it is gone. */
export async function updateHeld(id, change) {
  const tx = (await mediaDb()).transaction('held', 'readwrite', { durability: 'strict' });
  const entry = await tx.store.get(id);
  let next = null;
  if (entry) {
    next = change(entry) || entry;
    await tx.store.put(next);
  }
  await tx.done;
  announceMedia();
  return next;
}

export async function deleteHeld(id) {
  await (await mediaDb()).delete('held', id);
  announceMedia();
}

// --- drafts and offline copies -----------------------------------------------------------------

export async function loadDraft(key) {
  return (await (await mediaDb()).get('drafts', key))?.value ?? null;
}

export async function saveDraft(key, value) {
  const tx = (await mediaDb()).transaction('drafts', 'readwrite', { durability: 'strict' });
  await tx.store.put({ key, value, at: new Date().toISOString() });
  await tx.done;
}

export async function clearDraft(key) {
  await (await mediaDb()).delete('drafts', key);
  announceMedia();
}

export async function allDrafts() {
  return (await mediaDb()).getAll('drafts');
}

/** The copy of `key` kept for `userId` ({value, at}), or null. */
export async function cached(userId, key) {
  const row = await (await mediaDb()).get('cache', key);
  return row && row.user_id === userId ? { value: row.value, at: row.at } : null;
}

export async function keepCached(userId, key, value) {
  await (await mediaDb()).put('cache', { key, user_id: userId, value, at: new Date().toISOString() });
}

/** Forgets the offline copies of everyone but `userId` (another person signed in). */
export async function dropCachedExcept(userId) {
  const tx = (await mediaDb()).transaction('cache', 'readwrite');
  for await (const cursor of tx.store.iterate()) if (cursor.value.user_id !== userId) await cursor.delete();
  await tx.done;
}
