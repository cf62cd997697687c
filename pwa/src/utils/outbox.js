// The outbox: mutations written on this phone and not yet accepted by the server, kept in
// IndexedDB per user and in creation order. Shared by the page and the service worker.
import { db } from './db.js';
import { listHeld } from './media-store.js';

export const WAITING = 'waiting';
export const SENDING = 'sending';
export const REJECTED = 'rejected';

// Page, other tabs and the service worker tell each other when the outbox changed.
const CHANNEL = 'anbao-outbox';
let channel = null;

export function announce(what = 'changed') {
  try {
    channel ??= new BroadcastChannel(CHANNEL);
    channel.postMessage({ type: what });
  } catch {
    // no BroadcastChannel: the other side counts again on its own next event
  }
}

export function onAnnounce(fn) {
  try {
    const listener = new BroadcastChannel(CHANNEL);
    listener.onmessage = (event) => fn(event.data?.type);
    return () => listener.close();
  } catch {
    return () => {};
  }
}

/** An ISO 8601 time with the phone's own offset (2026-11-24T01:58:00+08:00): what the guard saw. */
export function localIso(date = new Date()) {
  const pad = (n, w = 2) => String(Math.trunc(Math.abs(n))).padStart(w, '0');
  const off = -date.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}` +
    `${sign}${pad(off / 60)}:${pad(off % 60)}`
  );
}

function userRange(userId) {
  return IDBKeyRange.bound([userId, 0], [userId, Infinity]);
}

/**
 * Queues a mutation for `user` ({id, name}) and resolves once it is on disk: only then may the
 * screen say it is saved. Strict durability: a phone that dies next second still has it.
 */
export async function addMutation(user, name, args) {
  const entry = {
    id: crypto.randomUUID(),
    name,
    args,
    client_time: localIso(),
    status: WAITING,
    code: '',
    message: '',
    details: {},
    created_at: new Date().toISOString(),
    user_id: user.id,
    user_name: user.name || '',
  };
  const tx = (await db()).transaction('outbox', 'readwrite', { durability: 'strict' });
  entry.seq = await tx.store.add(entry);
  await tx.done;
  announce();
  return entry;
}

/** All of a user's queued mutations, oldest first. */
export async function listMutations(userId) {
  return (await db()).getAllFromIndex('outbox', 'user', userRange(userId));
}

/** The next `limit` mutations to send (waiting, or caught mid-send by a crash), oldest first. */
export async function nextToSend(userId, limit) {
  const tx = (await db()).transaction('outbox');
  const out = [];
  for await (const cursor of tx.store.index('user').iterate(userRange(userId))) {
    if (cursor.value.status !== REJECTED) out.push(cursor.value);
    if (out.length >= limit) break;
  }
  await tx.done;
  return out;
}

// Mutations held back until their photos are uploaded (utils/media.js): not in the outbox yet,
// but waiting to be sent all the same, so the status bar and sign-out count them.
async function heldCount(userId) {
  try {
    return (await listHeld(userId)).length;
  } catch {
    return 0;
  }
}

/** {waiting, rejected} for one user: what the status bar shows. */
export async function countFor(userId) {
  const all = userId == null ? [] : await listMutations(userId);
  const rejected = all.filter((m) => m.status === REJECTED).length;
  const held = userId == null ? 0 : await heldCount(userId);
  return { waiting: all.length - rejected + held, rejected };
}

/** Mutations of everyone but `userId` left on this phone: [{user_id, user_name, count}]. */
export async function othersWaiting(userId) {
  const by = new Map();
  for (const m of await (await db()).getAll('outbox')) {
    if (m.user_id === userId) continue;
    const row = by.get(m.user_id) || { user_id: m.user_id, user_name: m.user_name, count: 0 };
    row.count += 1;
    by.set(m.user_id, row);
  }
  return [...by.values()];
}

/** How many of this user's mutations the server has not accepted yet (sign-out asks). */
export async function hasUnsent(userId) {
  if (userId == null) return 0;
  const queued = await (await db()).countFromIndex('outbox', 'user', userRange(userId));
  return queued + (await heldCount(userId));
}

/** Applies `change(entry)` to each of the given seqs still in the outbox, in one transaction. */
export async function updateMany(seqs, change) {
  const tx = (await db()).transaction('outbox', 'readwrite');
  for (const seq of seqs) {
    const entry = await tx.store.get(seq);
    if (entry) await tx.store.put(change(entry) || entry);
  }
  await tx.done;
}

export async function removeMany(seqs) {
  const tx = (await db()).transaction('outbox', 'readwrite');
  await Promise.all([...seqs.map((seq) => tx.store.delete(seq)), tx.done]);
}

/** Drops one mutation the user chose to give up. */
export async function discard(seq) {
  await removeMany([seq]);
  announce();
}

/**
 * Replaces a rejected mutation by a corrected one under a NEW id (the server remembers the old id
 * as rejected), at the end of the queue; both in one transaction so nothing is lost or doubled.
 */
export async function resend(seq, args) {
  const tx = (await db()).transaction('outbox', 'readwrite', { durability: 'strict' });
  const old = await tx.store.get(seq);
  if (!old) {
    await tx.done;
    return null;
  }
  const entry = {
    ...old,
    id: crypto.randomUUID(),
    args,
    client_time: localIso(),
    status: WAITING,
    code: '',
    message: '',
    details: {},
    created_at: new Date().toISOString(),
  };
  delete entry.seq;
  await tx.store.delete(seq);
  entry.seq = await tx.store.add(entry);
  await tx.done;
  announce();
  return entry;
}
