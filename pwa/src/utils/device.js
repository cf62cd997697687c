// This browser's identity as a device: a random UUID kept locally and a readable name.
import { getPref, setPref } from './prefs.js';

export function deviceUid() {
  let uid = getPref('device_uid');
  if (!uid) {
    uid = crypto.randomUUID();
    setPref('device_uid', uid);
  }
  return uid;
}

/** Adopts the id the server answered at sign-in (it replaces a revoked one). */
export function setDeviceUid(uid) {
  setPref('device_uid', uid);
}

/** "Pixel 7 · Chrome", "iPhone · Safari", "Linux · Chrome" — shown to a supervisor. */
export function deviceName(ua = navigator.userAgent) {
  let model = 'Browser';
  const android = /Android[^;)]*;(?:\s*[a-z]{2}[-_][A-Za-z]{2};)?\s*([^;)]+?)(?:\s+Build\/[^;)]*)?\)/.exec(ua);
  if (android && android[1] && android[1].trim() !== 'K') model = android[1].trim();
  else if (/Android/.test(ua)) model = 'Android';
  else if (/iPhone/.test(ua)) model = 'iPhone';
  else if (/iPad/.test(ua)) model = 'iPad';
  else if (/Windows/.test(ua)) model = 'Windows';
  else if (/Mac OS X/.test(ua)) model = 'Mac';
  else if (/CrOS/.test(ua)) model = 'ChromeOS';
  else if (/Linux/.test(ua)) model = 'Linux';
  let browser = '';
  if (/MicroMessenger/.test(ua)) browser = 'WeChat';
  else if (/EdgA?\//.test(ua)) browser = 'Edge';
  else if (/Firefox\//.test(ua)) browser = 'Firefox';
  else if (/(Chrome|Chromium|CriOS)\//.test(ua)) browser = 'Chrome';
  else if (/Safari\//.test(ua)) browser = 'Safari';
  return (browser ? `${model} · ${browser}` : model).slice(0, 120);
}
