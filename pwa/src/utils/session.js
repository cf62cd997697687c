// Who is signed in: sign-in, the cached /api/auth/me answer, the chosen membership, sign-out.
import { api, setCsrfToken } from './api.js';
import { deviceName, deviceUid, setDeviceUid } from './device.js';
import { getPref, setPref } from './prefs.js';
import { clearReplica } from './replica.js';
import { clearSession, loadSession, saveAuth, saveSession } from './storage.js';

/** What we keep of a login or /me answer: never the token (the cookie carries it). */
function keep(answer, previous = {}) {
  return {
    user: answer.user,
    memberships: answer.memberships || [],
    device: answer.device ?? previous.device ?? null,
    session_id: answer.session_id ?? previous.session_id ?? null,
    expires_at: answer.expires_at ?? previous.expires_at ?? null,
    csrf_token: answer.csrf_token ?? previous.csrf_token ?? null,
  };
}

export async function signIn(username, password) {
  const answer = await api.post(
    '/api/auth/login',
    { username, password, device: { uid: deviceUid(), name: deviceName() } },
    { auth: false },
  );
  setCsrfToken(answer.csrf_token);
  // The server replaces a revoked device id: use (and keep) the one it answered.
  if (answer.device?.uid) setDeviceUid(answer.device.uid);
  // /me is what an offline cold start shows; fall back to the login answer (same shape).
  let me = answer;
  try {
    me = { ...answer, ...(await api.get('/api/auth/me')) };
  } catch {
    // keep the login answer
  }
  const kept = keep(me, answer);
  await saveSession(kept).catch(() => {});
  askPersistentStorage();
  return kept;
}

/** The user cached by the last sign-in, or null. Works offline. */
export async function cachedSession() {
  const me = await loadSession();
  if (me?.csrf_token) setCsrfToken(me.csrf_token);
  if (me?.user) await saveAuth(me).catch(() => {});
  return me?.user ? me : null;
}

/** Asks the server who we are and refreshes the cache; rejects like api calls do. */
export async function refreshSession(previous) {
  const me = keep(await api.get('/api/auth/me'), previous || {});
  if (me.csrf_token) setCsrfToken(me.csrf_token);
  await saveSession(me).catch(() => {});
  return me;
}

/**
 * Forgets the session and what was pulled for it (not the device id, language or theme). The
 * outbox stays: unsent work is sent when its user signs in again, never deleted silently.
 */
export async function clearLocal() {
  setCsrfToken(null);
  await clearSession().catch(() => {});
  await clearReplica().catch(() => {});
}

/** Ends the session on the server (best effort: offline, the cookie expires there) and locally. */
export async function signOut() {
  try {
    await api.post('/api/auth/logout', undefined, { auth: false });
  } catch {
    // offline or already revoked: nothing more to end on the server from here
  }
  await clearLocal();
}

export function chosenMembership(me) {
  const list = me?.memberships || [];
  if (list.length === 1) return list[0];
  const id = Number(getPref(`membership.${me?.user?.id}`));
  return list.find((m) => m.id === id) || null;
}

export function chooseMembership(me, membership) {
  setPref(`membership.${me.user.id}`, membership.id);
}

function askPersistentStorage() {
  if (getPref('persist_asked') || !navigator.storage?.persist) return;
  setPref('persist_asked', '1');
  navigator.storage.persist().catch(() => {});
}
