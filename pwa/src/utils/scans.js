// Checkpoint scans on the phone: each is queued as a `patrol.scan` mutation (docs/sync.md) and
// kept in the `scans` store with what the phone saw; the push answer adds the server's verdict.
import { db } from './db.js';
import { REJECTED, addMutation, listMutations, localIso } from './outbox.js';
import { queued } from './sync.js';

export const SCAN = 'patrol.scan';
const KEEP_MS = 48 * 60 * 60 * 1000;

/** The tag kind and identifier a reading can be looked up by in the plan, or null (SUN, BLE). */
export function lookupKey(reading) {
  if ((reading.method === 'qr' || reading.method === 'manual') && reading.code) return ['qr', reading.code];
  if (reading.method === 'nfc' && reading.uid) return ['nfc_uid', reading.uid];
  return null;
}

/**
 * Queues a scan for `user` ({id, name}) at `siteId` and resolves once it is on disk.
 * `reading`: {method, code | uid | e + c}; `extra`: {round_id, answers, position, client_time,
 * checkpoint_id (what the phone's plan says; the server decides), photos (the SHA-256s the
 * answers name: the scan waits on the phone until they are uploaded, or the server could not
 * tell them from a made-up hash)}.
 */
export async function recordScan(user, siteId, reading, extra = {}) {
  const args = { id: crypto.randomUUID(), site_id: siteId, ...reading };
  if (extra.round_id != null) args.round_id = extra.round_id;
  if (extra.answers && Object.keys(extra.answers).length) args.answers = extra.answers;
  if (extra.position) args.position = extra.position;
  if (extra.client_time) args.client_time = extra.client_time;
  const local = {
    id: args.id,
    site_id: siteId,
    user_id: user.id,
    round_id: extra.round_id ?? null,
    method: reading.method,
    local_checkpoint_id: extra.checkpoint_id ?? null,
    client_time: extra.client_time || localIso(),
    answered: false,
  };
  const d = await db();
  // The local record goes first: the push answer (which may come at once) is merged into it.
  await d.put('scans', local);
  try {
    if (extra.photos?.length) {
      // Loaded only here: the photo code stays out of the app shell.
      const { queueWithPhotos } = await import('./media.js');
      await queueWithPhotos(user, SCAN, args, extra.photos);
    } else {
      await addMutation(user, SCAN, args);
    }
  } catch (err) {
    await d.delete('scans', local.id).catch(() => {});
    throw err;
  }
  prune().catch(() => {});
  queued();
  return local;
}

/**
 * A scan held for a photo the server refused is let go without that photo (its answer dropped):
 * the scan is evidence and must not wait for a photo that will never be taken. The held entry
 * is changed in place and sent by the photo sync like any held mutation whose photos are up.
 * Resolves with how many scans were let go.
 */
export async function releaseRefusedScans(userId) {
  const [media, store] = await Promise.all([import('./media.js'), import('./media-store.js')]);
  let released = 0;
  for (const entry of await store.listHeld(userId)) {
    if (entry.name !== SCAN) continue;
    const rows = await store.getPhotos(userId, entry.photos);
    const refused = new Set(rows.filter((p) => p?.status === store.REFUSED).map((p) => p.sha256));
    if (!refused.size) continue;
    const changed = await store.updateHeld(entry.id, (held) => {
      const answers = Object.fromEntries(Object.entries(held.args.answers || {}).filter(([, v]) => !refused.has(v)));
      const args = { ...held.args, answers };
      if (!Object.keys(answers).length) delete args.answers;
      return { ...held, args, photos: held.photos.filter((sha) => !refused.has(sha)) };
    });
    if (!changed) continue;
    released += 1;
    for (const sha of refused) await media.forgetPhoto(sha, { userId }).catch(() => {});
  }
  if (released) media.uploadNow();
  return released;
}

async function prune() {
  const tx = (await db()).transaction('scans', 'readwrite');
  const old = Date.now() - KEEP_MS;
  for await (const cursor of tx.store.iterate()) {
    if (cursor.value.answered && Date.parse(cursor.value.client_time) < old) await cursor.delete();
  }
  await tx.done;
}

/**
 * This user's scans at a site, newest first, each with `state`:
 *   'waiting'  in the outbox, not answered yet (the phone's tick stands for now); `photos_held`
 *              while it waits on the phone for its photo to upload
 *   'refused'  the server refused the mutation itself (shown in the outbox with its reason)
 *   'answered' the server kept it: `verdict` (valid | suspicious | rejected), `reasons`, `review`
 */
export async function myScans(siteId, userId) {
  const [stored, outbox, held] = await Promise.all([
    (await db()).getAllFromIndex('scans', 'site', siteId).catch(() => []),
    listMutations(userId).catch(() => []),
    import('./media-store.js').then((m) => m.listHeld(userId)).catch(() => []),
  ]);
  const byId = new Map(stored.filter((s) => s.user_id == null || s.user_id === userId).map((s) => [s.id, { ...s }]));
  const queuedIds = new Set();
  for (const entry of held) {
    const s = entry.name === SCAN && entry.args?.site_id === siteId ? byId.get(entry.args.id) : null;
    if (!s) continue;
    queuedIds.add(s.id);
    s.photos_held = true;
  }
  for (const m of outbox) {
    if (m.name !== SCAN || m.args?.site_id !== siteId) continue;
    queuedIds.add(m.args.id);
    const s = byId.get(m.args.id) || {
      id: m.args.id,
      site_id: siteId,
      round_id: m.args.round_id ?? null,
      method: m.args.method,
      local_checkpoint_id: null,
      client_time: m.args.client_time || m.client_time,
    };
    s.reading = m.args;
    s.mutation = m;
    byId.set(m.args.id, s);
  }
  const out = [];
  for (const s of byId.values()) {
    if (s.answered) s.state = 'answered';
    else if (queuedIds.has(s.id)) s.state = s.mutation?.status === REJECTED ? 'refused' : 'waiting';
    else continue; // discarded from the outbox: it never reached the server
    out.push(s);
  }
  return out.sort((a, b) => Date.parse(b.client_time) - Date.parse(a.client_time));
}

/** The checkpoint a scan is about: the server's answer when there is one, else the phone's guess. */
export function scanCheckpoint(scan) {
  return scan.answered ? scan.checkpoint_id : scan.local_checkpoint_id;
}
