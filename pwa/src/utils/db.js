// The app's one IndexedDB database, opened the same way by the page and the service worker.
import { openDB } from 'idb';

const DB_NAME = 'anbao';
const DB_VERSION = 3;

// Stores:
//   session   'me' → the cached /api/auth/me answer (offline cold start)
//   meta      'auth' → {user_id, device_uid, csrf_token}: who may send the outbox (page and SW)
//             'pull' → {user_id, cursor}: where the last pull stopped
//   outbox    queued mutations in creation order (autoincrement `seq`), per user
//   duty_log  pulled entries, by id
//   zones     zones of the member's sites, cached for offline forms
//   plans     the patrol plan of a site (checkpoints, tours, rounds, tag hashes), by site_id
//   scans     this user's own checkpoint scans: what the phone saw, then the server's verdict
let dbPromise = null;

export function db() {
  dbPromise ??= openDB(DB_NAME, DB_VERSION, {
    upgrade(database, oldVersion) {
      if (oldVersion < 1) database.createObjectStore('session');
      if (oldVersion < 2) {
        database.createObjectStore('meta');
        const outbox = database.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true });
        outbox.createIndex('id', 'id', { unique: true });
        outbox.createIndex('user', ['user_id', 'seq']);
        database.createObjectStore('duty_log', { keyPath: 'id' }).createIndex('site', 'site_id');
        database.createObjectStore('zones', { keyPath: 'id' }).createIndex('site', 'site_id');
      }
      if (oldVersion < 3) {
        database.createObjectStore('plans', { keyPath: 'site_id' });
        database.createObjectStore('scans', { keyPath: 'id' }).createIndex('site', 'site_id');
      }
    },
    blocking() {
      // A newer version (another tab, a new service worker) wants to upgrade: let it.
      dbPromise?.then((d) => d.close());
      dbPromise = null;
    },
    terminated() {
      dbPromise = null;
    },
  });
  return dbPromise;
}

export async function getMeta(key) {
  return (await (await db()).get('meta', key)) ?? null;
}

export async function setMeta(key, value) {
  const d = await db();
  if (value == null) await d.delete('meta', key);
  else await d.put('meta', value, key);
}
