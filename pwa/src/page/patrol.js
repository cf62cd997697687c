// The guard's patrol screen (phone, one hand, often no signal): today's rounds from the cached
// plan, the round being walked, scanning, and what the server said about each scan.
import { ApiError, NetworkError } from '../utils/api.js';
import { isOnline, offConnectivity, onConnectivity } from '../utils/connectivity.js';
import { h } from '../utils/dom.js';
import { formatClock, formatTime } from '../utils/format.js';
import { t } from '../utils/i18n.js';
import { errorLines } from '../utils/messages.js';
import { startWatching, stopWatching } from '../utils/geo.js';
import {
  LATE_GRACE_MS,
  cachedPlan,
  checkpointById,
  overlayRounds,
  queueRoundEnd,
  queueRoundStart,
  refreshPlan,
  roundActions,
  roundPhase,
  setWalkingRound,
  tourById,
  walkingRound,
} from '../utils/plan.js';
import { onMediaChange } from '../utils/media.js';
import { myScans, releaseRefusedScans, scanCheckpoint } from '../utils/scans.js';
import { onSyncChange } from '../utils/sync.js';
import { pageHead } from './page-head.js';
import { roundPanel } from './round-panel.js';
import { resolveScans, roundSummary, stopStates } from './round-progress.js';
import { scanActions } from './scan-actions.js';
import { textDialog } from './text-dialog.js';
import { methodText, reasonsLine, verdictBadge } from './verdict.js';

const TICK_MS = 15_000;
const PLAN_EVERY_MS = 60_000;
const LATER_SHOWN = 6;

export function patrolView(ctx) {
  const site = ctx.membership.site;
  const me = ctx.me.user;
  let plan = null; // as kept on the phone (the server's last word, and this phone's marks)
  let shown = null; // the same with the starts and ends still in the outbox laid over it
  let scans = [];
  let last = null; // {id, checkpoint, reading} of the scan just recorded here
  let fetching = null;

  const planStatus = h('p', { class: 'muted plan-status', dataset: { testid: 'plan-status' } });
  const status = h('div', { class: 'status', role: 'status', dataset: { testid: 'patrol-status' } });
  const result = h('div', { class: 'scan-result', 'aria-live': 'polite', dataset: { testid: 'scan-result' } });
  const panelSlot = h('div', { class: 'panel-slot' });
  const roundsSlot = h('div', { class: 'rounds-slot' });
  const recentSlot = h('div', { class: 'recent-slot' });
  const actionsSlot = h('div', { class: 'actions-slot' });

  function say(kind, lines) {
    status.className = `status notice notice-${kind}`;
    status.replaceChildren(...lines.map((line) => h('p', { text: line })));
  }

  const tz = () => plan?.timezone || site.timezone;
  const user = () => ({ id: me.id, name: me.display_name || me.username });
  const walkingId = () => walkingRound(me.id, site.id);

  /** The round being walked, if the plan still has it and it can still be walked. */
  function activeRound() {
    const id = walkingId();
    const round = id && shown?.rounds.find((r) => r.id === id);
    if (!round || roundPhase(round) === 'over') return null;
    return round;
  }

  const actions = scanActions(ctx, {
    plan: () => plan,
    // Named while a scan can still count for it (its window and the late grace): the server
    // judges by the scan's own time, even when the round closed before the phone synced.
    roundId: () => {
      const round = activeRound();
      return round && Date.now() < Date.parse(round.closes_at) + LATE_GRACE_MS ? round.id : null;
    },
    say,
    onRecorded(local, checkpoint, reading) {
      last = { id: local.id, checkpoint, reading };
      status.className = 'status';
      status.replaceChildren();
      draw();
    },
  });

  // --- what the last scan came to ----------------------------------------------------------

  function resultView() {
    if (!last) return null;
    const scan = scans.find((s) => s.id === last.id);
    const cp = (scan?.answered && checkpointById(plan, scan.checkpoint_id)) || last.checkpoint;
    const name = cp?.name || (last.reading.method === 'nfc_sun' ? t('scan.sun_tag') : t('scan.unknown_here'));
    const lines = [];
    let kind = 'ok';
    let state = scan?.state || 'waiting';
    if (!scan || scan.state === 'waiting') {
      lines.push(t(isOnline() ? 'scan.recorded_sending' : 'scan.recorded_offline', { name }));
      if (scan?.photos_held) lines.push(t('scan.photo_waiting'));
      if (!cp && last.reading.method !== 'nfc_sun') {
        lines.push(t('scan.not_in_plan'));
        kind = 'warn';
      }
    } else if (scan.state === 'refused') {
      lines.push(t('scan.refused', { name }));
      kind = 'error';
    } else {
      state = scan.verdict;
      lines.push(t(`scan.verdict.${scan.verdict}`, { name }));
      kind = scan.verdict === 'valid' ? 'ok' : scan.verdict === 'suspicious' ? 'warn' : 'error';
    }
    if (last.reading.method === 'manual') lines.push(t('scan.manual_marked'));
    return h(
      'div',
      { class: `notice notice-${kind}`, dataset: { scan: last.id, state } },
      lines.map((line) => h('p', { text: line })),
      scan?.answered ? reasonsLine(scan.reasons) : null,
    );
  }

  // --- rounds ------------------------------------------------------------------------------

  /** Starts a round at this moment: through the outbox, so it works without signal too. */
  async function start(round) {
    try {
      await queueRoundStart(user(), site.id, round);
    } catch (err) {
      console.error(err);
      say('error', [t('client.storage')]);
      return;
    }
    setWalkingRound(me.id, site.id, round.id);
    say('ok', [t(isOnline() ? 'patrol.started' : 'patrol.started_offline')]);
    plan = (await cachedPlan(site.id)) || plan;
    draw();
  }

  function walk(round) {
    setWalkingRound(me.id, site.id, round.id);
    status.className = 'status';
    draw();
  }

  async function end(round) {
    const reason = await textDialog({
      title: t('patrol.end_title'),
      body: t('patrol.end_body'),
      label: t('patrol.end_reason'),
      confirm: t('patrol.end_confirm'),
      multiline: true,
      testid: 'end-round',
    });
    if (!reason) return;
    try {
      await queueRoundEnd(user(), site.id, round, reason);
    } catch (err) {
      console.error(err);
      say('error', [t('client.storage')]);
      return;
    }
    setWalkingRound(me.id, site.id, null);
    say('ok', [t(isOnline() ? 'patrol.ended' : 'patrol.ended_offline')]);
    plan = (await cachedPlan(site.id)) || plan;
    draw();
  }

  function roundCard(round, now) {
    const tour = tourById(plan, round.tour_id);
    const states = stopStates(shown, round, scans);
    const sum = roundSummary(shown, round, states);
    const phase = roundPhase(round, now);
    const walking = walkingId() === round.id && phase !== 'over';
    const takenByOther = round.guard_id != null && round.guard_id !== me.id;
    let action = null;
    if (phase === 'open' && !walking && !takenByOther) {
      action =
        round.status === 'in_progress'
          ? h('button', { class: 'btn btn-primary', type: 'button', dataset: { action: 'continue' }, text: t('patrol.continue'), onclick: () => walk(round) })
          : h('button', { class: 'btn btn-primary', type: 'button', dataset: { action: 'start' }, text: t('patrol.start'), onclick: () => start(round) });
    }
    const badges = [];
    if (tour?.hotspot_zone_id != null) badges.push(h('span', { class: 'badge badge-accent', text: t('patrol.hotspot') }));
    if (walking) badges.push(h('span', { class: 'badge badge-ok', text: t('patrol.walking') }));
    else if (takenByOther) badges.push(h('span', { class: 'badge', text: t('patrol.taken') }));
    if (round.status === 'ended_early') badges.push(h('span', { class: 'badge badge-danger', text: t('patrol.ended_early') }));
    if (round.pending_start || round.pending_end) badges.push(h('span', { class: 'badge badge-accent', dataset: { testid: 'round-pending' }, text: t('stop.waiting') }));
    if (round.refused?.length) badges.push(h('span', { class: 'badge badge-danger', dataset: { testid: 'round-refused' }, text: t('patrol.round_refused') }));
    return h(
      'li',
      { class: `card round-card round-${phase}${takenByOther ? ' card-muted' : ''}`, dataset: { round: String(round.id), phase, status: round.status } },
      h(
        'div',
        { class: 'card-main' },
        h('p', { class: 'card-title', text: tour?.name || t('patrol.round') }),
        badges.length ? h('p', { class: 'badges' }, badges) : null,
        h('p', { class: 'card-line', text: t('patrol.window', { due: formatClock(round.due_at, tz()), closes: formatClock(round.closes_at, tz()) }) }),
        h('p', { class: 'card-line', text: t('patrol.progress', { done: sum.ticked, total: sum.total }) }),
      ),
      action,
    );
  }

  function roundsView(now) {
    if (!shown) return null;
    const rounds = shown.rounds;
    const open = rounds.filter((r) => roundPhase(r, now) === 'open');
    const later = rounds.filter((r) => roundPhase(r, now) === 'upcoming').slice(0, LATER_SHOWN);
    const earlier = rounds.filter((r) => roundPhase(r, now) === 'over' && (r.guard_id === me.id || r.done > 0)).slice(-5).reverse();
    const section = (key, list, testid) =>
      h(
        'section',
        { class: 'rounds', dataset: { testid } },
        h('h2', { class: 'subtitle', text: t(key) }),
        list.length ? h('ul', { class: 'cards' }, list.map((r) => roundCard(r, now))) : h('p', { class: 'muted', text: t('patrol.none') }),
      );
    return [section('patrol.now', open, 'rounds-now'), section('patrol.later', later, 'rounds-later'), earlier.length ? section('patrol.earlier', earlier, 'rounds-earlier') : null];
  }

  function recentView() {
    const recent = scans.slice(0, 5);
    if (!recent.length) return null;
    return h(
      'section',
      { class: 'recent', dataset: { testid: 'recent-scans' } },
      h('h2', { class: 'subtitle', text: t('patrol.recent') }),
      h(
        'ul',
        { class: 'cards' },
        recent.map((s) => {
          const cp = checkpointById(plan, scanCheckpoint(s));
          return h(
            'li',
            { class: 'card', dataset: { scan: s.id, state: s.state, verdict: s.verdict || '' } },
            h(
              'div',
              { class: 'card-main' },
              h('p', { class: 'card-title', text: cp?.name || (s.method === 'nfc_sun' ? t('scan.sun_tag') : t('scan.unknown_here')) }),
              h(
                'p',
                { class: 'badges' },
                h('span', { class: 'badge', text: methodText(s.method) }),
                s.state === 'answered'
                  ? verdictBadge(s)
                  : h('span', { class: `badge ${s.state === 'refused' ? 'badge-danger' : 'badge-accent'}`, text: t(s.state === 'refused' ? 'stop.refused' : 'stop.waiting') }),
              ),
              h('p', { class: 'card-line', text: formatTime(s.client_time, tz()) }),
              s.state === 'answered' ? reasonsLine(s.reasons) : null,
            ),
          );
        }),
      ),
    );
  }

  // --- drawing and refreshing --------------------------------------------------------------

  let drawing = null;
  let drawAgain = false;
  async function draw() {
    if (drawing) {
      drawAgain = true;
      return drawing;
    }
    drawing = (async () => {
      do {
        drawAgain = false;
        scans = await resolveScans(plan, await myScans(site.id, me.id));
        shown = overlayRounds(plan, await roundActions(me.id, site.id), me.id);
        const now = Date.now();
        if (plan) {
          const when = formatTime(plan.fetched_at, tz());
          planStatus.textContent = isOnline() ? t('patrol.plan_from', { time: when }) : t('patrol.plan_offline', { time: when });
        } else {
          planStatus.textContent = t(isOnline() ? 'common.loading' : 'patrol.no_plan');
        }
        result.replaceChildren(resultView() || '');
        const round = plan && activeRound();
        panelSlot.replaceChildren(
          round
            ? roundPanel(ctx, {
                plan: shown,
                round,
                scans,
                now,
                online: isOnline(),
                scan: actions,
                onStart: () => start(round),
                onEnd: () => end(round),
                onStop: () => {
                  setWalkingRound(me.id, site.id, null);
                  draw();
                },
              })
            : '',
        );
        // Scanning sits under the next checkpoint while a round is walked, else on its own.
        if (!round) actionsSlot.replaceChildren(actions);
        roundsSlot.replaceChildren(...[roundsView(now)].flat().filter(Boolean));
        recentSlot.replaceChildren(recentView() || '');
      } while (drawAgain);
    })().finally(() => {
      drawing = null;
    });
    return drawing;
  }

  /** Fetches the plan when online (not more than once at a time); keeps the cached one if not. */
  async function refresh(force = false) {
    if (fetching) return fetching;
    if (!force && plan && Date.now() - Date.parse(plan.fetched_at) < 5_000) return null;
    fetching = refreshPlan(site.id)
      .then((fresh) => {
        plan = fresh;
      })
      .catch((err) => {
        if (err instanceof ApiError && err.status !== 401) say('error', errorLines(err));
        else if (!(err instanceof NetworkError) && err?.status !== 401) console.warn('plan', err);
      })
      .finally(() => {
        fetching = null;
      });
    await fetching;
    return draw();
  }

  const view = h(
    'section',
    { class: 'page patrol', 'aria-labelledby': 'page-title' },
    pageHead(ctx, 'patrol.title'),
    planStatus,
    status,
    result,
    panelSlot,
    actionsSlot,
    roundsSlot,
    recentSlot,
  );

  // Redraw when the outbox or the server's answers change; fetch the plan again after a push.
  let planTimer = null;
  const offSync = onSyncChange((_, what) => {
    draw();
    if (what === 'pulled' && isOnline()) {
      clearTimeout(planTimer);
      planTimer = setTimeout(() => refresh(true), 300);
    }
  });
  // A checklist photo uploaded (the scan moves on) or refused (the scan is sent without it).
  const release = () =>
    releaseRefusedScans(me.id)
      .then((released) => released && say('warn', [t('scan.photo_refused')]))
      .catch((err) => console.warn('release scans', err))
      .finally(() => draw());
  const offMedia = onMediaChange(release);
  release();
  const onNet = (online) => (online ? refresh(true) : draw());
  onConnectivity(onNet);
  const ticker = setInterval(() => draw(), TICK_MS);
  const poller = setInterval(() => {
    if (isOnline() && document.visibilityState === 'visible') refresh(true);
  }, PLAN_EVERY_MS);
  view.addEventListener('leave', () => {
    offSync();
    offMedia();
    offConnectivity(onNet);
    clearInterval(ticker);
    clearInterval(poller);
    clearTimeout(planTimer);
    stopWatching();
  });
  startWatching();

  cachedPlan(site.id).then((cached) => {
    plan = plan || cached;
    draw();
    refresh(true);
  });
  return view;
}
