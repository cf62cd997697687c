// Where a round stands for the guard walking it: the server's state of each checkpoint, with
// this phone's own scans laid over it until the server has answered (and its verdict after).
import { checkpointById, checkpointFor, tourById } from '../utils/plan.js';
import { lookupKey, scanCheckpoint } from '../utils/scans.js';

/** Fills in the checkpoint of queued scans that have no local record (after a sign-out). */
export async function resolveScans(plan, scans) {
  for (const s of scans) {
    if (s.answered || s.local_checkpoint_id != null || !s.reading) continue;
    const key = lookupKey(s.reading);
    const cp = key ? await checkpointFor(plan, ...key) : null;
    s.local_checkpoint_id = cp?.id ?? null;
  }
  return scans;
}

/** What this phone's scan says about a checkpoint: null, or a state the stop list can show. */
function localState(scan) {
  if (scan.state === 'waiting') return 'waiting';
  if (scan.state === 'refused') return 'refused';
  if (scan.verdict === 'valid' || scan.review === 'accepted') return 'done';
  if (scan.verdict === 'suspicious' && scan.review === 'pending') return 'review';
  return 'rejected'; // rejected outright, or rejected by the supervisor
}

/**
 * The stops of `round`, in tour order: {checkpoint, server (pending|done|late|missed), state
 * (what to show: done|late|missed|waiting|review|rejected|refused|not_counted|pending), scan}.
 */
export function stopStates(plan, round, scans) {
  return round.stops.map((stop) => {
    const checkpoint = checkpointById(plan, stop.checkpoint_id) || { id: stop.checkpoint_id, name: `#${stop.checkpoint_id}`, zone_name: '' };
    if (stop.status !== 'pending') return { checkpoint, server: stop.status, state: stop.status, scan: null, at: stop.at };
    // The newest of this phone's scans for this checkpoint in this round decides what is shown.
    const scan = scans.find((s) => s.round_id === round.id && scanCheckpoint(s) === stop.checkpoint_id);
    let state = scan ? localState(scan) : 'pending';
    // A plan fetched after the server judged the scan still has the stop pending: the scan did
    // not count for this round (out of order in a fixed tour, or another round took it).
    if (state === 'done' && Date.parse(plan.server_time) > Date.parse(scan.server_time)) state = 'not_counted';
    return { checkpoint, server: 'pending', state, scan, at: scan?.client_time ?? null };
  });
}

const TICKED = new Set(['done', 'late', 'waiting']);

/**
 * Progress, the next checkpoint(s) and "not before": {ticked, total, next: [stops], notBefore
 * (ms or null)}. A fixed-order tour names one next checkpoint; any order lists all remaining.
 */
export function roundSummary(plan, round, states) {
  const tour = tourById(plan, round.tour_id);
  const ticked = states.filter((s) => TICKED.has(s.state)).length;
  const open = states.filter((s) => !TICKED.has(s.state) && s.state !== 'missed' && s.state !== 'review');
  const next = tour?.order === 'fixed' ? open.slice(0, 1) : open;
  let notBefore = null;
  const spacing = (tour?.min_spacing_seconds || 0) * 1000;
  if (spacing && open.length) {
    const times = states.filter((s) => TICKED.has(s.state) && s.at).map((s) => Date.parse(s.at));
    if (times.length) notBefore = Math.max(...times) + spacing;
  }
  return { tour, ticked, total: states.length, next, notBefore };
}
