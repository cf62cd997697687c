// When the page pushes (src/utils/sync.js): at once on start, then after a growing pause while
// the server cannot be reached (5 s, 15 s, 30 s, 1 min, 2 min, then every 5 min), and from the
// first pause again once a push got through.
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { pushServer } from './server.js';

const ME = { user: { id: 7, username: 'guard', display_name: 'Wang' } };
let sync;
let outbox;
let server;

/** Lets IndexedDB and the promises it feeds run (fake-indexeddb answers on setImmediate). */
async function settle(rounds = 50) {
  for (let i = 0; i < rounds; i++) await new Promise((ok) => setImmediate(ok));
}

beforeEach(async () => {
  vi.resetModules();
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
  server = pushServer({ down: true });
  vi.stubGlobal('fetch', vi.fn(server.fetch));
  const db = await import('../src/utils/db.js');
  await db.setMeta('auth', { user_id: 7, device_uid: 'phone-1', csrf_token: 'csrf' });
  outbox = await import('../src/utils/outbox.js');
  sync = await import('../src/utils/sync.js');
});

afterEach(() => {
  sync.stopSync();
  vi.useRealTimers();
});

/** Advances the clock by `ms` and lets what the timers started finish. */
async function wait(ms) {
  await vi.advanceTimersByTimeAsync(ms);
  await settle();
}

it('retries after a growing pause while offline and starts over once through', async () => {
  await outbox.addMutation({ id: 7, name: 'Wang' }, 'duty_log.add', { id: 'e1', site_id: 1, text: 'quiet' });
  sync.startSync(ME);
  await settle();
  expect(server.attempts).toBe(1);
  for (const pause of [5_000, 15_000, 30_000, 60_000, 120_000, 300_000, 300_000]) {
    await wait(pause - 100);
    const before = server.attempts;
    await wait(100);
    expect(server.attempts, `a retry after ${pause} ms`).toBe(before + 1);
  }
  expect(sync.syncStatus().waiting).toBe(1);

  // Back: the next retry goes through and the outbox is empty.
  server.down = false;
  await wait(300_000);
  expect(server.applied.size).toBe(1);
  expect(sync.syncStatus().waiting).toBe(0);

  // Offline again: the pauses start from the first one.
  server.down = true;
  await outbox.addMutation({ id: 7, name: 'Wang' }, 'duty_log.add', { id: 'e2', site_id: 1, text: 'still quiet' });
  await sync.pushNow();
  await settle();
  const failed = server.attempts;
  await wait(5_000);
  expect(server.attempts).toBe(failed + 1);
});

it('a push refused for the session asks the app to refresh it, then retries', async () => {
  server.down = 403;
  await outbox.addMutation({ id: 7, name: 'Wang' }, 'duty_log.add', { id: 'e1', site_id: 1, text: 'quiet' });
  const refreshed = vi.fn(async () => {
    server.down = false; // a fresh CSRF token
  });
  sync.startSync(ME, { onRefused: refreshed });
  await settle();
  expect(refreshed).toHaveBeenCalledTimes(1);
  await wait(5_000);
  expect(server.applied.size).toBe(1);
});

it('counts what waits and what was refused for the status bar', async () => {
  server.down = false;
  server.reject = { 'duty_log.add': 'validation_failed' };
  const seen = [];
  // The bar's first count (before it, the bar says it is counting: header.test.js).
  sync.onSyncChange((status) => status.counted && seen.push({ waiting: status.waiting, rejected: status.rejected }));
  await outbox.addMutation({ id: 7, name: 'Wang' }, 'duty_log.add', { id: 'e1', site_id: 1, text: '' });
  await outbox.addMutation({ id: 7, name: 'Wang' }, 'patrol.scan', { id: 's1', site_id: 1, method: 'qr', code: 'A' });
  sync.startSync(ME);
  await settle();
  expect(sync.syncStatus()).toMatchObject({ waiting: 0, rejected: 1 });
  expect(seen[0]).toEqual({ waiting: 2, rejected: 0 });
});


it('coming back online while a failed send is still finishing sends at once, not after the backoff', async () => {
  await outbox.addMutation({ id: 7, name: 'Wang' }, 'duty_log.add', { id: 'e1', site_id: 1, text: 'quiet' });
  sync.startSync(ME);
  await settle();
  for (const pause of [5_000, 15_000, 30_000, 60_000]) await wait(pause); // the next pause is 2 min
  expect(server.attempts).toBe(5);

  // Another send fails; while the page is still counting what waits, the phone comes back (the
  // browser's 'online' event fires mid-flush, as it did in a browser test).
  let armed = true;
  sync.onSyncChange((status, what) => {
    if (!armed || what !== 'count') return;
    armed = false;
    server.down = false;
    window.dispatchEvent(new Event('online'));
  });
  await sync.pushNow();
  await settle();
  expect(armed).toBe(false);
  expect(server.applied.size).toBe(1);
  expect(sync.syncStatus()).toMatchObject({ waiting: 0, online: true });
});
