// One parcel as a card: who it is for, the carrier and number, the shelf, its handling flags and
// where it stands (received, notified, picked up, returned; or still on this phone).
import { h } from '../../utils/dom.js';
import { formatTime } from '../../utils/format.js';
import { t } from '../../utils/i18n.js';

export const FLAGS = ['perishable', 'fragile', 'oversized'];
const STATUSES = ['received', 'notified', 'picked_up', 'returned'];

export function statusText(p) {
  if (p.state === 'waiting') return t('parcels.state_waiting');
  if (p.state === 'rejected') return t('parcels.state_rejected');
  return STATUSES.includes(p.status) ? t(`parcels.status.${p.status}`) : String(p.status || '');
}

export function flagBadges(p) {
  return FLAGS.filter((f) => p[f]).map((f) => h('span', { class: `badge badge-flag badge-${f}`, dataset: { flag: f }, text: t(`parcels.flag.${f}`) }));
}

/** Days a parcel has waited (whole days since it was received). */
export function waitedDays(p, now = Date.now()) {
  const at = Date.parse(p.received_at || p.client_time || '');
  return Number.isNaN(at) ? 0 : Math.max(0, Math.floor((now - at) / 86_400_000));
}

/** `extra`: nodes added at the end (actions); `onOpen`: the card's title opens the parcel. */
export function parcelCard(p, { timeZone, extra = [], onOpen = null, showRecipient = true } = {}) {
  const status = p.state || p.status;
  const title = showRecipient
    ? [p.unit_label || p.unit || '', p.recipient_name].filter(Boolean).join(' · ') || t('parcels.no_recipient')
    : p.carrier || t('parcels.parcel');
  return h(
    'li',
    { class: `card parcel parcel-${status}`, dataset: { parcel: String(p.id), status, tracking: p.tracking_number || '' } },
    h(
      'div',
      { class: 'card-main' },
      onOpen
        ? h('button', { class: 'card-title card-link', type: 'button', dataset: { action: 'open-parcel' }, text: title, onclick: onOpen })
        : h('p', { class: 'card-title', text: title }),
      h(
        'p',
        { class: 'badges' },
        h('span', {
          class: `badge ${status === 'rejected' ? 'badge-danger' : status === 'picked_up' ? 'badge-ok' : 'badge-accent'}`,
          dataset: { badge: 'status' },
          text: statusText(p),
        }),
        p.shelf ? h('span', { class: 'badge', dataset: { badge: 'shelf' }, text: t('parcels.shelf_badge', { shelf: p.shelf }) }) : null,
        flagBadges(p),
      ),
      showRecipient || !p.carrier
        ? h('p', { class: 'card-line', text: [p.carrier, p.tracking_number].filter(Boolean).join(' · ') || t('parcels.no_number') })
        : h('p', { class: 'card-line', text: p.tracking_number || t('parcels.no_number') }),
      h('p', { class: 'card-line muted', text: t('parcels.received_at', { time: formatTime(p.received_at || p.client_time, timeZone) }) }),
      p.note ? h('p', { class: 'card-line', text: p.note }) : null,
    ),
    extra,
  );
}
