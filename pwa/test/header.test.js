// The status bar (src/page/header.js) never says "all sent" before the outbox was counted: at
// start-up, after another user signs in on the same phone, or when the outbox cannot be read.
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { pushServer } from './server.js';

const GUARD = { user: { id: 7, username: 'guard', display_name: 'Wang' }, memberships: [] };
const OTHER = { user: { id: 8, username: 'guard2', display_name: 'Zhao' }, memberships: [] };
let sync;
let outbox;
let header;
let i18n;

async function settle(rounds = 50) {
  for (let i = 0; i < rounds; i++) await new Promise((ok) => setImmediate(ok));
}

beforeEach(async () => {
  vi.resetModules();
  const server = pushServer({ down: true });
  vi.stubGlobal('fetch', vi.fn(server.fetch));
  const db = await import('../src/utils/db.js');
  await db.setMeta('auth', { user_id: 7, device_uid: 'phone-1', csrf_token: 'csrf' });
  outbox = await import('../src/utils/outbox.js');
  sync = await import('../src/utils/sync.js');
  i18n = await import('../src/utils/i18n.js');
  await i18n.setLang('en');
  const { createHeader } = await import('../src/page/header.js');
  header = createHeader({ onSignOut() {}, onSwitchSite() {}, onHome() {}, onOutbox() {} });
});

afterEach(() => {
  sync.stopSync();
});

const bar = () => header.el.querySelector('[data-testid=sync-status]');

it('says it is counting until the outbox was read, then what waits', async () => {
  await outbox.addMutation({ id: 7, name: 'Wang' }, 'duty_log.add', { id: 'e1', site_id: 1, text: 'quiet' });
  header.render(GUARD, null);
  expect(bar().textContent).toContain(i18n.t('sync.counting'));
  expect(bar().textContent).not.toContain(i18n.t('sync.all_sent'));
  expect(bar().dataset.waiting).toBe('');

  sync.startSync(GUARD);
  await settle();
  expect(bar().dataset.waiting).toBe('1');
  expect(bar().querySelector('[data-testid=sync-waiting]').textContent).toBe(i18n.t('sync.waiting', { count: 1 }));
});

it('counts again for another user instead of showing the last one\'s count', async () => {
  header.render(GUARD, null);
  sync.startSync(GUARD);
  await settle();
  expect(bar().textContent).toContain(i18n.t('sync.all_sent'));

  // The guard signs out with nothing waiting; another signs in on this phone with one waiting.
  sync.stopSync();
  await outbox.addMutation({ id: 8, name: 'Zhao' }, 'duty_log.add', { id: 'e2', site_id: 1, text: 'gate shut' });
  await settle();
  sync.startSync(OTHER);
  header.render(OTHER, null);
  expect(bar().textContent).not.toContain(i18n.t('sync.all_sent'));
  await settle();
  expect(bar().dataset.waiting).toBe('1');
});
