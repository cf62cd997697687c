// A checkpoint scan with a checklist photo (src/utils/scans.js): it waits on the phone until its
// photo is on the server, shows as waiting meanwhile, then goes through the outbox like any scan.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { pushServer } from './server.js';

const GUARD = { id: 7, name: 'Wang' };
const SITE = 1;
const SHA = 'ab'.repeat(32);
let scans;
let outbox;
let store;
let upload;

beforeEach(async () => {
  vi.resetModules();
  scans = await import('../src/utils/scans.js');
  outbox = await import('../src/utils/outbox.js');
  store = await import('../src/utils/media-store.js');
  upload = await import('../src/utils/media-upload.js');
  const db = await import('../src/utils/db.js');
  await db.setMeta('auth', { user_id: GUARD.id, device_uid: 'phone-1', csrf_token: 'csrf' });
  // No signal: nothing reaches a server.
  vi.stubGlobal('fetch', vi.fn(pushServer({ down: true }).fetch));
  await store.keepPhoto(GUARD.id, { sha256: SHA, blob: new Blob(['jpeg']), type: 'image/jpeg', size: 4, width: 4, height: 3 });
});

const reading = { method: 'qr', code: 'ABC' };

describe('a scan with a checklist photo', () => {
  it('waits on the phone, not in the outbox, until its photo is uploaded', async () => {
    const local = await scans.recordScan(GUARD, SITE, reading, { answers: { door: false, shot: SHA }, photos: [SHA], checkpoint_id: 3 });
    expect(await outbox.listMutations(GUARD.id)).toEqual([]);
    const [held] = await store.listHeld(GUARD.id);
    expect(held).toMatchObject({ name: scans.SCAN, photos: [SHA], args: { id: local.id, answers: { door: false, shot: SHA } } });
    // The patrol screen still shows it, as waiting for its photo.
    const [mine] = await scans.myScans(SITE, GUARD.id);
    expect(mine).toMatchObject({ id: local.id, state: 'waiting', photos_held: true });

    // The photo is up: the scan moves to the outbox with the same id and answers.
    await store.updatePhoto(GUARD.id, SHA, () => ({ status: store.UPLOADED }));
    await upload.uploadPending({ lang: 'en', csrf: () => 'csrf' });
    expect(await store.listHeld(GUARD.id)).toEqual([]);
    const [queued] = await outbox.listMutations(GUARD.id);
    expect(queued).toMatchObject({ name: scans.SCAN, args: { id: local.id, answers: { door: false, shot: SHA } } });
    const [after] = await scans.myScans(SITE, GUARD.id);
    expect(after.state).toBe('waiting');
    expect(after.photos_held).toBeUndefined();
  });

  it('is sent without its photo when the server refused the photo', async () => {
    const local = await scans.recordScan(GUARD, SITE, reading, { answers: { door: false, shot: SHA, remark: 'wet floor' }, photos: [SHA] });
    expect(await scans.releaseRefusedScans(GUARD.id)).toBe(0); // still waiting: nothing to let go
    expect(await store.listHeld(GUARD.id)).toHaveLength(1);
    await store.updatePhoto(GUARD.id, SHA, () => ({ status: store.REFUSED, code: 'photo_unreadable' }));
    expect(await scans.releaseRefusedScans(GUARD.id)).toBe(1);
    await upload.uploadPending({ lang: 'en', csrf: () => 'csrf' });
    expect(await store.listHeld(GUARD.id)).toEqual([]);
    const [queued] = await outbox.listMutations(GUARD.id);
    expect(queued.args).toMatchObject({ id: local.id, answers: { door: false, remark: 'wet floor' } });
    expect(queued.args.answers).not.toHaveProperty('shot');
  });

  it('goes straight to the outbox when the checklist has no photo', async () => {
    const local = await scans.recordScan(GUARD, SITE, reading, { answers: { door: true }, photos: [] });
    expect(await store.listHeld(GUARD.id)).toEqual([]);
    const [queued] = await outbox.listMutations(GUARD.id);
    expect(queued.args).toMatchObject({ id: local.id, answers: { door: true } });
  });
});
