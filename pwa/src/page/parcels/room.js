// The parcel room (快递室) for staff: what to do (receive, a courier's drop, hand over, overdue,
// shelf check) and the parcels waiting, the server's list merged with the ones still on this phone.
import { NetworkError, api } from '../../utils/api.js';
import { h, icon } from '../../utils/dom.js';
import { t } from '../../utils/i18n.js';
import { REJECTED, listMutations } from '../../utils/outbox.js';
import { onSyncChange } from '../../utils/sync.js';
import { ICONS } from '../icons.js';
import { parcelCard } from './card.js';
import { parcelHead, statusLine } from './head.js';
import { MUTATION } from './intake.js';
import { keepRoom, keptRoom } from './store.js';

const ACTIONS = [
  { id: 'intake', route: '/parcels/intake', icon: ICONS.photo },
  { id: 'batch', route: '/parcels/batch', icon: ICONS.qr },
  { id: 'pickup', route: '/parcels/pickup', icon: ICONS.parcels },
  { id: 'overdue', route: '/parcels/overdue', icon: ICONS.review_queue },
  { id: 'shelf_check', route: '/parcels/shelf-check', icon: ICONS.zones_units },
];

/** The waiting parcels of a site from the server (kept for offline); throws when unreachable. */
export async function fetchWaiting(userId, siteId) {
  const rows = [];
  for (let offset = 0; offset < 2000; offset += 200) {
    const page = await api.get(`/api/sites/${siteId}/parcels?status=waiting&limit=200&offset=${offset}`);
    rows.push(...(page?.items || []));
    if (offset + 200 >= (page?.total ?? 0)) break;
  }
  await keepRoom(userId, siteId, rows).catch(() => {});
  return rows;
}

const matches = (p, q) =>
  !q ||
  [p.unit_label, p.unit, p.recipient_name, p.tracking_number, p.shelf, p.carrier].some((v) =>
    String(v || '')
      .toLowerCase()
      .includes(q),
  );

export function roomView(ctx) {
  const site = ctx.membership.site;
  const me = ctx.me.user;
  const status = statusLine('room-status');
  const list = h('ul', { class: 'cards', dataset: { testid: 'waiting-parcels' }, 'aria-live': 'polite' });
  const search = h('input', { id: 'room-search', class: 'input', type: 'search', autocomplete: 'off', placeholder: t('parcels.search_placeholder') });
  let server = null; // the server's waiting list, or null until read

  async function draw() {
    const [kept, queuedRows] = await Promise.all([
      server ? Promise.resolve(server) : keptRoom(me.id, site.id).catch(() => []),
      listMutations(me.id).catch(() => []),
    ]);
    const known = new Set(kept.map((p) => String(p.id)));
    const mine = queuedRows
      .filter((m) => m.name === MUTATION && m.args?.site_id === site.id && !known.has(String(m.args.id)))
      .map((m) => ({ ...m.args, unit_label: m.args.unit || '', client_time: m.client_time, state: m.status === REJECTED ? 'rejected' : 'waiting' }));
    const q = search.value.trim().toLowerCase();
    const waiting = kept.filter((p) => p.status === 'received' || p.status === 'notified');
    const rows = [...mine, ...waiting].filter((p) => matches(p, q));
    list.replaceChildren(
      ...(rows.length
        ? rows.map((p) => parcelCard(p, { timeZone: site.timezone, onOpen: p.state ? () => ctx.go('/outbox') : () => ctx.go(`/parcels/${p.id}`) }))
        : [h('li', { class: 'empty muted', text: t('parcels.none_waiting') })]),
    );
  }

  const view = h(
    'section',
    { class: 'page parcels-room', 'aria-labelledby': 'page-title' },
    parcelHead(ctx, t('parcels.title'), '/home'),
    h('p', { class: 'muted', text: site.name }),
    h(
      'ul',
      { class: 'tiles tiles-compact' },
      ACTIONS.map((a) =>
        h(
          'li',
          null,
          h(
            'button',
            { class: 'tile', type: 'button', dataset: { tile: `parcels-${a.route.split('/').pop()}` }, onclick: () => ctx.go(a.route) },
            icon(a.icon, 'icon tile-icon'),
            h('span', { class: 'tile-label', text: t(`parcels.action.${a.id}`) }),
          ),
        ),
      ),
    ),
    h('h2', { class: 'subtitle', text: t('parcels.waiting_title') }),
    h('label', { class: 'visually-hidden', for: search.id, text: t('parcels.search_placeholder') }),
    search,
    status.el,
    list,
  );

  function refresh() {
    fetchWaiting(me.id, site.id)
      .then((rows) => {
        server = rows;
        status.clear();
        draw();
      })
      .catch((err) => {
        if (err instanceof NetworkError) status.say('warn', [t('parcels.offline_list')]);
        else if (err?.status !== 401) console.warn('parcels', err);
      });
  }

  // What the outbox sent is on the server now: read the list again (once per burst of changes).
  let again = null;
  search.addEventListener('input', () => draw());
  const off = onSyncChange(() => {
    if (!view.isConnected) {
      off();
      return;
    }
    draw();
    clearTimeout(again);
    again = setTimeout(refresh, 500);
  });
  draw();
  refresh();
  return view;
}
