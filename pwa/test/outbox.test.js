// The outbox and its flush (src/utils/outbox.js, push.js): what is sent, in which order and
// batches, and what the phone keeps when the server refuses something.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { pushServer } from './server.js';

const GUARD = { id: 7, name: 'Wang' };
const OTHER = { id: 8, name: 'Zhao' };
let outbox;
let push;
let db;

beforeEach(async () => {
  // Fresh modules: each test opens its own database (setup.js gives a fresh IndexedDB).
  vi.resetModules();
  outbox = await import('../src/utils/outbox.js');
  push = await import('../src/utils/push.js');
  db = await import('../src/utils/db.js');
  await db.setMeta('auth', { user_id: GUARD.id, device_uid: 'phone-1', csrf_token: 'csrf' });
});

function serve(options) {
  const server = pushServer(options);
  vi.stubGlobal('fetch', vi.fn(server.fetch));
  return server;
}

async function queue(user, n, text = (i) => `entry ${i}`) {
  const made = [];
  for (let i = 0; i < n; i++) made.push(await outbox.addMutation(user, 'duty_log.add', { id: `e${user.id}-${i}`, site_id: 1, text: text(i) }));
  return made;
}

describe('flush', () => {
  it('sends this user’s mutations oldest first and drops what the server applied', async () => {
    const server = serve();
    const mine = await queue(GUARD, 5);
    await queue(OTHER, 2);
    const result = await push.flush();
    expect(result).toMatchObject({ sent: 5, applied: 5, rejected: 0, stopped: null });
    expect(server.batches).toEqual([mine.map((m) => m.id)]);
    expect(await outbox.listMutations(GUARD.id)).toEqual([]);
    // Another person's items on a shared phone are never sent under this one's session.
    expect((await outbox.listMutations(OTHER.id)).map((m) => m.args.text)).toEqual(['entry 0', 'entry 1']);
  });

  it('sends what does not fit in one batch in several, in order', async () => {
    const server = serve();
    const made = await queue(GUARD, push.MAX_BATCH * 2 + 17);
    await push.flush();
    expect(server.batches.map((b) => b.length)).toEqual([push.MAX_BATCH, push.MAX_BATCH, 17]);
    expect(server.batches.flat()).toEqual(made.map((m) => m.id));
  });

  it('halves a batch the server finds too large until it fits, sending each mutation once', async () => {
    const server = serve({ maxBodyBytes: 4000 });
    const made = await queue(GUARD, 60, (i) => `${i} `.padEnd(60, 'x'));
    const result = await push.flush();
    expect(result.stopped).toBeNull();
    expect(result.applied).toBe(60);
    const sizes = server.batches.map((b) => b.length);
    expect(sizes.slice(0, 3)).toEqual([60, 30, 15]);
    expect(server.applied.size).toBe(60);
    expect([...server.applied.keys()]).toEqual(made.map((m) => m.id)); // still in order
    expect(await outbox.listMutations(GUARD.id)).toEqual([]);
  });

  it('goes straight to the limit a batch_too_large answer names', async () => {
    const server = serve({ maxBatch: 30 });
    await queue(GUARD, 100);
    await push.flush();
    expect(server.batches.map((b) => b.length)).toEqual([100, 30, 30, 30, 10]);
    expect(server.applied.size).toBe(100);
  });

  it('rejects a single mutation refused whole, keeps it with the reason and sends the rest', async () => {
    const server = serve({ maxBodyBytes: 3000 });
    const made = await queue(GUARD, 5, (i) => (i === 2 ? 'y'.repeat(5000) : `entry ${i}`));
    const result = await push.flush();
    expect(result).toMatchObject({ applied: 4, rejected: 1, stopped: null });
    const [kept] = await outbox.listMutations(GUARD.id);
    expect(kept).toMatchObject({ id: made[2].id, status: outbox.REJECTED, code: 'body_too_large', details: { limit: 3000 } });
    // Never retried forever: the next flush sends nothing.
    const before = server.batches.length;
    expect((await push.flush()).sent).toBe(0);
    expect(server.batches.length).toBe(before);
  });

  it('keeps a rejected mutation as written, with the code, message and fields, until fixed or dropped', async () => {
    const server = serve({ reject: { 'duty_log.add': 'validation_failed' } });
    await outbox.addMutation(GUARD, 'patrol.scan', { id: 's1', site_id: 1, method: 'qr', code: 'A1' });
    const [entry] = await queue(GUARD, 1, () => '');
    const result = await push.flush();
    expect(result).toMatchObject({ applied: 1, rejected: 1 });
    const [kept] = await outbox.listMutations(GUARD.id);
    expect(kept).toMatchObject({
      id: entry.id,
      name: 'duty_log.add',
      args: { id: 'e7-0', site_id: 1, text: '' },
      status: outbox.REJECTED,
      code: 'validation_failed',
      message: 'refused: validation_failed',
      details: { fields: [{ field: 'text', code: 'missing' }] },
      user_name: 'Wang',
    });
    expect(await outbox.countFor(GUARD.id)).toEqual({ waiting: 0, rejected: 1 });

    // Fixed and sent again: a new id at the end of the queue; the refused id is never sent again.
    server.reject = {};
    const later = await outbox.addMutation(GUARD, 'patrol.scan', { id: 's2', site_id: 1, method: 'qr', code: 'A2' });
    const fixed = await outbox.resend(kept.seq, { ...kept.args, text: 'B1 车库巡查正常' });
    expect(fixed.id).not.toBe(entry.id);
    await push.flush();
    expect(server.batches.at(-1)).toEqual([later.id, fixed.id]);
    expect(server.batches.slice(1).flat()).not.toContain(entry.id);
    expect(server.applied.get(fixed.id).text).toBe('B1 车库巡查正常');
    expect(await outbox.listMutations(GUARD.id)).toEqual([]);
  });

  it('discarding a rejected mutation drops only that one', async () => {
    serve({ reject: { 'duty_log.add': 'not_found' } });
    await queue(GUARD, 2);
    await push.flush();
    const [first, second] = await outbox.listMutations(GUARD.id);
    await outbox.discard(first.seq);
    expect((await outbox.listMutations(GUARD.id)).map((m) => m.seq)).toEqual([second.seq]);
  });

  it('a replayed batch whose answer was lost is answered as duplicates and dropped', async () => {
    const server = serve();
    const made = await queue(GUARD, 3);
    for (const m of made) server.applied.set(m.id, m.args);
    const result = await push.flush();
    expect(result.applied).toBe(3);
    expect(await outbox.listMutations(GUARD.id)).toEqual([]);
    expect(server.applied.size).toBe(3);
  });

  it('keeps everything waiting when the server errs or cannot be reached', async () => {
    const server = serve({ down: 503 });
    await queue(GUARD, 3);
    expect((await push.flush()).stopped).toBe('server');
    server.down = true;
    expect((await push.flush()).stopped).toBe('network');
    const all = await outbox.listMutations(GUARD.id);
    expect(all.map((m) => m.status)).toEqual([outbox.WAITING, outbox.WAITING, outbox.WAITING]);
    server.down = false;
    expect((await push.flush()).applied).toBe(3);
  });

  it('stops on a 401 and forgets who may send, keeping the outbox', async () => {
    const server = serve({ down: 401 });
    await queue(GUARD, 2);
    const result = await push.flush();
    expect(result.stopped).toBe('signed_out');
    expect(await db.getMeta('auth')).toBeNull();
    expect(await outbox.countFor(GUARD.id)).toEqual({ waiting: 2, rejected: 0 });
    server.down = false;
    expect((await push.flush()).stopped).toBe('signed_out'); // until someone signs in again
    expect(server.applied.size).toBe(0);
  });

  it('stops on a 403 for the session to be refreshed', async () => {
    serve({ down: 403 });
    await queue(GUARD, 1);
    expect((await push.flush()).stopped).toBe('refused');
    expect(await outbox.countFor(GUARD.id)).toEqual({ waiting: 1, rejected: 0 });
  });
});

describe('outbox', () => {
  it('stamps each mutation with the phone’s local time and its offset', async () => {
    const [m] = await queue(GUARD, 1);
    expect(m.client_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
    expect(Math.abs(Date.parse(m.client_time) - Date.now())).toBeLessThan(60_000);
    expect(outbox.localIso(new Date('2026-11-24T01:58:00Z'))).toMatch(/:58:00\.000[+-]\d\d:\d\d$/);
  });

  it('tells who else left unsent items on this phone', async () => {
    await queue(OTHER, 3);
    expect(await outbox.othersWaiting(GUARD.id)).toEqual([{ user_id: OTHER.id, user_name: 'Zhao', count: 3 }]);
    expect(await outbox.hasUnsent(OTHER.id)).toBe(3);
    expect(await outbox.hasUnsent(GUARD.id)).toBe(0);
  });
});
