// The patrol plan of a site, kept in IndexedDB so a guard patrols with no signal: checkpoints,
// tours, rounds around now, and each QR/NFC tag as a salted hash (never a printable code).
import { api } from './api.js';
import { db } from './db.js';
import { REJECTED, addMutation, listMutations } from './outbox.js';
import { getPref, setPref } from './prefs.js';
import { queued } from './sync.js';

/** The plan last fetched for `siteId` ({...plan, fetched_at}), or null. */
export async function cachedPlan(siteId) {
  try {
    return (await (await db()).get('plans', siteId)) ?? null;
  } catch {
    return null;
  }
}

/** Fetches the plan, keeps it, and answers it; rejects like api calls do (offline: NetworkError). */
export async function refreshPlan(siteId) {
  const plan = await api.get(`/api/sites/${siteId}/patrol-plan?hours_ahead=18`);
  const kept = { ...plan, site_id: siteId, fetched_at: new Date().toISOString() };
  const tx = (await db()).transaction(['plans', 'scans'], 'readwrite');
  await tx.objectStore('plans').put(kept);
  // The server's word on this guard's scans (verdicts, review decisions) replaces the phone's.
  const scans = tx.objectStore('scans');
  for (const scan of plan.my_scans || []) {
    const before = (await scans.get(String(scan.id))) || {};
    await scans.put({ ...before, ...scan, id: String(scan.id), user_id: before.user_id ?? scan.guard_id, answered: true });
  }
  await tx.done;
  return kept;
}

/** How the server writes an identifier of `kind` (docs/api.md, the patrol plan). */
export function normalize(kind, identifier) {
  const text = String(identifier || '').trim().toUpperCase();
  return kind === 'nfc_uid' ? text.replace(/[^0-9A-F]/g, '') : text;
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The checkpoint a QR code (`kind` 'qr') or NFC UID ('nfc_uid') belongs to, by its hash; or null. */
export async function checkpointFor(plan, kind, identifier) {
  if (!plan?.salt || !identifier) return null;
  const hash = await sha256Hex(`${plan.salt}:${kind}:${normalize(kind, identifier)}`);
  const tag = plan.tags.find((t) => t.kind === kind && t.hash === hash);
  return tag ? plan.checkpoints.find((cp) => cp.id === tag.checkpoint_id) || null : null;
}

export function checkpointById(plan, id) {
  return plan?.checkpoints.find((cp) => cp.id === id) || null;
}

export function tourById(plan, id) {
  return plan?.tours.find((tour) => tour.id === id) || null;
}

// A round may be started this long before it is due (backend: rounds.EARLY_START).
export const EARLY_START_MS = 10 * 60 * 1000;
// Scans this long after a round closes still count, as late (backend: rounds.LATE_GRACE).
export const LATE_GRACE_MS = 15 * 60 * 1000;

/** 'open' (can be walked now), 'upcoming', or 'over' for a round at time `now` (ms). */
export function roundPhase(round, now = Date.now()) {
  const due = Date.parse(round.due_at);
  const closes = Date.parse(round.closes_at);
  if (round.status === 'closed' || round.status === 'ended_early' || now >= closes + LATE_GRACE_MS) return 'over';
  if (now < due - EARLY_START_MS) return 'upcoming';
  return 'open';
}

/** The round this guard is walking at this site (chosen on this phone), or null. */
export function walkingRound(userId, siteId) {
  return Number(getPref(`walking.${userId}.${siteId}`)) || null;
}

export function setWalkingRound(userId, siteId, roundId) {
  setPref(`walking.${userId}.${siteId}`, roundId ?? null);
}

// --- starting and ending rounds through the outbox (docs/sync.md) ---------------------------

export const START_ROUND = 'patrol.start_round';
export const END_ROUND = 'patrol.end_round';
const ROUND_ACTIONS = new Set([START_ROUND, END_ROUND]);

/** Lays `change` over a round of the kept plan, so an offline cold start shows it as left. */
async function markRound(siteId, roundId, change) {
  const tx = (await db()).transaction('plans', 'readwrite');
  const plan = await tx.store.get(siteId);
  const round = plan?.rounds.find((r) => r.id === roundId);
  if (round) {
    Object.assign(round, change);
    await tx.store.put(plan);
  }
  await tx.done;
}

/**
 * Starts `round` for `user` ({id, name}) at this moment, the phone's time: queued in the outbox
 * (the server checks the time against the round's window) and marked in the kept plan.
 * Resolves once both are on disk.
 */
export async function queueRoundStart(user, siteId, round) {
  const entry = await addMutation(user, START_ROUND, { round_id: round.id, site_id: siteId });
  await markRound(siteId, round.id, { status: 'in_progress', guard_id: user.id, marked: 'start' });
  queued();
  return entry;
}

/** Ends `round` early with `reason`, like queueRoundStart. */
export async function queueRoundEnd(user, siteId, round, reason) {
  const entry = await addMutation(user, END_ROUND, { round_id: round.id, site_id: siteId, reason });
  await markRound(siteId, round.id, { status: 'ended_early', end_reason: reason, marked: 'end', was: round.status });
  queued();
  return entry;
}

/** This user's round starts and ends still in the outbox at a site, oldest first. */
export async function roundActions(userId, siteId) {
  const all = await listMutations(userId).catch(() => []);
  return all.filter((m) => ROUND_ACTIONS.has(m.name) && m.args?.site_id === siteId);
}

/**
 * The plan as this phone knows it: each round with the starts and ends waiting in the outbox
 * laid over the server's state (`pending_start` / `pending_end`: not sent yet), and those the
 * server refused named (`refused`: [{name, code, message}]; what this phone had marked for them
 * is taken back). Pure: `plan` is left alone.
 */
export function overlayRounds(plan, actions, userId) {
  if (!plan) return plan;
  const byRound = new Map();
  for (const m of actions) {
    const list = byRound.get(m.args.round_id) || [];
    list.push(m);
    byRound.set(m.args.round_id, list);
  }
  const rounds = plan.rounds.map((round) => {
    const mine = byRound.get(round.id);
    if (!mine) return round;
    const shown = { ...round, refused: [] };
    for (const m of mine) {
      if (m.status === REJECTED) {
        shown.refused.push({ name: m.name, code: m.code, message: m.message });
        if (m.name === START_ROUND && shown.marked === 'start') Object.assign(shown, { status: 'scheduled', guard_id: null, marked: null });
        if (m.name === END_ROUND && shown.marked === 'end') Object.assign(shown, { status: shown.was || 'in_progress', end_reason: '', marked: null });
      } else if (m.name === START_ROUND) {
        shown.pending_start = true;
        if (shown.status === 'scheduled' && shown.guard_id == null) Object.assign(shown, { status: 'in_progress', guard_id: userId });
      } else if (m.name === END_ROUND) {
        shown.pending_end = true;
        if (shown.status === 'in_progress' || shown.status === 'scheduled') Object.assign(shown, { status: 'ended_early', end_reason: m.args.reason });
      }
    }
    return shown;
  });
  return { ...plan, rounds };
}
