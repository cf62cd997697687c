// Parcels waiting longer than the site's reminder time (oldest first): how long, how many
// reminders went out, and returning one to the sender with a reason.
import { NetworkError, api } from '../../utils/api.js';
import { h } from '../../utils/dom.js';
import { t } from '../../utils/i18n.js';
import { errorLines } from '../../utils/messages.js';
import { textDialog } from '../text-dialog.js';
import { parcelCard, waitedDays } from './card.js';
import { parcelHead, statusLine } from './head.js';
import { keepParcel } from './store.js';

/** Asks for the reason and returns `parcel` to its sender; resolves to the parcel after, or null. */
export async function returnToSender(ctx, parcel, say) {
  const reason = await textDialog({
    title: t('parcels.return_title'),
    body: t('parcels.return_body', { number: parcel.tracking_number || '—', unit: parcel.unit_label }),
    label: t('parcels.return_reason'),
    confirm: t('parcels.return_confirm'),
    maxlength: 255,
    testid: 'return-dialog',
    attrs: { name: 'reason' },
  });
  if (!reason) return null;
  try {
    const after = await api.post(`/api/parcels/${parcel.id}/return`, { reason });
    await keepParcel(ctx.me.user.id, after).catch(() => {});
    say('ok', [t('parcels.returned', { number: parcel.tracking_number || parcel.unit_label })]);
    return after;
  } catch (err) {
    say('error', err instanceof NetworkError ? [t('parcels.needs_network')] : errorLines(err));
    return null;
  }
}

export function overdueView(ctx) {
  const site = ctx.membership.site;
  const status = statusLine('overdue-status');
  const list = h('ul', { class: 'cards', dataset: { testid: 'overdue-parcels' } });

  function card(p) {
    const actions =
      p.status === 'received' || p.status === 'notified'
        ? h(
            'div',
            { class: 'card-actions' },
            h('button', {
              class: 'btn btn-danger',
              type: 'button',
              dataset: { action: 'return-parcel' },
              text: t('parcels.return_action'),
              onclick: async () => {
                const after = await returnToSender(ctx, p, status.say);
                if (after) el.replaceWith(card(after));
              },
            }),
          )
        : null;
    const el = parcelCard(p, { timeZone: site.timezone, onOpen: () => ctx.go(`/parcels/${p.id}`), extra: actions });
    el.querySelector('.card-main').append(
      h('p', { class: 'card-line overdue-line', text: t('parcels.waited', { days: waitedDays(p), reminders: p.reminders || 0 }) }),
    );
    return el;
  }

  async function load() {
    try {
      const page = await api.get(`/api/sites/${site.id}/parcels?overdue=true&limit=200`);
      const rows = page?.items || [];
      list.replaceChildren(...(rows.length ? rows.map(card) : [h('li', { class: 'empty muted', text: t('parcels.none_overdue') })]));
      if (page.total > rows.length) status.say('info', [t('parcels.more_overdue', { count: page.total - rows.length })]);
    } catch (err) {
      status.say('error', err instanceof NetworkError ? [t('parcels.needs_network')] : errorLines(err));
    }
  }

  load();
  return h(
    'section',
    { class: 'page parcels-overdue', 'aria-labelledby': 'page-title' },
    parcelHead(ctx, t('parcels.overdue_title')),
    h('p', { class: 'muted', text: t('parcels.overdue_intro') }),
    status.el,
    list,
  );
}
