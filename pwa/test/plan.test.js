// The patrol plan on the phone (src/utils/plan.js): which checkpoint a code read offline belongs
// to, by the salted hashes the server sends; a round's phase; starts and ends laid over rounds.
import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';

let plan;

beforeEach(async () => {
  vi.resetModules();
  plan = await import('../src/utils/plan.js');
});

const SALT = '3f9c1a7e5b2d4c6e8f0a1b2c3d4e5f60';
const hash = (kind, identifier) => createHash('sha256').update(`${SALT}:${kind}:${identifier}`).digest('hex');

function patrolPlan() {
  return {
    salt: SALT,
    checkpoints: [
      { id: 11, name: 'B1 车库入口', zone_name: 'B1' },
      { id: 12, name: '1 号楼消防门', zone_name: '1-3' },
    ],
    // As the server writes them: QR codes upper case, NFC UIDs as 14 upper-case hex digits.
    tags: [
      { kind: 'qr', hash: hash('qr', 'AB12CD34EF'), checkpoint_id: 11 },
      { kind: 'nfc_uid', hash: hash('nfc_uid', '04A1B2C3D4E5F6'), checkpoint_id: 12 },
    ],
    rounds: [],
  };
}

describe('matching a code read offline', () => {
  it('finds the checkpoint of a QR code however the camera cased or padded it', async () => {
    const p = patrolPlan();
    expect((await plan.checkpointFor(p, 'qr', 'AB12CD34EF'))?.id).toBe(11);
    expect((await plan.checkpointFor(p, 'qr', '  ab12cd34ef\n'))?.id).toBe(11);
  });

  it('finds an NFC tag by its UID written the way Web NFC writes it', async () => {
    const p = patrolPlan();
    expect((await plan.checkpointFor(p, 'nfc_uid', '04:a1:b2:c3:d4:e5:f6'))?.id).toBe(12);
    expect(plan.normalize('nfc_uid', '04:a1:b2:c3:d4:e5:f6')).toBe('04A1B2C3D4E5F6');
  });

  it('knows nothing of an unknown code, a code under the other kind, or another day’s salt', async () => {
    const p = patrolPlan();
    expect(await plan.checkpointFor(p, 'qr', 'ZZ99')).toBeNull();
    expect(await plan.checkpointFor(p, 'nfc_uid', 'AB12CD34EF')).toBeNull();
    expect(await plan.checkpointFor({ ...p, salt: 'another-salt' }, 'qr', 'AB12CD34EF')).toBeNull();
    expect(await plan.checkpointFor(null, 'qr', 'AB12CD34EF')).toBeNull();
    expect(await plan.checkpointFor(p, 'qr', '')).toBeNull();
  });
});

describe('a round’s phase', () => {
  const round = (status = 'scheduled') => ({ status, due_at: '2026-11-24T02:00:00Z', closes_at: '2026-11-24T02:30:00Z' });
  const at = (iso) => Date.parse(iso);

  it('opens ten minutes before it is due and stays open through the late grace', () => {
    expect(plan.roundPhase(round(), at('2026-11-24T01:49:59Z'))).toBe('upcoming');
    expect(plan.roundPhase(round(), at('2026-11-24T01:50:00Z'))).toBe('open');
    expect(plan.roundPhase(round(), at('2026-11-24T02:44:59Z'))).toBe('open');
    expect(plan.roundPhase(round(), at('2026-11-24T02:45:00Z'))).toBe('over');
  });

  it('is over once closed or ended early, whatever the time', () => {
    expect(plan.roundPhase(round('closed'), at('2026-11-24T02:10:00Z'))).toBe('over');
    expect(plan.roundPhase(round('ended_early'), at('2026-11-24T02:10:00Z'))).toBe('over');
  });
});

describe('starts and ends still in the outbox', () => {
  const rounds = [
    { id: 1, status: 'scheduled', guard_id: null, end_reason: '' },
    { id: 2, status: 'in_progress', guard_id: 7, end_reason: '' },
    { id: 3, status: 'scheduled', guard_id: null, end_reason: '' },
  ];
  const action = (name, roundId, extra = {}) => ({ name, status: 'waiting', args: { round_id: roundId, site_id: 1, ...extra } });

  it('show a round started or ended on this phone until the server has it', () => {
    const p = { ...patrolPlan(), rounds };
    const shown = plan.overlayRounds(p, [action(plan.START_ROUND, 1), action(plan.END_ROUND, 2, { reason: '漏水 leak' })], 7);
    expect(shown.rounds[0]).toMatchObject({ status: 'in_progress', guard_id: 7, pending_start: true });
    expect(shown.rounds[1]).toMatchObject({ status: 'ended_early', end_reason: '漏水 leak', pending_end: true });
    expect(shown.rounds[2]).toBe(rounds[2]);
    expect(p.rounds).toBe(rounds); // the kept plan is left alone
    expect(rounds[0].status).toBe('scheduled');
  });

  it('take back what this phone marked when the server refused it, and say why', () => {
    const marked = { ...rounds[0], status: 'in_progress', guard_id: 7, marked: 'start' };
    const refused = { ...action(plan.START_ROUND, 1), status: 'rejected', code: 'invalid_state', message: 'Another guard walks it.' };
    const shown = plan.overlayRounds({ ...patrolPlan(), rounds: [marked] }, [refused], 7);
    expect(shown.rounds[0]).toMatchObject({ status: 'scheduled', guard_id: null });
    expect(shown.rounds[0].refused).toEqual([{ name: plan.START_ROUND, code: 'invalid_state', message: 'Another guard walks it.' }]);
  });

  it('do not start a round another guard walks', () => {
    const theirs = { id: 4, status: 'in_progress', guard_id: 9, end_reason: '' };
    const shown = plan.overlayRounds({ ...patrolPlan(), rounds: [theirs] }, [action(plan.START_ROUND, 4)], 7);
    expect(shown.rounds[0]).toMatchObject({ status: 'in_progress', guard_id: 9, pending_start: true });
  });
});

describe('queued through the outbox', () => {
  it('keeps the start on disk and marks the kept plan for a cold start offline', async () => {
    const db = await import('../src/utils/db.js');
    await (await db.db()).put('plans', { ...patrolPlan(), site_id: 1, rounds: [{ ...rounds0() }] });
    await plan.queueRoundStart({ id: 7, name: 'Wang' }, 1, { id: 1 });
    const [m] = await plan.roundActions(7, 1);
    expect(m).toMatchObject({ name: 'patrol.start_round', args: { round_id: 1, site_id: 1 }, status: 'waiting' });
    expect((await plan.cachedPlan(1)).rounds[0]).toMatchObject({ status: 'in_progress', guard_id: 7 });
    expect(await plan.roundActions(7, 2)).toEqual([]);
  });

  function rounds0() {
    return { id: 1, status: 'scheduled', guard_id: null, end_reason: '', due_at: '2026-11-24T02:00:00Z', closes_at: '2026-11-24T02:30:00Z', stops: [] };
  }
});
