// What the gate screens keep on the phone, in a small IndexedDB database of their own
// ('anbao-gate'), so the gate works without signal: the last gate summary of each site, the
// visitors seen (a returning visitor is found by phone offline), the site's units, registered
// vehicles and approved goods-out passes (checked at the exit offline), and the overnight check
// being walked. Everything belongs to one signed-in person: another person's first read empties
// it, and signing out forgets it.
import { openDB } from 'idb';

const DB_NAME = 'anbao-gate';
const DB_VERSION = 1;

// Stores:
//   summary   site_id → the gate summary as last read ({..., kept_at})
//   visitors  `${site_id}|${visitor_id}` → {site_id, visitor_id, name, phone, id_kind, id_masked,
//             last_host_unit_id, last_host_unit_label, last_purpose, last_headcount, last_plate,
//             last_visit_at} (index site)
//   lists     `${name}|${site_id}` → {rows, kept_at}: units, vehicles, goods (approved passes)
//   checks    site_id → the overnight check being walked on this phone {id, started_at, noted}
//   labels    an entity id made on this phone → what its screens show until the server answers
//             (a registration by invite or by a picked visitor carries no name in its args)
//   meta      'owner' → the user id all of the above belongs to
let dbPromise = null;

function database() {
  dbPromise ??= openDB(DB_NAME, DB_VERSION, {
    upgrade(db, oldVersion) {
      if (oldVersion < 1) {
        db.createObjectStore('summary');
        db.createObjectStore('visitors', { keyPath: 'key' }).createIndex('site', 'site_id');
        db.createObjectStore('lists');
        db.createObjectStore('checks');
        db.createObjectStore('labels');
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

const STORES = ['summary', 'visitors', 'lists', 'checks', 'labels'];

async function forUser(userId) {
  const db = await database();
  const owner = await db.get('meta', 'owner');
  if (owner !== userId) {
    const tx = db.transaction([...STORES, 'meta'], 'readwrite');
    await Promise.all([...STORES.map((s) => tx.objectStore(s).clear()), tx.objectStore('meta').put(userId, 'owner'), tx.done]);
  }
  return db;
}

/** Forgets everything kept for the gate (sign-out: visitors' details must not outlive it). */
export async function clearGateCache() {
  const db = await database();
  const tx = db.transaction([...STORES, 'meta'], 'readwrite');
  await Promise.all([...STORES.map((s) => tx.objectStore(s).clear()), tx.objectStore('meta').delete('owner'), tx.done]);
}

// --- the gate summary --------------------------------------------------------------------------

export async function keepSummary(userId, siteId, summary) {
  const db = await forUser(userId);
  await db.put('summary', { ...summary, kept_at: new Date().toISOString() }, siteId);
  await keepVisits(userId, siteId, [...(summary.on_site || []), ...(summary.pending || [])]);
}

export async function keptSummary(userId, siteId) {
  return (await (await forUser(userId)).get('summary', siteId)) ?? null;
}

// --- visitors ------------------------------------------------------------------------------------

function fromVisit(siteId, v) {
  return {
    key: `${siteId}|${v.visitor_id}`,
    site_id: siteId,
    visitor_id: v.visitor_id,
    name: v.name,
    phone: v.phone,
    id_kind: v.id_kind,
    id_masked: v.id_masked,
    last_host_unit_id: v.host_unit_id,
    last_host_unit_label: v.host_unit_label,
    last_purpose: v.purpose,
    last_headcount: v.headcount,
    last_plate: v.plate,
    last_visit_at: v.arrived_at,
  };
}

function fromVisitor(siteId, v) {
  return { key: `${siteId}|${v.id}`, site_id: siteId, visitor_id: v.id, ...v, id: undefined };
}

async function putNewer(tx, row) {
  const before = await tx.store.get(row.key);
  if (before && String(before.last_visit_at) > String(row.last_visit_at)) return;
  await tx.store.put(row);
}

/** Visits the server answered (VisitOut): their visitors are kept, newest details winning. */
export async function keepVisits(userId, siteId, visits) {
  const tx = (await forUser(userId)).transaction('visitors', 'readwrite');
  for (const v of visits) if (v?.visitor_id && v.phone) await putNewer(tx, fromVisit(siteId, v));
  await tx.done;
}

/** Returning visitors the server answered for a phone number (VisitorOut). */
export async function keepVisitors(userId, siteId, visitors) {
  const tx = (await forUser(userId)).transaction('visitors', 'readwrite');
  for (const v of visitors) if (v?.id) await putNewer(tx, fromVisitor(siteId, v));
  await tx.done;
}

const digits = (text) => String(text ?? '').replace(/[^0-9+]/g, '');

/** Kept visitors of the site whose phone starts with `phone` (newest first). */
export async function findKeptVisitors(userId, siteId, phone, limit = 8) {
  const wanted = digits(phone);
  if (wanted.length < 3) return [];
  const rows = await (await forUser(userId)).getAllFromIndex('visitors', 'site', siteId);
  return rows
    .filter((r) => digits(r.phone).startsWith(wanted))
    .sort((a, b) => String(b.last_visit_at).localeCompare(String(a.last_visit_at)))
    .slice(0, limit);
}

// --- lists: units, registered vehicles, approved goods-out passes ----------------------------

export async function keepList(userId, name, siteId, rows) {
  await (await forUser(userId)).put('lists', { rows, kept_at: new Date().toISOString() }, `${name}|${siteId}`);
}

export async function keptList(userId, name, siteId) {
  return (await (await forUser(userId)).get('lists', `${name}|${siteId}`))?.rows ?? [];
}

// --- the overnight vehicle check walked on this phone ---------------------------------------

export async function keptCheck(userId, siteId) {
  return (await (await forUser(userId)).get('checks', siteId)) ?? null;
}

export async function keepCheck(userId, siteId, check) {
  const db = await forUser(userId);
  if (check) await db.put('checks', check, siteId);
  else await db.delete('checks', siteId);
}

// --- labels of what this phone made ------------------------------------------------------------

export async function keepLabel(userId, id, label) {
  await (await forUser(userId)).put('labels', { ...label, kept_at: new Date().toISOString() }, String(id));
}

/** Every kept label by id; those older than a week are dropped on the way. */
export async function keptLabels(userId) {
  const db = await forUser(userId);
  const tx = db.transaction('labels', 'readwrite');
  const out = new Map();
  const old = new Date(Date.now() - 7 * 86_400_000).toISOString();
  for await (const cursor of tx.store.iterate()) {
    if (String(cursor.value.kept_at) < old) await cursor.delete();
    else out.set(String(cursor.key), cursor.value);
  }
  await tx.done;
  return out;
}
