// Web push notices (parcel arrivals, supervisors' alerts): this browser's push subscription, made
// with the server's VAPID key and registered through the API; the person's other devices; which
// notices they get; and the messages the service worker sends open pages when a notice arrives.
// Not the sync "push" of the outbox (utils/push.js).
import { api, request } from './api.js';
import { getPref, setPref } from './prefs.js';

// PushManager.subscribe waits for the browser vendor's push service; where that is out of reach
// it never settles, so the screen stops waiting and says so.
export const SUBSCRIBE_TIMEOUT_MS = 20_000;
// What the service worker posts to open pages (src/sw.js).
export const NOTICE_MESSAGE = 'anbao-notice';

/** Why push cannot work here, or '' when it can: 'insecure' | 'unsupported' | 'denied'. */
export function pushBlocker() {
  if (!globalThis.isSecureContext) return 'insecure';
  if (!('serviceWorker' in navigator) || !('PushManager' in globalThis) || !('Notification' in globalThis)) return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  return '';
}

/** 'default' | 'granted' | 'denied' ('unsupported' without the Notification API). */
export function permission() {
  return 'Notification' in globalThis ? Notification.permission : 'unsupported';
}

/** The base64url VAPID key as the bytes `applicationServerKey` takes. */
export function keyBytes(base64url) {
  const padded = base64url.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (base64url.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

function keyText(buffer) {
  if (!buffer) return '';
  const bytes = new Uint8Array(buffer);
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// This browser's registration on the server, per user: {id, endpoint}. The server lists a
// person's devices by push service host only (the endpoint is a secret), so the id is kept here.
const mine = (userId) => `webpush.${userId}`;

export function thisDevice(userId) {
  try {
    return JSON.parse(getPref(mine(userId)) || 'null');
  } catch {
    return null;
  }
}

function rememberDevice(userId, value) {
  setPref(mine(userId), value ? JSON.stringify(value) : null);
}

/** Forgets this browser's registration for `userId` (the server no longer lists it: removed from
 * another device, answered 404/410 by the push service, or taken over by someone else's sign-in). */
export function forgetThisDevice(userId) {
  rememberDevice(userId, null);
}

async function registration() {
  const reg = await navigator.serviceWorker.getRegistration();
  return reg || navigator.serviceWorker.ready;
}

/**
 * The push subscription this browser holds (any user's), or null. Never waits for a service
 * worker: with none registered (its install failed offline, say) there is no subscription either,
 * and waiting for `ready` would hang whoever asks (signing out did, offline).
 */
export async function browserSubscription() {
  if (pushBlocker() === 'insecure' || pushBlocker() === 'unsupported') return null;
  const reg = await navigator.serviceWorker.getRegistration();
  return (await reg?.pushManager?.getSubscription()) ?? null;
}

export const vapidKey = async () => (await api.get('/api/notices/vapid-key')).public_key;

/** Sends a subscription (`PushSubscription.toJSON()`) to the server for the signed-in person. */
export async function registerSubscription(json, applicationServerKey) {
  const body = { endpoint: json.endpoint, keys: json.keys, application_server_key: applicationServerKey };
  if (json.expirationTime != null) body.expirationTime = json.expirationTime;
  return api.post('/api/notices/subscriptions', body);
}

function withTimeout(promise, ms) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('push service timeout'), { name: 'TimeoutError' })), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * Asks for permission, subscribes this browser with the server's current key and registers it
 * for `userId`. Resolves to the server's record; rejects with a DOMException-like error (name
 * NotAllowedError when refused, TimeoutError when the push service never answered) or an ApiError.
 */
export async function subscribeThisBrowser(userId, { timeoutMs = SUBSCRIBE_TIMEOUT_MS } = {}) {
  const blocked = pushBlocker();
  if (blocked) throw Object.assign(new Error(blocked), { name: blocked === 'denied' ? 'NotAllowedError' : 'NotSupportedError' });
  const key = await vapidKey();
  const answer = await Notification.requestPermission();
  if (answer !== 'granted') throw Object.assign(new Error('permission'), { name: 'NotAllowedError' });
  const reg = await registration();
  let sub = await reg.pushManager.getSubscription();
  // Made with an older key (the server rotated it): the push service would refuse our sends.
  if (sub && keyText(sub.options?.applicationServerKey) && keyText(sub.options.applicationServerKey) !== key) {
    await sub.unsubscribe().catch(() => {});
    sub = null;
  }
  sub ??= await withTimeout(reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) }), timeoutMs);
  const json = sub.toJSON();
  const row = await registerSubscription(json, key);
  rememberDevice(userId, { id: row.id, endpoint: json.endpoint });
  return row;
}

/** Stops notices to this browser: its record on the server, then the browser's subscription. */
export async function unsubscribeThisBrowser(userId) {
  const kept = thisDevice(userId);
  if (kept?.id != null) {
    await removeSubscription(kept.id).catch((err) => {
      if (err?.status !== 404) throw err; // already gone there: fine
    });
  }
  rememberDevice(userId, null);
  const sub = await browserSubscription().catch(() => null);
  if (sub && (!kept || sub.endpoint === kept.endpoint)) await sub.unsubscribe().catch(() => {});
}

export const listSubscriptions = () => api.get('/api/notices/subscriptions');

export async function removeSubscription(id) {
  await api.del(`/api/notices/subscriptions/${encodeURIComponent(id)}`);
}

export const noticeSettings = () => api.get('/api/notices/settings');

export const changeNoticeSettings = (patch) => request('PATCH', '/api/notices/settings', { body: patch });

/**
 * Calls `fn(notice)` for each notice the service worker shows while this page is open (the
 * decrypted payload: {kind, title, body, url, tag, data, id}). Returns an unsubscribe.
 */
export function onNotice(fn) {
  if (!('serviceWorker' in navigator)) return () => {};
  const listener = (event) => {
    if (event.data?.type === NOTICE_MESSAGE) fn(event.data.notice || {});
  };
  navigator.serviceWorker.addEventListener('message', listener);
  return () => navigator.serviceWorker.removeEventListener('message', listener);
}
