// Hotspots: a supervisor adds extra rounds over a zone for some days (after a complaint); they
// appear on the guards' schedule. Lists the hotspots still running.
import { api } from '../utils/api.js';
import { h } from '../utils/dom.js';
import { formatTime } from '../utils/format.js';
import { t } from '../utils/i18n.js';
import { errorLines } from '../utils/messages.js';

const EVERY = [30, 60, 120, 240];

/** `onAdded()` after a hotspot was made. Returns {el, render(tours, zones)}. */
export function hotspotForm(ctx, { onAdded }) {
  const site = ctx.membership.site;
  const zone = h('select', { id: 'hotspot-zone', name: 'zone_id', class: 'input select', required: true });
  const days = h('input', { id: 'hotspot-days', name: 'days', class: 'input', type: 'number', min: 1, max: 90, value: 3, inputmode: 'numeric' });
  const every = h('select', { id: 'hotspot-every', name: 'every_minutes', class: 'input select' }, EVERY.map((m) => h('option', { value: String(m), text: t('hotspot.every_option', { n: m }) })));
  every.value = '60';
  const note = h('input', { id: 'hotspot-note', name: 'note', class: 'input', maxlength: 200, placeholder: t('hotspot.note_placeholder') });
  const status = h('div', { class: 'status', role: 'status', dataset: { testid: 'hotspot-status' } });
  const list = h('ul', { class: 'cards hotspots', dataset: { testid: 'hotspots' } });
  let zones = [];

  function say(kind, lines) {
    status.className = `status notice notice-${kind}`;
    status.replaceChildren(...lines.map((line) => h('p', { text: line })));
  }

  async function submit(event) {
    event.preventDefault();
    const n = Number(days.value);
    if (!zone.value || !Number.isInteger(n) || n < 1 || n > 90) {
      say('error', [t('hotspot.invalid')]);
      return;
    }
    const button = event.target.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      await api.post(`/api/sites/${site.id}/hotspots`, { zone_id: Number(zone.value), days: n, every_minutes: Number(every.value), note: note.value.trim() });
      const name = zones.find((z) => String(z.id) === zone.value)?.name || '';
      say('ok', [t('hotspot.added', { zone: name, days: n })]);
      note.value = '';
      onAdded();
    } catch (err) {
      say('error', errorLines(err));
    } finally {
      button.disabled = false;
    }
  }

  const el = h(
    'div',
    { class: 'hotspot' },
    h(
      'form',
      { class: 'form hotspot-form', novalidate: true, onsubmit: submit },
      h('div', { class: 'field-pair' }, h('div', { class: 'field' }, h('label', { class: 'label', for: 'hotspot-zone', text: t('hotspot.zone') }), zone), h('div', { class: 'field' }, h('label', { class: 'label', for: 'hotspot-days', text: t('hotspot.days') }), days)),
      h('div', { class: 'field-pair' }, h('div', { class: 'field' }, h('label', { class: 'label', for: 'hotspot-every', text: t('hotspot.every') }), every), h('div', { class: 'field' }, h('label', { class: 'label', for: 'hotspot-note', text: t('hotspot.note') }), note)),
      h('button', { class: 'btn btn-primary btn-block', type: 'submit', dataset: { action: 'add-hotspot' }, text: t('hotspot.add') }),
    ),
    status,
    list,
  );

  return {
    el,
    render(tours, siteZones) {
      zones = siteZones.filter((z) => z.is_active !== false);
      const keep = zone.value;
      zone.replaceChildren(h('option', { value: '', text: t('hotspot.pick_zone') }), ...zones.map((z) => h('option', { value: String(z.id), text: z.name })));
      zone.value = zones.some((z) => String(z.id) === keep) ? keep : '';
      const now = Date.now();
      const running = tours.filter((tour) => tour.hotspot_zone_id != null && tour.is_active && (!tour.expires_at || Date.parse(tour.expires_at) > now));
      list.replaceChildren(
        ...(running.length
          ? running.map((tour) =>
              h(
                'li',
                { class: 'card', dataset: { tour: String(tour.id), zone: String(tour.hotspot_zone_id) } },
                h(
                  'div',
                  { class: 'card-main' },
                  h('p', { class: 'card-title', text: siteZones.find((z) => z.id === tour.hotspot_zone_id)?.name || tour.name }),
                  h('p', { class: 'card-line', text: t('hotspot.running', { n: tour.every_minutes, until: formatTime(tour.expires_at, site.timezone) }) }),
                ),
              ),
            )
          : [h('li', { class: 'empty muted', text: t('hotspot.none') })]),
      );
    },
  };
}
