// NTAG 424 taps that opened /n?e=…&c=… : kept in IndexedDB until someone on duty is signed in,
// then recorded as `nfc_sun` scans with the time of the tap.
import { db } from './db.js';
import { localIso } from './outbox.js';
import { sunParams } from './nfc.js';
import { cachedPlan, roundPhase, walkingRound } from './plan.js';
import { recordScan } from './scans.js';

const KEY = 'pending_taps';

/** Keeps the tap in `search` (location.search of /n); answers it, or null when it is no tap. */
export async function keepTap(search) {
  const sun = sunParams(`/n${search}`);
  if (!sun) return null;
  const tx = (await db()).transaction('meta', 'readwrite');
  const taps = (await tx.store.get(KEY)) || [];
  // A reload of the same page is the same tap, not a second one.
  if (!taps.some((x) => x.e === sun.e && x.c === sun.c)) taps.push({ ...sun, at: localIso() });
  await tx.store.put(taps, KEY);
  await tx.done;
  return sun;
}

export async function pendingTaps() {
  try {
    return (await (await db()).get('meta', KEY)) || [];
  } catch {
    return [];
  }
}

/** Records every kept tap as a scan by `me` at `siteId` and forgets them; answers the recorded. */
export async function recordPendingTaps(me, siteId) {
  const tx = (await db()).transaction('meta', 'readwrite');
  const taps = (await tx.store.get(KEY)) || [];
  if (taps.length) await tx.store.delete(KEY);
  await tx.done;
  const user = { id: me.id, name: me.display_name || me.username };
  // The round being walked, while its window is open (a scan naming a closed round is refused).
  const plan = await cachedPlan(siteId);
  const round = plan?.rounds.find((r) => r.id === walkingRound(me.id, siteId));
  const roundFor = (tap) => (round && roundPhase(round) !== 'over' && Date.parse(tap.at) < Date.parse(round.closes_at) ? round.id : null);
  const done = [];
  for (const [i, tap] of taps.entries()) {
    try {
      await recordScan(user, siteId, { method: 'nfc_sun', e: tap.e, c: tap.c }, { client_time: tap.at, round_id: roundFor(tap) });
      done.push(tap);
    } catch (err) {
      // Could not queue it (storage): put back what is left, so nothing is lost.
      const rest = taps.slice(i);
      const again = (await db()).transaction('meta', 'readwrite');
      await again.store.put([...rest, ...((await again.store.get(KEY)) || [])], KEY);
      await again.done;
      throw err;
    }
  }
  return done;
}
