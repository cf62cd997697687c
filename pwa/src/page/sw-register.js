// Registers /sw.js and tells the page when a new version waits to take over.

export function registerServiceWorker(onUpdateWaiting) {
  if (!('serviceWorker' in navigator)) return;
  let reloadOnChange = false;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    // Only after the user asked: the first install also changes the controller (clients.claim).
    if (reloadOnChange) location.reload();
  });
  const offer = (worker) =>
    onUpdateWaiting(() => {
      reloadOnChange = true;
      worker.postMessage({ type: 'SKIP_WAITING' });
    });
  navigator.serviceWorker
    .register('/sw.js', { scope: '/' })
    .then((reg) => {
      if (reg.waiting && navigator.serviceWorker.controller) offer(reg.waiting);
      reg.addEventListener('updatefound', () => {
        const worker = reg.installing;
        worker?.addEventListener('statechange', () => {
          if (worker.state === 'installed' && navigator.serviceWorker.controller) offer(worker);
        });
      });
      document.addEventListener('visibilitychange', () => {
        if (document.visibilityState === 'visible') reg.update().catch(() => {});
      });
    })
    .catch((err) => console.warn('service worker registration failed', err));
}
