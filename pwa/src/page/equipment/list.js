// Fire equipment for staff: every item of the site with what its beacon reports, filtered by
// zone, type, name and "needs attention"; an item opens its beacon's history. Admins register
// equipment here too.
import { api } from '../../utils/api.js';
import { h } from '../../utils/dom.js';
import { formatTime } from '../../utils/format.js';
import { t } from '../../utils/i18n.js';
import { errorLines } from '../../utils/messages.js';
import { pageHead } from '../page-head.js';
import { TYPES, beaconLine, canAcknowledge, stateBadges, whereLine } from './common.js';
import { registerForm } from './register-form.js';
import './equipment.css';

const PAGE = 100;

export function equipmentView(ctx) {
  const site = ctx.membership.site;
  const tz = site.timezone;
  const role = ctx.membership.role;
  let zones = [];
  let items = [];
  let total = 0;
  let asked = 0;
  const open = new Set(); // items whose history is shown

  const select = (name, options) =>
    h(
      'select',
      { id: `equipment-${name}`, name, class: 'input select', dataset: { filter: name } },
      h('option', { value: '', text: t('equipment.filter_any') }),
      options.map(([value, text]) => h('option', { value, text })),
    );
  const zone = select('zone_id', []);
  const type = select('type', TYPES.map((v) => [v, t(`equipment.type.${v}`)]));
  const q = h('input', { id: 'equipment-q', name: 'q', class: 'input', type: 'search', maxlength: 100, dataset: { filter: 'q' }, placeholder: t('equipment.search') });
  const alerting = h('input', { id: 'equipment-alerting', name: 'alerting', type: 'checkbox', dataset: { filter: 'alerting' } });
  const field = (control, key) => h('div', { class: 'field' }, h('label', { class: 'label', for: control.id, text: t(key) }), control);
  let typing = null;
  const filters = h(
    'form',
    {
      class: 'equipment-filters',
      dataset: { testid: 'equipment-filters' },
      onchange: () => load(),
      oninput: (e) => {
        if (e.target !== q) return;
        clearTimeout(typing);
        typing = setTimeout(load, 300);
      },
      onsubmit: (e) => {
        e.preventDefault();
        load();
      },
    },
    field(zone, 'equipment.zone'),
    field(type, 'equipment.type_label'),
    field(q, 'equipment.name'),
    h('label', { class: 'check-line', for: alerting.id }, alerting, h('span', { text: t('equipment.only_alerting') })),
  );

  const status = h('div', { class: 'status', role: 'status', dataset: { testid: 'equipment-status' } });
  const count = h('p', { class: 'muted', dataset: { testid: 'equipment-count' } });
  const list = h('ul', { class: 'cards', dataset: { testid: 'equipment-list' } });

  function say(kind, lines) {
    status.className = kind ? `status notice notice-${kind}` : 'status';
    status.replaceChildren(...lines.map((line) => h('p', { text: line })));
  }

  async function history(item, slot) {
    slot.replaceChildren(h('li', { text: t('common.loading') }));
    try {
      const events = await api.get(`/api/fire-equipment/${item.id}/history`);
      slot.replaceChildren(
        ...(events.length
          ? events.map((e) =>
              h('li', { dataset: { event: e.type }, text: `${formatTime(e.at, tz)} · ${t(`equipment.event.${e.type}`)}` }),
            )
          : [h('li', { text: t('equipment.no_history') })]),
      );
    } catch (err) {
      slot.replaceChildren(...errorLines(err).map((line) => h('li', { class: 'reason', text: line })));
    }
  }

  function card(item) {
    const slot = h('ul', { class: 'equipment-history', dataset: { testid: 'history' }, hidden: !open.has(item.id) });
    const toggle = h('button', {
      class: 'btn',
      type: 'button',
      dataset: { action: 'history' },
      'aria-expanded': String(open.has(item.id)),
      text: t('equipment.history'),
      onclick: () => {
        const show = !open.has(item.id);
        if (show) open.add(item.id);
        else open.delete(item.id);
        toggle.setAttribute('aria-expanded', String(show));
        slot.hidden = !show;
        if (show) history(item, slot);
      },
    });
    const actions = [toggle];
    if ((role === 'supervisor' || role === 'admin') && canAcknowledge(item)) {
      actions.push(
        h('button', {
          class: 'btn',
          type: 'button',
          dataset: { action: 'acknowledge' },
          text: t('equipment.acknowledge'),
          onclick: async (e) => {
            e.currentTarget.disabled = true;
            try {
              await api.post(`/api/fire-equipment/${item.id}/acknowledge`);
              await load();
            } catch (err) {
              say('error', errorLines(err));
            }
          },
        }),
      );
    }
    if (open.has(item.id)) history(item, slot);
    return h(
      'li',
      { class: `card${item.missing || item.tamper_at ? ' card-problem' : ''}${item.is_active ? '' : ' card-muted'}`, dataset: { equipment: String(item.id) } },
      h(
        'div',
        { class: 'card-main' },
        h('p', { class: 'card-title', text: item.name }),
        h('p', { class: 'card-line', text: whereLine(item, zones) }),
        stateBadges(item, tz),
        h('p', { class: 'card-line', text: beaconLine(item, tz) }),
      ),
      h('div', { class: 'card-actions' }, actions),
      slot,
    );
  }

  function draw() {
    count.textContent = t('equipment.count', { shown: items.length, total });
    list.replaceChildren(...(items.length ? items.map(card) : [h('li', { class: 'empty muted', text: t('equipment.none') })]));
  }

  async function load() {
    const params = new URLSearchParams({ limit: String(PAGE) });
    if (zone.value) params.set('zone_id', zone.value);
    if (type.value) params.set('type', type.value);
    if (q.value.trim()) params.set('q', q.value.trim());
    if (alerting.checked) params.set('alerting', 'true');
    const mine = ++asked;
    try {
      const page = await api.get(`/api/sites/${site.id}/fire-equipment?${params}`);
      if (mine !== asked) return; // a newer filter won
      items = page.items;
      total = page.total;
      say(null, []);
      draw();
    } catch (err) {
      if (mine === asked && err?.status !== 401) say('error', errorLines(err));
    }
  }

  async function loadZones() {
    try {
      zones = (await api.get(`/api/sites/${site.id}/zones?limit=200`)).items || [];
    } catch {
      zones = [];
    }
    const keep = zone.value;
    zone.replaceChildren(h('option', { value: '', text: t('equipment.filter_any') }), ...zones.map((z) => h('option', { value: String(z.id), text: z.name })));
    zone.value = keep;
    register?.setZones(zones);
  }

  const register = role === 'admin' ? registerForm(ctx, { onAdded: () => load() }) : null;
  const view = h(
    'section',
    { class: 'page equipment', 'aria-labelledby': 'page-title', dataset: { testid: 'equipment-page' } },
    pageHead(ctx, 'equipment.title'),
    filters,
    status,
    count,
    list,
    register ? register.el : null,
  );
  view.addEventListener('leave', () => clearTimeout(typing));
  loadZones().then(load);
  return view;
}
