// The phone's copy of what the server holds (filled by pull, and by push answers), per entity.
import { db, getMeta } from './db.js';

// Entities that have a local store; changes of others are skipped (a newer app reads them again).
const STORES = { duty_log: 'duty_log' };

/** Stores one pull page, the site resets it names and the new cursor in one transaction. */
export async function applyPage(userId, page) {
  const names = Object.values(STORES);
  const tx = (await db()).transaction([...names, 'meta'], 'readwrite');
  for (const siteId of page.reset_sites || []) {
    for (const name of names) {
      const index = tx.objectStore(name).index('site');
      for await (const cursor of index.iterate(siteId)) await cursor.delete();
    }
  }
  for (const change of page.changes || []) {
    const store = STORES[change.entity];
    if (!store) continue;
    if (change.op === 'delete' || !change.data) await tx.objectStore(store).delete(String(change.id));
    else await tx.objectStore(store).put({ ...change.data, id: String(change.id), site_id: change.site_id });
  }
  await tx.objectStore('meta').put({ user_id: userId, cursor: page.cursor }, 'pull');
  await tx.done;
}

// Mutations whose answer is kept in a store of its own (the pull does not carry them).
const PUSHED = { 'patrol.scan': 'scans' };

/** What an accepted push answered: the stored entity, shown before the next pull brings it. */
export async function applyPushed(mutationName, data) {
  if (!data?.id) return;
  const own = PUSHED[mutationName];
  if (own) {
    // The server's verdict replaces what the phone guessed; what only the phone knew stays.
    const tx = (await db()).transaction(own, 'readwrite');
    const before = (await tx.store.get(String(data.id))) || {};
    await tx.store.put({ ...before, ...data, id: String(data.id), answered: true });
    await tx.done;
    return;
  }
  const store = STORES[mutationName.split('.')[0]];
  if (!store) return;
  await (await db()).put(store, { ...data, id: String(data.id) });
}

/** The cursor to pull from for `userId`; another user's copy is dropped first. */
export async function cursorFor(userId) {
  const state = await getMeta('pull');
  if (state && state.user_id === userId) return state.cursor || '';
  if (state) await clearReplica();
  return '';
}

/** Drops the pulled rows and the cursor, so the next pull starts from scratch (a bad cursor). */
export async function dropPulled() {
  const names = Object.values(STORES);
  const tx = (await db()).transaction([...names, 'meta'], 'readwrite');
  await Promise.all([...names.map((n) => tx.objectStore(n).clear()), tx.objectStore('meta').delete('pull'), tx.done]);
}

/** Drops everything pulled or cached for the signed-in user (sign-out, another user). */
export async function clearReplica() {
  const names = [...Object.values(STORES), 'zones', 'plans', 'scans'];
  const tx = (await db()).transaction([...names, 'meta'], 'readwrite');
  await Promise.all([...names.map((n) => tx.objectStore(n).clear()), tx.objectStore('meta').delete('pull'), tx.done]);
}

export async function siteRows(entity, siteId) {
  return (await db()).getAllFromIndex(STORES[entity], 'site', siteId);
}

export async function cachedZones(siteId) {
  return (await db()).getAllFromIndex('zones', 'site', siteId);
}

export async function cacheZones(siteId, zones) {
  const tx = (await db()).transaction('zones', 'readwrite');
  for await (const cursor of tx.store.index('site').iterate(siteId)) await cursor.delete();
  for (const z of zones) await tx.store.put({ ...z, site_id: siteId });
  await tx.done;
}
