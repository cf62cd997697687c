// The board's fire-equipment panel: what a beacon says needs a person now (missing, tampered
// with, low battery), kept live by the site's `equipment.alert` and `bridge.batch` events;
// supervisors acknowledge tamper and motion marks once someone has looked.
import { api } from '../../utils/api.js';
import { h } from '../../utils/dom.js';
import { t } from '../../utils/i18n.js';
import { errorLines } from '../../utils/messages.js';
import { alertsOf, beaconLine, canAcknowledge, stateBadges, whereLine } from './common.js';
import './equipment.css';

/** Returns {el, load(), onEvent(name, data), setZones(zones)}. */
export function equipmentPanel(ctx) {
  const site = ctx.membership.site;
  const tz = site.timezone;
  const list = h('ul', { class: 'cards equipment-alerts', dataset: { testid: 'equipment-alerts' } });
  const status = h('div', { class: 'status', role: 'status' });
  let items = [];
  let zones = [];
  let loading = null;
  let again = false;
  const fresh = new Set(); // items an event just named: highlighted until the next load

  function card(item) {
    const error = h('div', { class: 'reason', hidden: true });
    async function acknowledge(event) {
      const button = event.currentTarget;
      button.disabled = true;
      try {
        await api.post(`/api/fire-equipment/${item.id}/acknowledge`);
        await load();
      } catch (err) {
        error.hidden = false;
        error.replaceChildren(...errorLines(err).map((line) => h('p', { text: line })));
        button.disabled = false;
      }
    }
    const alerts = alertsOf(item);
    return h(
      'li',
      {
        class: `card equipment-card${alerts.some((a) => a.kind === 'missing' || a.kind === 'tamper') ? ' card-problem' : ''}${fresh.has(item.id) ? ' equipment-fresh' : ''}`,
        dataset: { equipment: String(item.id), alerts: alerts.map((a) => a.kind).join(' ') },
      },
      h(
        'div',
        { class: 'card-main' },
        h('p', { class: 'card-title', text: item.name }),
        h('p', { class: 'card-line', text: whereLine(item, zones) }),
        stateBadges(item, tz),
        h('p', { class: 'card-line', text: beaconLine(item, tz) }),
        error,
      ),
      canAcknowledge(item)
        ? h('div', { class: 'card-actions' }, h('button', { class: 'btn', type: 'button', dataset: { action: 'acknowledge' }, text: t('equipment.acknowledge'), onclick: acknowledge }))
        : null,
    );
  }

  function draw() {
    list.replaceChildren(...(items.length ? items.map(card) : [h('li', { class: 'empty muted', text: t('equipment.none_alerting') })]));
  }

  /** Fetches what needs attention; calls during a fetch make one more fetch after it. */
  async function load() {
    if (loading) {
      again = true;
      return loading;
    }
    loading = api
      .get(`/api/sites/${site.id}/fire-equipment?alerting=true&limit=200`)
      .then((page) => {
        items = page.items;
        status.className = 'status';
        status.replaceChildren();
        draw();
        fresh.clear();
      })
      .catch((err) => {
        if (err?.status === 401) return;
        status.className = 'status notice notice-warn';
        status.replaceChildren(...errorLines(err).map((line) => h('p', { text: line })));
      })
      .finally(() => {
        loading = null;
      });
    await loading;
    if (again) {
      again = false;
      return load();
    }
    return null;
  }

  return {
    el: h('div', { class: 'equipment-panel' }, status, list, h('a', { class: 'btn', href: '/equipment', dataset: { action: 'all-equipment' }, onclick: (e) => { e.preventDefault(); ctx.go('/equipment'); }, text: t('equipment.all') })),
    load,
    onEvent(name, data) {
      if (name === 'equipment.alert' && data?.equipment_id != null) fresh.add(data.equipment_id);
      if (name === 'equipment.alert' || name === 'bridge.batch') load();
    },
    setZones(siteZones) {
      zones = siteZones;
      draw();
    },
  };
}
