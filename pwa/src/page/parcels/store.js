// What the parcel screens keep on the phone, in a small IndexedDB database of their own
// ('anbao-parcels'): the recipients a guard has looked up (offline search and suggestions), the
// site's waiting parcels as last read, and a resident's own parcels with their pickup codes.
// Everything belongs to one signed-in person: another person's first read empties it.
import { openDB } from 'idb';

const DB_NAME = 'anbao-parcels';
const DB_VERSION = 1;

// Stores:
//   recipients  `${site_id}|${unit_id}|${user_id}` → {site_id, unit_id, unit_label, user_id,
//               display_name, uses, used_at}: units and residents seen in searches or chosen
//   room        the site's parcels as staff last read them, by id (index site)
//   mine        the resident's own parcels (with pickup codes), by id
//   meta        'owner' → the user id all of the above belongs to
let dbPromise = null;

function database() {
  dbPromise ??= openDB(DB_NAME, DB_VERSION, {
    upgrade(db, oldVersion) {
      if (oldVersion < 1) {
        db.createObjectStore('recipients', { keyPath: 'key' }).createIndex('site', 'site_id');
        db.createObjectStore('room', { keyPath: 'id' }).createIndex('site', 'site_id');
        db.createObjectStore('mine', { keyPath: 'id' });
        db.createObjectStore('meta');
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

const STORES = ['recipients', 'room', 'mine'];

/** Opens the database for `userId`, emptying it first if it holds someone else's data. */
async function forUser(userId) {
  const db = await database();
  const owner = await db.get('meta', 'owner');
  if (owner !== userId) {
    const tx = db.transaction([...STORES, 'meta'], 'readwrite');
    await Promise.all([...STORES.map((s) => tx.objectStore(s).clear()), tx.objectStore('meta').put(userId, 'owner'), tx.done]);
  }
  return db;
}

/** Forgets everything (sign-out: the pickup codes of a resident must not outlive the session). */
export async function clearParcelCache() {
  const db = await database();
  const tx = db.transaction([...STORES, 'meta'], 'readwrite');
  await Promise.all([...STORES.map((s) => tx.objectStore(s).clear()), tx.objectStore('meta').delete('owner'), tx.done]);
}

// --- recipients --------------------------------------------------------------------------------

const recipientKey = (siteId, r) => `${siteId}|${r.unit_id}|${r.user_id ?? ''}`;

/** Keeps units and residents the server answered (a search, the unit list) for offline use. */
export async function keepRecipients(userId, siteId, rows) {
  const tx = (await forUser(userId)).transaction('recipients', 'readwrite');
  for (const r of rows) {
    const key = recipientKey(siteId, r);
    const before = await tx.store.get(key);
    await tx.store.put({
      key,
      site_id: siteId,
      unit_id: r.unit_id,
      unit_label: r.unit_label,
      user_id: r.user_id ?? null,
      display_name: r.display_name || '',
      uses: before?.uses || 0,
      used_at: before?.used_at || '',
    });
  }
  await tx.done;
}

/** A recipient chosen for a parcel: it comes first among the suggestions next time. */
export async function noteRecipientUsed(userId, siteId, r) {
  const tx = (await forUser(userId)).transaction('recipients', 'readwrite');
  const key = recipientKey(siteId, r);
  const before = (await tx.store.get(key)) || { key, site_id: siteId, ...r, user_id: r.user_id ?? null, uses: 0 };
  await tx.store.put({ ...before, uses: (before.uses || 0) + 1, used_at: new Date().toISOString() });
  await tx.done;
}

const folded = (text) => String(text || '').normalize('NFKC').toLowerCase().replace(/\s+/g, '');

/** Units and residents kept for this site whose unit number or name contains `q`. */
export async function searchKeptRecipients(userId, siteId, q, limit = 20) {
  const wanted = folded(q);
  const rows = await (await forUser(userId)).getAllFromIndex('recipients', 'site', siteId);
  return rows
    .filter((r) => folded(r.unit_label).includes(wanted) || folded(r.display_name).includes(wanted))
    .sort((a, b) => String(a.unit_label).localeCompare(String(b.unit_label)) || (a.user_id == null) - (b.user_id == null))
    .slice(0, limit);
}

/** The recipients this phone used most (then most recently): the suggestions before typing. */
export async function frequentRecipients(userId, siteId, limit = 6) {
  const rows = await (await forUser(userId)).getAllFromIndex('recipients', 'site', siteId);
  return rows
    .filter((r) => r.uses > 0)
    .sort((a, b) => b.uses - a.uses || String(b.used_at).localeCompare(String(a.used_at)))
    .slice(0, limit);
}

// --- the site's parcels (staff) and a resident's own -------------------------------------------

/** Replaces the kept parcels of a site with `rows` (the waiting ones as the server listed them). */
export async function keepRoom(userId, siteId, rows) {
  const tx = (await forUser(userId)).transaction('room', 'readwrite');
  for await (const cursor of tx.store.index('site').iterate(siteId)) await cursor.delete();
  for (const p of rows) await tx.store.put(p);
  await tx.done;
}

/** One parcel's new state (after a pickup, a return): kept so the lists agree offline. */
export async function keepParcel(userId, parcel) {
  await (await forUser(userId)).put('room', parcel);
}

export async function keptRoom(userId, siteId) {
  return (await forUser(userId)).getAllFromIndex('room', 'site', siteId);
}

export async function keepMine(userId, rows) {
  const tx = (await forUser(userId)).transaction('mine', 'readwrite');
  await tx.store.clear();
  for (const p of rows) await tx.store.put(p);
  await tx.done;
}

export async function keptMine(userId) {
  return (await forUser(userId)).getAll('mine');
}

export async function keptParcel(userId, id) {
  const db = await forUser(userId);
  return (await db.get('mine', id)) || (await db.get('room', id)) || null;
}
