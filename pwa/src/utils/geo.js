// The phone's position, attached to a scan when the guard allows it (supporting evidence only:
// indoors it is weak). Never blocks a scan for long.
import { getPref } from './prefs.js';

const FRESH_MS = 60_000;
let latest = null; // {latitude, longitude, accuracy_m, at}
let watchId = null;

export const geoAvailable = () => Boolean(navigator.geolocation);
// A phone can opt out for good with the 'geo' preference set to 'off'.
export const geoWanted = () => getPref('geo') !== 'off';

async function permission() {
  try {
    return (await navigator.permissions.query({ name: 'geolocation' })).state;
  } catch {
    return 'prompt';
  }
}

function keep(pos) {
  const { latitude, longitude, accuracy } = pos.coords;
  latest = { latitude, longitude, accuracy_m: Math.min(accuracy ?? 0, 100_000), at: Date.now() };
}

/** Follows the position while the patrol screen is open, if the guard already allowed it. */
export async function startWatching() {
  if (!geoAvailable() || !geoWanted() || watchId != null) return;
  if ((await permission()) !== 'granted') return;
  watchId = navigator.geolocation.watchPosition(keep, () => {}, { enableHighAccuracy: true, maximumAge: 30_000 });
}

export function stopWatching() {
  if (watchId != null) navigator.geolocation.clearWatch(watchId);
  watchId = null;
}

/** {latitude, longitude, accuracy_m} for a scan now, or null (not allowed, no fix within 4 s). */
export async function positionForScan() {
  if (!geoAvailable() || !geoWanted()) return null;
  if (latest && Date.now() - latest.at < FRESH_MS) return strip(latest);
  if ((await permission()) === 'denied') return null;
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        keep(pos);
        resolve(strip(latest));
      },
      () => resolve(null),
      { enableHighAccuracy: true, timeout: 4_000, maximumAge: FRESH_MS },
    );
  });
}

function strip({ latitude, longitude, accuracy_m }) {
  return { latitude, longitude, accuracy_m };
}
