// The round the guard is walking: the next checkpoint (fixed order) or those left (any order),
// progress, the time left in the window, "not before" spacing, and ending early with a reason.
import { h } from '../utils/dom.js';
import { formatClock, formatSpan } from '../utils/format.js';
import { t } from '../utils/i18n.js';
import { reasonText } from './verdict.js';
import { roundSummary, stopStates } from './round-progress.js';

function tourTitle(tour) {
  if (!tour) return t('patrol.round');
  return tour.hotspot_zone_id != null ? t('patrol.hotspot_tour', { name: tour.name }) : tour.name;
}

function stopLine(stop, tz, fixed) {
  const cp = stop.checkpoint;
  const detail = [];
  if (stop.state === 'waiting') detail.push(t('stop.waiting'));
  else if (stop.state === 'review') detail.push(t('stop.review'));
  else if (stop.state === 'not_counted') detail.push(t(fixed ? 'stop.not_counted_fixed' : 'stop.not_counted'));
  else if (stop.state === 'rejected' || stop.state === 'refused') {
    detail.push(t(stop.state === 'refused' ? 'stop.refused' : 'stop.rejected'));
    for (const r of stop.scan?.reasons || []) detail.push(reasonText(r));
  } else if ((stop.state === 'done' || stop.state === 'late') && stop.at) {
    detail.push(formatClock(stop.at, tz));
  }
  return h(
    'li',
    { class: `stop stop-${stop.state}`, dataset: { checkpoint: String(cp.id), state: stop.state } },
    h('span', { class: 'stop-mark', 'aria-hidden': 'true' }),
    h(
      'span',
      { class: 'stop-text' },
      h('span', { class: 'stop-name', text: cp.name }),
      cp.zone_name ? h('span', { class: 'stop-zone', text: cp.zone_name }) : null,
      h('span', { class: 'stop-state', text: [t(`stop.state.${stop.state}`), ...detail.filter((d) => d !== t(`stop.state.${stop.state}`))].join(' · ') }),
    ),
  );
}

/**
 * `opts`: {plan, round (with this phone's unsent start and end laid over it: utils/plan.js
 * overlayRounds), scans, now, online, scan (the scan buttons, shown under the next
 * checkpoint), onStart(), onEnd(), onStop()}.
 */
export function roundPanel(ctx, { plan, round, scans, now, online, scan, onStart, onEnd, onStop }) {
  const tz = plan.timezone || ctx.membership.site.timezone;
  const states = stopStates(plan, round, scans);
  const sum = roundSummary(plan, round, states);
  const closes = Date.parse(round.closes_at);
  const left = closes - now;
  const started = round.status === 'in_progress';
  const complete = sum.ticked === sum.total;

  const nextBlock = complete
    ? h('p', { class: 'next-done', dataset: { testid: 'round-complete' }, text: t('patrol.all_done') })
    : h(
        'div',
        { class: 'next', dataset: { testid: 'next-checkpoints' } },
        h('p', { class: 'next-label', text: sum.tour?.order === 'fixed' ? t('patrol.next_fixed') : t('patrol.next_any') }),
        h(
          'ul',
          { class: 'next-list' },
          sum.next.map((s) =>
            h('li', { class: 'next-item', dataset: { checkpoint: String(s.checkpoint.id) } }, h('span', { class: 'next-name', text: s.checkpoint.name }), s.checkpoint.zone_name ? h('span', { class: 'stop-zone', text: s.checkpoint.zone_name }) : null),
          ),
        ),
      );

  const spacing =
    sum.notBefore && sum.notBefore > now && !complete
      ? h('p', { class: 'notice notice-warn not-before', dataset: { testid: 'not-before' }, text: t('patrol.not_before', { time: formatClock(new Date(sum.notBefore).toISOString(), tz), left: formatSpan(sum.notBefore - now) }) })
      : null;

  const windowLine =
    left > 0
      ? t('patrol.time_left', { left: formatSpan(left), closes: formatClock(round.closes_at, tz) })
      : t('patrol.window_closed', { closes: formatClock(round.closes_at, tz) });

  // Starting and ending go through the outbox like scans: the same with or without signal.
  const actions = [];
  if (!started && round.status === 'scheduled') {
    actions.push(h('button', { class: 'btn', type: 'button', dataset: { action: 'start-round' }, text: t('patrol.start'), onclick: onStart }));
  }
  if (started && round.guard_id === ctx.me.user.id) {
    actions.push(h('button', { class: 'btn btn-danger', type: 'button', dataset: { action: 'end-round' }, text: t('patrol.end_early'), onclick: onEnd }));
  }
  actions.push(h('button', { class: 'btn', type: 'button', dataset: { action: 'stop-walking' }, text: t('patrol.stop_walking'), onclick: onStop }));

  // Where the start stands: not yet, on this phone only, or refused by the server (why).
  let startLine = null;
  if (round.refused?.length) {
    startLine = h(
      'div',
      { class: 'notice notice-error', dataset: { testid: 'round-refused' } },
      round.refused.map((r) => h('p', { text: t(r.name === 'patrol.end_round' ? 'patrol.end_refused' : 'patrol.start_refused', { reason: r.message || r.code }) })),
    );
  } else if (!started) {
    startLine = h('p', { class: 'badge badge-accent not-started', text: t('patrol.not_started') });
  } else if (round.pending_start) {
    startLine = h('p', { class: 'badge badge-accent', dataset: { testid: 'start-pending' }, text: t(online ? 'patrol.start_sending' : 'patrol.start_on_phone') });
  }

  return h(
    'section',
    {
      class: `round-panel${complete ? ' round-complete' : ''}`,
      'aria-labelledby': 'round-title',
      dataset: { testid: 'round-panel', round: String(round.id), ticked: String(sum.ticked), total: String(sum.total), status: round.status },
    },
    h('h2', { id: 'round-title', class: 'subtitle round-title', text: tourTitle(sum.tour) }),
    h('p', { class: 'card-line', text: t('patrol.window', { due: formatClock(round.due_at, tz), closes: formatClock(round.closes_at, tz) }) }),
    h('p', { class: `round-left${left < 10 * 60_000 ? ' round-left-short' : ''}`, dataset: { testid: 'time-left' }, text: windowLine }),
    h('progress', { class: 'progress', max: String(Math.max(sum.total, 1)), value: String(sum.ticked), 'aria-label': t('patrol.progress_label') }),
    h('p', { class: 'progress-text', dataset: { testid: 'progress' }, text: t('patrol.progress', { done: sum.ticked, total: sum.total }) }),
    startLine,
    nextBlock,
    spacing,
    scan,
    h('ul', { class: 'stops', dataset: { testid: 'stops' } }, states.map((s) => stopLine(s, tz, sum.tour?.order === 'fixed'))),
    h('div', { class: 'card-actions' }, actions),
  );
}
