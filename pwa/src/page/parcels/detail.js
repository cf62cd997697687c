// One parcel (/parcels/<id>, where a notice opens): for its resident the pickup code in big
// letters; for staff where it stands and what happened to it, with hand-over and return.
import { NetworkError, api } from '../../utils/api.js';
import { h } from '../../utils/dom.js';
import { formatTime } from '../../utils/format.js';
import { t } from '../../utils/i18n.js';
import { errorLines } from '../../utils/messages.js';
import { flagBadges, statusText } from './card.js';
import { parcelHead, statusLine } from './head.js';
import { returnToSender } from './overdue.js';
import { keepParcel, keptParcel } from './store.js';

const WAITING = ['received', 'notified'];

export const parcelIdOf = (path) => /^\/parcels\/([0-9a-f-]{36})$/i.exec(path)?.[1] ?? null;

/** The pickup code as the resident shows it: big, spaced in two halves for reading aloud. */
export function codeBlock(code, testid = 'pickup-code') {
  return h(
    'p',
    { class: 'pickup-code', dataset: { testid, code }, 'aria-label': t('mine.code_label', { code: code.split('').join(' ') }) },
    h('span', { text: code.slice(0, 3) }),
    h('span', { text: code.slice(3) }),
  );
}

export function parcelDetailView(ctx) {
  const site = ctx.membership?.site;
  const me = ctx.me.user;
  const resident = ctx.membership?.role === 'resident';
  const id = parcelIdOf(location.pathname);
  const status = statusLine('parcel-status');
  const body = h('div', { class: 'parcel-detail', dataset: { testid: 'parcel-detail', parcel: id || '' } });
  const tz = site?.timezone;

  const row = (label, value) => (value ? h('div', { class: 'detail-row' }, h('dt', { text: label }), h('dd', { text: value })) : null);

  function render(p) {
    body.dataset.status = p.status;
    const waiting = WAITING.includes(p.status);
    const facts = h(
      'dl',
      { class: 'details' },
      row(t('parcels.recipient'), [p.unit_label, p.recipient_name].filter(Boolean).join(' · ')),
      row(t('parcels.carrier'), p.carrier),
      row(t('parcels.tracking_number'), p.tracking_number),
      row(t('parcels.shelf'), p.shelf),
      row(t('parcels.note'), p.note),
      row(t('parcels.status.received'), formatTime(p.received_at, tz)),
      row(t('parcels.status.notified'), p.notified_at ? formatTime(p.notified_at, tz) : ''),
      row(t('parcels.status.picked_up'), p.picked_up_at ? formatTime(p.picked_up_at, tz) : ''),
      row(t('parcels.collected_by'), p.collected_by_name),
      row(t('parcels.status.returned'), p.returned_at ? formatTime(p.returned_at, tz) : ''),
      row(t('parcels.return_reason'), p.return_reason),
    );
    const actions = [];
    if (resident) {
      if (waiting) actions.push(h('button', { class: 'btn btn-primary btn-block', type: 'button', dataset: { action: 'show-pass' }, text: t('mine.show_pass'), onclick: () => ctx.go('/my-parcels') }));
    } else if (waiting) {
      actions.push(
        h('button', { class: 'btn btn-primary btn-block', type: 'button', dataset: { action: 'go-pickup' }, text: t('pickup.title'), onclick: () => ctx.go('/parcels/pickup') }),
        h('button', {
          class: 'btn btn-danger btn-block',
          type: 'button',
          dataset: { action: 'return-parcel' },
          text: t('parcels.return_action'),
          onclick: async () => {
            const after = await returnToSender(ctx, p, status.say);
            if (after) render(after);
          },
        }),
      );
    }
    body.replaceChildren(
      h('p', { class: 'badges' }, h('span', { class: 'badge badge-accent', dataset: { badge: 'status' }, text: statusText(p) }), flagBadges(p)),
      resident && waiting && p.pickup_code ? h('p', { class: 'muted', text: t('mine.code_intro') }) : null,
      resident && waiting && p.pickup_code ? codeBlock(p.pickup_code) : null,
      facts,
      actions,
    );
  }

  async function load() {
    if (!id) {
      status.say('error', [t('parcels.not_found')]);
      return;
    }
    const kept = await keptParcel(me.id, id).catch(() => null);
    if (kept) render(kept);
    try {
      const p = await api.get(`/api/parcels/${id}`);
      await keepParcel(me.id, p).catch(() => {});
      render(p);
    } catch (err) {
      if (err instanceof NetworkError) {
        if (!kept) status.say('warn', [t('parcels.needs_network')]);
      } else status.say('error', errorLines(err));
    }
  }

  load();
  return h(
    'section',
    { class: 'page parcel-page', 'aria-labelledby': 'page-title' },
    parcelHead(ctx, t('parcels.parcel'), resident ? '/my-parcels' : '/parcels'),
    status.el,
    body,
  );
}
