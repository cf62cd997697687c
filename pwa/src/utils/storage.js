// The cached session in IndexedDB: what an offline cold start shows, and who may send the outbox.
import { db, setMeta } from './db.js';

export async function loadSession() {
  try {
    return (await (await db()).get('session', 'me')) ?? null;
  } catch {
    return null; // storage unavailable: behave as signed out
  }
}

/** Caches `me` and, for the service worker (which cannot read cookies), the sender's identity. */
export async function saveSession(me) {
  await (await db()).put('session', me, 'me');
  await saveAuth(me);
}

export async function saveAuth(me) {
  if (!me?.user) return;
  await setMeta('auth', {
    user_id: me.user.id,
    user_name: me.user.display_name || me.user.username,
    device_uid: me.device?.uid ?? null,
    csrf_token: me.csrf_token ?? null,
  });
}

/** Forgets the session; the outbox stays (it is sent when its user signs in again). */
export async function clearSession() {
  const d = await db();
  await d.clear('session');
  await d.delete('meta', 'auth');
}
