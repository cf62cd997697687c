// Vehicles inside as the gate sees them: the server's open entries merged with the ones this
// phone recorded and has not sent, each as a card with its time in and duration, and "out".
import { h } from '../../utils/dom.js';
import { formatTime } from '../../utils/format.js';
import { t } from '../../utils/i18n.js';
import { VEHICLE_IN, VEHICLE_OUT, queueGate, refusedBlock, spanSince } from './common.js';

/** The cars inside: server rows (minus those leaving) and queued entries, newest first. */
export function carsInside(serverRows, queue) {
  const known = new Set(serverRows.map((e) => String(e.id)));
  const leaving = new Map(queue.filter((r) => r.name === VEHICLE_OUT).map((r) => [String(r.args.entry_id), r]));
  const queued = queue
    .filter((r) => r.name === VEHICLE_IN && !known.has(String(r.args.id)))
    .map((r) => ({ id: r.args.id, plate: r.args.plate, plate_override: r.args.plate_override, kind: '', unit_label: '', entered_at: r.args.client_time, note: r.args.note, row: r }));
  const rows = serverRows.filter((e) => !e.exited_at).map((e) => ({ ...e, row: leaving.get(String(e.id)) || null }));
  return [...queued, ...rows];
}

/** One car inside; its "out" records it leaving through the outbox, then `onChanged()`. */
export function entryCard(ctx, e, { timeZone, onChanged }) {
  const row = e.row;
  const queuedIn = row?.name === VEHICLE_IN;
  const state = row ? (row.state === 'rejected' ? 'rejected' : queuedIn ? 'waiting' : 'leaving') : 'inside';

  async function out() {
    await queueGate(ctx, VEHICLE_OUT, { entry_id: e.id, note: '' });
    onChanged?.();
  }

  return h(
    'li',
    { class: `card vehicle-entry${state === 'rejected' ? ' card-problem' : ''}`, dataset: { entry: String(e.id), plate: e.plate, state } },
    h(
      'div',
      { class: 'card-main' },
      h('p', { class: 'card-title plate-text', text: e.plate }),
      h(
        'p',
        { class: 'badges' },
        e.kind ? h('span', { class: `badge${e.kind === 'resident' ? ' badge-ok' : ''}`, dataset: { badge: 'kind' }, text: t(`gate.vehicle_kind.${e.kind}`) }) : null,
        e.plate_override ? h('span', { class: 'badge badge-accent', dataset: { badge: 'override' }, text: t('gate.plate_overridden') }) : null,
        state !== 'inside' ? h('span', { class: `badge ${state === 'rejected' ? 'badge-danger' : 'badge-accent'}`, dataset: { badge: 'state' }, text: t(`gate.state.${state}`) }) : null,
      ),
      e.unit_label || e.parking_spot ? h('p', { class: 'card-line', text: [e.unit_label, e.parking_spot].filter(Boolean).join(' · ') }) : null,
      h('p', {
        class: 'card-line muted',
        dataset: { testid: 'duration' },
        text: t('gate.vehicle_in_since', { time: formatTime(e.entered_at, timeZone), span: spanSince(e.entered_at) }),
      }),
      e.note ? h('p', { class: 'card-line', text: e.note }) : null,
      row?.state === 'rejected' ? refusedBlock(ctx, row) : null,
    ),
    // A car whose entry is still on the phone may leave too: the exit is sent after it.
    state === 'inside' || state === 'waiting'
      ? h('div', { class: 'card-actions' }, h('button', { class: 'btn', type: 'button', dataset: { action: 'vehicle-out' }, text: t('gate.vehicle_out'), onclick: out }))
      : null,
  );
}
