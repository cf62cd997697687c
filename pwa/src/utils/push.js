// Sends the outbox (POST /api/sync/push, docs/sync.md): oldest first, in batches, one flush at a
// time across tabs and the service worker. Runs in both; reads who may send from IndexedDB.
import { getMeta, setMeta } from './db.js';
import { REJECTED, SENDING, WAITING, announce, localIso, nextToSend, removeMany, updateMany } from './outbox.js';
import { applyPushed } from './replica.js';

export const MAX_BATCH = 100;
export const SYNC_TAG = 'anbao-outbox';
const LOCK = 'anbao-outbox';

/**
 * Why a flush stopped before the outbox was empty:
 *   'signed_out'   nobody may send (signed out, or a 401 just now): wait for a sign-in
 *   'network'      no answer at all: retry later
 *   'server'       5xx or an answer we cannot read: retry later
 *   'refused'      403 (csrf, device): the session needs refreshing before a retry
 */
export class FlushResult {
  constructor() {
    this.sent = 0;
    this.applied = 0;
    this.rejected = 0;
    this.stopped = null;
    this.error = null; // {status, code, message, details} of the answer that stopped us
  }
}

/** Runs `fn` while holding the outbox lock (Web Locks where they exist). */
function withLock(fn) {
  const locks = globalThis.navigator?.locks;
  return locks?.request ? locks.request(LOCK, fn) : fn();
}

async function readAnswer(res) {
  try {
    return await res.json();
  } catch {
    return null;
  }
}

async function send(auth, batch, lang) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (auth.csrf_token) headers['X-CSRF-Token'] = auth.csrf_token;
  if (lang) headers['Accept-Language'] = lang;
  const body = {
    device_id: auth.device_uid,
    sent_at: localIso(),
    mutations: batch.map((m) => ({ id: m.id, name: m.name, args: m.args, client_time: m.client_time })),
  };
  return fetch('/api/sync/push', {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
}

function rejectWith(error) {
  return (m) => ({
    ...m,
    status: REJECTED,
    code: error.code || 'unexpected_response',
    message: error.message || '',
    details: error.details || {},
  });
}

/** Stores what the server answered for each mutation of `batch`. */
async function settle(batch, results, outcome) {
  const byId = new Map(results.map((r) => [r.id, r]));
  const done = [];
  const rejected = new Map();
  for (const m of batch) {
    const r = byId.get(m.id);
    if (r?.status === 'applied' || r?.status === 'duplicate') {
      done.push(m.seq);
      outcome.applied += 1;
      await applyPushed(m.name, r.data).catch(() => {});
    } else if (r?.status === 'rejected') {
      rejected.set(m.seq, r);
      outcome.rejected += 1;
    }
  }
  await removeMany(done);
  await updateMany(
    batch.map((m) => m.seq).filter((seq) => !done.includes(seq)),
    (m) => (rejected.has(m.seq) ? rejectWith(rejected.get(m.seq))(m) : { ...m, status: WAITING }),
  );
}

async function flushLocked({ lang } = {}) {
  const outcome = new FlushResult();
  const auth = await getMeta('auth');
  if (!auth?.user_id || !auth.device_uid) {
    outcome.stopped = 'signed_out';
    return outcome;
  }
  let size = MAX_BATCH;
  for (;;) {
    const batch = await nextToSend(auth.user_id, size);
    if (!batch.length) break;
    const seqs = batch.map((m) => m.seq);
    await updateMany(seqs, (m) => ({ ...m, status: SENDING }));
    const backToWaiting = () => updateMany(seqs, (m) => ({ ...m, status: WAITING }));
    let res;
    try {
      res = await send(auth, batch, lang);
    } catch {
      await backToWaiting();
      outcome.stopped = 'network';
      break;
    }
    const answer = await readAnswer(res);
    const error = answer?.error || { code: 'unexpected_response', details: { status: res.status } };
    if (res.ok && Array.isArray(answer?.results)) {
      outcome.sent += batch.length;
      await settle(batch, answer.results, outcome);
      announce();
      continue;
    }
    await backToWaiting();
    outcome.error = { status: res.status, ...error };
    if (res.status === 401) {
      // Signed out or revoked: keep everything, stop until someone signs in again.
      await setMeta('auth', null);
      outcome.stopped = 'signed_out';
      break;
    }
    if (res.status === 403) {
      outcome.stopped = 'refused';
      break;
    }
    if (res.status >= 500 || res.status === 429 || !answer) {
      outcome.stopped = 'server';
      break;
    }
    // 413 batch_too_large / body_too_large or another 4xx about the whole body: halve the batch
    // to find the culprit; a single mutation refused whole is rejected, never retried forever.
    if (batch.length > 1) {
      const limit = Number(error.details?.limit);
      size = Math.max(1, Math.floor(batch.length / 2));
      if (error.code === 'batch_too_large' && limit > 0) size = Math.min(size, limit);
      continue;
    }
    await updateMany(seqs, rejectWith(error));
    outcome.rejected += 1;
    announce();
  }
  announce();
  return outcome;
}

/** Sends what this phone's signed-in user has waiting; resolves to a FlushResult. */
export function flush(options) {
  return withLock(() => flushLocked(options));
}
