// Forgetting this browser's push subscription (utils/webpush.js) when signing out must never wait
// for a service worker: offline, its install can fail and `serviceWorker.ready` then never settles.
import { expect, it, vi } from 'vitest';

function browserWith(serviceWorker) {
  vi.stubGlobal('isSecureContext', true);
  vi.stubGlobal('PushManager', class {});
  vi.stubGlobal('Notification', { permission: 'granted' });
  Object.defineProperty(navigator, 'serviceWorker', { value: serviceWorker, configurable: true });
}

it('a browser with no service worker registered holds no subscription, without waiting', async () => {
  browserWith({ getRegistration: async () => undefined, ready: new Promise(() => {}) });
  const { browserSubscription, unsubscribeThisBrowser } = await import('../src/utils/webpush.js');
  await expect(browserSubscription()).resolves.toBeNull();
  await expect(unsubscribeThisBrowser(7)).resolves.toBeUndefined();
});

it("the registered worker's subscription is found and dropped on sign-out", async () => {
  const sub = { endpoint: 'https://push.example/1', unsubscribe: vi.fn(async () => true) };
  const reg = { pushManager: { getSubscription: async () => sub } };
  browserWith({ getRegistration: async () => reg, ready: new Promise(() => {}) });
  const { browserSubscription, unsubscribeThisBrowser } = await import('../src/utils/webpush.js');
  await expect(browserSubscription()).resolves.toBe(sub);
  await unsubscribeThisBrowser(7);
  expect(sub.unsubscribe).toHaveBeenCalledTimes(1);
});
