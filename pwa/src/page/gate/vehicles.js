// Vehicles at the gate: a car in by its plate (mainland formats checked, or the marked manual
// override), the cars inside with how long they have been in and "out", and the residents'
// registered vehicles searched by plate (kept on the phone for offline use).
import { NetworkError, api } from '../../utils/api.js';
import { isOnline } from '../../utils/connectivity.js';
import { h } from '../../utils/dom.js';
import { formatSpan, formatTime } from '../../utils/format.js';
import { normalisePlate } from '../../utils/gate-plates.js';
import { keepList, keepSummary, keptList, keptSummary } from '../../utils/gate-store.js';
import { t } from '../../utils/i18n.js';
import { onSyncChange } from '../../utils/sync.js';
import { VEHICLE_IN, fetchAll, gateHead, gateQueue, queueGate, quiet, statusLine } from './common.js';
import { carsInside, entryCard } from './entries.js';
import { plateField } from './register.js';

const TICK_MS = 30_000;

/** The site's registered vehicles: the kept copy, refreshed from the server when it answers. */
export async function registeredVehicles(ctx, onFresh) {
  const uid = ctx.me.user.id;
  const siteId = ctx.membership.site.id;
  const kept = await keptList(uid, 'vehicles', siteId).catch(() => []);
  fetchAll(`/api/sites/${siteId}/vehicles`, 5000)
    .then(async (rows) => {
      await keepList(uid, 'vehicles', siteId, rows).catch(() => {});
      onFresh?.(rows);
    })
    .catch(quiet);
  return kept;
}

export function vehiclesView(ctx) {
  const site = ctx.membership.site;
  const uid = ctx.me.user.id;
  const tz = site.timezone;
  const status = statusLine('vehicles-status');
  const plate = plateField('car', { required: true });
  const note = h('input', { id: 'car-note', class: 'input', name: 'note', maxlength: 500, autocomplete: 'off' });
  const insideTitle = h('h2', { class: 'subtitle' });
  const inside = h('ul', { class: 'cards', dataset: { testid: 'cars-inside' } });
  const search = h('input', { id: 'car-search', class: 'input', type: 'search', autocomplete: 'off', autocapitalize: 'characters', placeholder: t('gate.search_plate') });
  const found = h('ul', { class: 'cards', dataset: { testid: 'registered-vehicles' } });
  const gone = h('ul', { class: 'cards', dataset: { testid: 'cars-gone' } });
  let summary = null;
  let registered = [];

  async function draw() {
    const s = summary || { vehicles_in: [] };
    const cars = carsInside(s.vehicles_in, await gateQueue(ctx));
    insideTitle.textContent = t('gate.vehicles_in_title', { n: cars.length });
    inside.replaceChildren(...(cars.length ? cars.map((e) => entryCard(ctx, e, { timeZone: tz, onChanged: draw })) : [h('li', { class: 'empty muted', text: t('gate.no_vehicles_in') })]));
  }

  function drawFound() {
    const q = normalisePlate(search.value);
    if (!q) {
      found.replaceChildren();
      return;
    }
    const rows = registered.filter((v) => v.plate.includes(q) && v.is_active !== false).slice(0, 30);
    found.replaceChildren(
      ...(rows.length
        ? rows.map((v) =>
            h(
              'li',
              { class: 'card', dataset: { vehicle: String(v.id), plate: v.plate } },
              h(
                'div',
                { class: 'card-main' },
                h('p', { class: 'card-title plate-text', text: v.plate }),
                h('p', { class: 'card-line', text: [v.unit_label, v.parking_spot ? t('gate.spot', { spot: v.parking_spot }) : '', v.description].filter(Boolean).join(' · ') }),
                v.plate_override ? h('p', { class: 'badges' }, h('span', { class: 'badge badge-accent', text: t('gate.plate_overridden') })) : null,
              ),
            ),
          )
        : [h('li', { class: 'empty muted', text: t('gate.no_registered_match') })]),
    );
  }

  async function carIn(event) {
    event.preventDefault();
    const car = plate.read();
    if (!car?.plate) return;
    await queueGate(ctx, VEHICLE_IN, { id: crypto.randomUUID(), site_id: site.id, ...car, note: note.value.trim() });
    plate.clear();
    note.value = '';
    status.say('ok', [t(isOnline() ? 'gate.car_in_sending' : 'gate.car_in_offline', { plate: car.plate })]);
    draw();
  }

  function drawGone(rows) {
    gone.replaceChildren(
      ...(rows.length
        ? rows.map((e) =>
            h(
              'li',
              { class: 'card card-muted', dataset: { entry: String(e.id), plate: e.plate } },
              h(
                'div',
                { class: 'card-main' },
                h('p', { class: 'card-title plate-text', text: e.plate }),
                h('p', { class: 'card-line', dataset: { testid: 'stay' }, text: t('gate.vehicle_stay', { from: formatTime(e.entered_at, tz), until: formatTime(e.exited_at, tz), span: formatSpan((e.duration_seconds || 0) * 1000) }) }),
              ),
            ),
          )
        : [h('li', { class: 'empty muted', text: t('gate.none_gone') })]),
    );
  }

  async function refresh() {
    api
      .get(`/api/sites/${site.id}/vehicle-entries?inside=false&limit=10`)
      .then((page) => drawGone(page?.items || []))
      .catch(quiet);
    try {
      summary = await api.get(`/api/sites/${site.id}/gate`);
      await keepSummary(uid, site.id, summary).catch(() => {});
    } catch (err) {
      if (err instanceof NetworkError) {
        summary ??= await keptSummary(uid, site.id).catch(() => null);
        if (summary) status.say('warn', [t('gate.offline_copy', { time: formatTime(summary.kept_at, tz) })]);
      } else quiet(err);
    }
    draw();
  }

  const view = h(
    'section',
    { class: 'page gate-vehicles', 'aria-labelledby': 'page-title' },
    gateHead(ctx, t('gate.vehicles_title')),
    h('form', { class: 'form car-form', novalidate: true, onsubmit: carIn }, plate.el, h('div', { class: 'field' }, h('label', { class: 'label', for: note.id, text: t('gate.note') }), note), h('button', { class: 'btn btn-primary btn-block', type: 'submit', dataset: { action: 'car-in' }, text: t('gate.car_in') })),
    status.el,
    insideTitle,
    inside,
    h('h2', { class: 'subtitle', text: t('gate.gone_title') }),
    gone,
    h('h2', { class: 'subtitle', text: t('gate.registered_title') }),
    h('label', { class: 'visually-hidden', for: search.id, text: t('gate.search_plate') }),
    search,
    found,
  );
  search.addEventListener('input', drawFound);
  registeredVehicles(ctx, (rows) => {
    registered = rows;
    drawFound();
  }).then((rows) => {
    if (!registered.length) registered = rows;
    drawFound();
  });
  let again = null;
  const off = onSyncChange(() => {
    draw();
    clearTimeout(again);
    again = setTimeout(refresh, 400);
  });
  const timer = setInterval(draw, TICK_MS); // the durations keep counting
  view.addEventListener('leave', () => {
    off();
    clearInterval(timer);
    clearTimeout(again);
  });
  keptSummary(uid, site.id)
    .then((k) => {
      if (!summary && k) {
        summary = k;
        draw();
      }
    })
    .catch(() => {});
  refresh();
  return view;
}
