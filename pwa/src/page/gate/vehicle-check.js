// The overnight vehicle check as a walk-through: every registered car and every car inside on
// one list by parking spot; "fine" is one tap, a problem takes its kind, a note and photos (the
// backend tells the owner). Started, noted and finished through the outbox, so a car park
// without signal is no obstacle; the check being walked is kept on the phone.
import { NetworkError, api } from '../../utils/api.js';
import { h, icon } from '../../utils/dom.js';
import { formatTime } from '../../utils/format.js';
import { keepCheck, keptCheck, keptSummary } from '../../utils/gate-store.js';
import { t } from '../../utils/i18n.js';
import { MAX_PHOTOS, addPhoto } from '../../utils/media.js';
import { confirmDialog } from '../confirm-dialog.js';
import { ICONS } from '../icons.js';
import { CHECK_FINISH, CHECK_ITEM, CHECK_START, CONDITIONS, gateHead, queueGate, quiet, statusLine } from './common.js';
import { plateField } from './register.js';
import { registeredVehicles } from './vehicles.js';

const PROBLEMS = CONDITIONS.filter((c) => c !== 'ok');

/** Registered cars and cars inside, one row per plate, by parking spot then plate. */
function carsToCheck(registered, inside) {
  const rows = new Map();
  for (const v of registered) {
    if (v.is_active === false) continue;
    rows.set(v.plate, { plate: v.plate, plate_override: v.plate_override, parking_spot: v.parking_spot || '', unit_label: v.unit_label || '', kind: 'resident' });
  }
  for (const e of inside) {
    if (e.exited_at || rows.has(e.plate)) continue;
    rows.set(e.plate, { plate: e.plate, plate_override: e.plate_override, parking_spot: e.parking_spot || '', unit_label: e.unit_label || '', kind: 'visitor' });
  }
  return [...rows.values()].sort((a, b) => (a.parking_spot || '~').localeCompare(b.parking_spot || '~') || a.plate.localeCompare(b.plate));
}

export function vehicleCheckView(ctx) {
  const site = ctx.membership.site;
  const uid = ctx.me.user.id;
  const tz = site.timezone;
  const status = statusLine('check-status');
  const body = h('div', { class: 'vehicle-check', dataset: { testid: 'vehicle-check' } });
  let check = null; // {id, started_at, noted: {plate: condition}}
  let registered = [];
  let inside = [];

  async function start() {
    const id = crypto.randomUUID();
    await queueGate(ctx, CHECK_START, { id, site_id: site.id, note: '' });
    check = { id, started_at: new Date().toISOString(), noted: {} };
    await keepCheck(uid, site.id, check);
    draw();
  }

  async function note(car, condition, text = '', photos = []) {
    await queueGate(
      ctx,
      CHECK_ITEM,
      { id: crypto.randomUUID(), check_id: check.id, plate: car.plate, plate_override: Boolean(car.plate_override), parking_spot: car.parking_spot || '', condition, note: text, photos },
      photos,
    );
    check.noted[car.plate] = condition;
    await keepCheck(uid, site.id, check);
    status.say(condition === 'ok' ? 'ok' : 'warn', [t(condition === 'ok' ? 'gate.car_fine' : 'gate.car_problem_saved', { plate: car.plate })]);
    draw();
  }

  async function finish() {
    const left = carsToCheck(registered, inside).filter((c) => !check.noted[c.plate]).length;
    if (left) {
      const ok = await confirmDialog({ title: t('gate.finish_check_title'), body: t('gate.finish_check_left', { n: left }), confirm: t('gate.finish_check') });
      if (!ok) return;
    }
    await queueGate(ctx, CHECK_FINISH, { check_id: check.id, note: '' });
    const problems = Object.values(check.noted).filter((c) => c !== 'ok').length;
    const noted = Object.keys(check.noted).length;
    check = null;
    await keepCheck(uid, site.id, null);
    status.say('ok', [t('gate.check_finished', { n: noted, problems })]);
    draw();
  }

  /** The form for a problem with one car (kind, note, photos). */
  function problemForm(car, slot) {
    const photos = [];
    const condition = h('select', { class: 'input select', name: 'condition', 'aria-label': t('gate.condition') }, PROBLEMS.map((c) => h('option', { value: c, text: t(`gate.condition.${c}`) })));
    const text = h('textarea', { class: 'input textarea', name: 'note', rows: 2, maxlength: 500, 'aria-label': t('gate.note'), placeholder: t('gate.note') });
    const thumbs = h('div', { class: 'thumbs' });
    const file = h('input', { type: 'file', accept: 'image/*', capture: 'environment', hidden: true, dataset: { testid: 'car-photo' } });
    let reading = Promise.resolve();
    file.addEventListener('change', () => {
      const f = file.files?.[0];
      file.value = '';
      if (!f || photos.length >= MAX_PHOTOS) return;
      reading = addPhoto(f)
        .then((kept) => {
          photos.push(kept.sha256);
          thumbs.append(h('img', { class: 'thumb', src: kept.url, alt: t('gate.photo') }));
        })
        .catch(() => status.say('error', [t('gate.photo_unreadable')]));
    });
    slot.replaceChildren(
      h(
        'form',
        {
          class: 'form problem-form',
          novalidate: true,
          onsubmit: async (event) => {
            event.preventDefault();
            await reading;
            await note(car, condition.value, text.value.trim(), photos);
          },
        },
        condition,
        text,
        h('button', { class: 'btn', type: 'button', dataset: { action: 'car-photo' }, onclick: () => file.click() }, icon(ICONS.photo), h('span', { text: t('gate.take_photo') })),
        file,
        thumbs,
        h('div', { class: 'card-actions' }, h('button', { class: 'btn', type: 'button', text: t('common.cancel'), onclick: () => draw() }), h('button', { class: 'btn btn-primary', type: 'submit', dataset: { action: 'save-problem' }, text: t('gate.save_problem') })),
      ),
    );
    condition.focus();
  }

  function carRow(car) {
    const noted = check.noted[car.plate];
    const slot = h('div', { class: 'card-actions' });
    if (noted) {
      slot.append(h('span', { class: `badge ${noted === 'ok' ? 'badge-ok' : 'badge-danger'}`, dataset: { badge: 'condition' }, text: t(`gate.condition.${noted}`) }));
    } else {
      slot.append(
        h('button', { class: 'btn btn-primary', type: 'button', dataset: { action: 'car-ok' }, text: t('gate.car_ok'), onclick: () => note(car, 'ok') }),
        h('button', { class: 'btn btn-danger', type: 'button', dataset: { action: 'car-problem' }, text: t('gate.car_problem'), onclick: () => problemForm(car, slot) }),
      );
    }
    return h(
      'li',
      { class: `card car-row${noted && noted !== 'ok' ? ' card-problem' : ''}`, dataset: { plate: car.plate, noted: noted || '' } },
      h(
        'div',
        { class: 'card-main' },
        h('p', { class: 'card-title plate-text', text: car.plate }),
        h('p', { class: 'card-line', text: [car.parking_spot ? t('gate.spot', { spot: car.parking_spot }) : '', car.unit_label, t(`gate.vehicle_kind.${car.kind}`)].filter(Boolean).join(' · ') }),
      ),
      slot,
    );
  }

  function otherCar() {
    const plate = plateField('other-car', { required: true });
    const spot = h('input', { id: 'other-car-spot', class: 'input', maxlength: 32, autocomplete: 'off' });
    const slot = h('div', { class: 'card-actions' });
    const read = () => {
      const p = plate.read();
      return p?.plate ? { plate: p.plate, plate_override: p.plate_override, parking_spot: spot.value.trim() } : null;
    };
    slot.append(
      h('button', { class: 'btn', type: 'button', dataset: { action: 'other-ok' }, text: t('gate.car_ok'), onclick: () => read() && note(read(), 'ok') }),
      h('button', { class: 'btn btn-danger', type: 'button', dataset: { action: 'other-problem' }, text: t('gate.car_problem'), onclick: () => read() && problemForm(read(), slot) }),
    );
    return h(
      'details',
      { class: 'card other-car' },
      h('summary', { text: t('gate.another_car') }),
      plate.el,
      h('div', { class: 'field' }, h('label', { class: 'label', for: spot.id, text: t('gate.parking_spot') }), spot),
      slot,
    );
  }

  /** The last finished check as the server has it: each problem and whether its owner was told. */
  const last = h('div', { class: 'last-check', dataset: { testid: 'last-check' } });
  async function drawLast() {
    let latest;
    try {
      latest = (await api.get(`/api/sites/${site.id}/vehicle-checks?limit=1`))?.items?.[0];
    } catch (err) {
      if (!(err instanceof NetworkError)) quiet(err);
      return;
    }
    if (!latest) {
      last.replaceChildren();
      return;
    }
    const problems = latest.items.filter((i) => i.condition !== 'ok');
    last.replaceChildren(
      h('h2', { class: 'subtitle', text: t('gate.last_check', { time: formatTime(latest.started_at, tz), name: latest.guard_name }) }),
      h(
        'ul',
        { class: 'cards' },
        problems.length
          ? problems.map((i) =>
              h(
                'li',
                { class: 'card', dataset: { plate: i.plate, notice: i.owner_notice } },
                h(
                  'div',
                  { class: 'card-main' },
                  h('p', { class: 'card-title plate-text', text: i.plate }),
                  h('p', { class: 'card-line', text: [t(`gate.condition.${i.condition}`), i.note].filter(Boolean).join(' · ') }),
                  h('p', { class: 'badges' }, h('span', { class: `badge ${i.owner_notice === 'no_owner' ? 'badge-danger' : 'badge-ok'}`, dataset: { badge: 'notice' }, text: t(`gate.owner_notice.${i.owner_notice}`) })),
                ),
              ),
            )
          : [h('li', { class: 'empty muted', text: t('gate.no_problems') })],
      ),
    );
  }

  function draw() {
    if (!check) {
      body.replaceChildren(
        h('p', { class: 'muted', text: t('gate.check_intro') }),
        h('button', { class: 'btn btn-primary btn-block', type: 'button', dataset: { action: 'start-check' }, text: t('gate.start_check'), onclick: start }),
        last,
      );
      drawLast();
      return;
    }
    const cars = carsToCheck(registered, inside);
    const done = cars.filter((c) => check.noted[c.plate]).length;
    body.replaceChildren(
      h('p', { class: 'card-line', dataset: { testid: 'check-progress' }, text: t('gate.check_progress', { done, total: cars.length, time: formatTime(check.started_at, tz) }) }),
      h('ul', { class: 'cards', dataset: { testid: 'cars-to-check' } }, cars.map(carRow)),
      otherCar(),
      h('button', { class: 'btn btn-primary btn-block', type: 'button', dataset: { action: 'finish-check' }, text: t('gate.finish_check'), onclick: finish }),
    );
  }

  const view = h('section', { class: 'page gate-vehicle-check', 'aria-labelledby': 'page-title' }, gateHead(ctx, t('gate.vehicle_check_title')), status.el, body);

  (async () => {
    check = await keptCheck(uid, site.id).catch(() => null);
    registered = await registeredVehicles(ctx, (rows) => {
      registered = rows;
      draw();
    });
    inside = (await keptSummary(uid, site.id).catch(() => null))?.vehicles_in || [];
    draw();
    try {
      inside = (await api.get(`/api/sites/${site.id}/gate`)).vehicles_in;
      draw();
    } catch (err) {
      if (!(err instanceof NetworkError)) quiet(err);
    }
  })();
  return view;
}
