// Online/offline as the header shows it: the browser's flag, corrected by what our requests saw.
let online = navigator.onLine;
const listeners = new Set();

function set(next) {
  if (next === online) return;
  online = next;
  for (const fn of listeners) fn(online);
}

window.addEventListener('online', () => set(true));
window.addEventListener('offline', () => set(false));

export const isOnline = () => online;
export const onConnectivity = (fn) => listeners.add(fn);
export const offConnectivity = (fn) => listeners.delete(fn);
/** Called by the API client after each request: a reply proves we are online, a failure not. */
export const reportReachable = (reachable) => set(reachable);
