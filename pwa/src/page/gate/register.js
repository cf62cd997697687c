// Registering a visitor at the gate. The phone number comes first: a returning visitor is found
// by it (the server's answer, or the visitors this phone has seen when offline) and registered
// again with one tap on them and one on "register" — their last unit, purpose, headcount and
// plate come along. A new visitor's ID number is checked on the phone as it is typed (checksum
// and all) and then shown masked; plates are checked for mainland formats with a marked manual
// override. Saved on the phone first and sent through the outbox (`visitors.register`).
import { NetworkError, api } from '../../utils/api.js';
import { isOnline } from '../../utils/connectivity.js';
import { h, icon } from '../../utils/dom.js';
import { formatTime } from '../../utils/format.js';
import { ID_KINDS, IdError, maskId, validateDocument } from '../../utils/gate-identity.js';
import { PlateError, checkPlate } from '../../utils/gate-plates.js';
import { findKeptVisitors, keepLabel, keepVisitors, keepVisits } from '../../utils/gate-store.js';
import { t } from '../../utils/i18n.js';
import { addPhoto } from '../../utils/media.js';
import { ICONS } from '../icons.js';
import {
  ESCORT_PURPOSES,
  HOST_PURPOSES,
  PURPOSES,
  REGISTER,
  fieldText,
  gateHead,
  isManager,
  purposeText,
  queueGate,
  quiet,
  sender,
  siteGuards,
  siteUnits,
  statusLine,
} from './common.js';

const LOOKUP_DELAY_MS = 250;
const PHONE = /^\+?[0-9]{5,20}$/;
const compactPhone = (text) => String(text || '').replace(/[\s\-()]/g, '');

/** A labelled field; `hint` is a live line under it for instant feedback. */
function field(label, input, hint = null) {
  return h('div', { class: 'field' }, h('label', { class: 'label', for: input.id, text: label }), input, hint);
}

function feedback(id) {
  return h('p', { id, class: 'field-hint small', 'aria-live': 'polite', dataset: { testid: id } });
}

function say(hint, input, kind, text) {
  hint.textContent = text || '';
  hint.dataset.kind = kind || '';
  if (kind === 'error') input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

/**
 * The ID document fields: kind, number checked as it is typed, then shown masked. Returns
 * {el, read(): {id_kind, id_number} | {} | null (invalid), clear(), keptMask(text)}.
 */
export function idFields(prefix) {
  const kind = h('select', { id: `${prefix}-id-kind`, class: 'input select', name: 'id_kind' }, [
    h('option', { value: '', text: t('gate.id_none') }),
    ...ID_KINDS.map((k) => h('option', { value: k, text: t(`gate.id_kind.${k}`) })),
  ]);
  kind.value = 'resident_id';
  const number = h('input', {
    id: `${prefix}-id-number`,
    class: 'input',
    name: 'id_number',
    maxlength: 40,
    autocomplete: 'off',
    autocapitalize: 'characters',
    spellcheck: 'false',
    inputmode: 'text',
  });
  const hint = feedback(`${prefix}-id-hint`);
  const masked = h('span', { class: 'picked-text id-masked', dataset: { testid: 'id-masked' } });
  const chip = h(
    'div',
    { class: 'picked', hidden: true },
    masked,
    h('button', { class: 'btn', type: 'button', dataset: { action: 'change-id' }, text: t('gate.change'), onclick: () => reopen() }),
  );
  let value = ''; // the normalised number, kept here only: the screen shows it masked

  function check(final) {
    const text = number.value;
    if (!kind.value || !text.trim()) {
      say(hint, number, '', kind.value && final ? '' : '');
      return null;
    }
    try {
      const normal = validateDocument(kind.value, text);
      say(hint, number, 'ok', t('gate.id_ok'));
      return normal;
    } catch (err) {
      if (!(err instanceof IdError)) throw err;
      // While typing, only say what is already certain: a wrong character or a bad check digit.
      const complete = kind.value !== 'resident_id' || text.replace(/\s+/g, '').length >= 18;
      if (final || complete || err.code === 'bad_characters') say(hint, number, 'error', fieldText(`id_${err.code}`));
      else say(hint, number, '', '');
      return null;
    }
  }

  function seal() {
    const normal = check(true);
    if (!normal) return;
    value = normal;
    masked.textContent = `${t(`gate.id_kind.${kind.value}`)} ${maskId(normal)}`;
    number.value = '';
    number.hidden = true;
    chip.hidden = false;
    say(hint, number, 'ok', t('gate.id_ok'));
  }

  function reopen() {
    value = '';
    chip.hidden = true;
    number.hidden = false;
    number.value = '';
    say(hint, number, '', '');
    number.focus();
  }

  number.addEventListener('input', () => check(false));
  number.addEventListener('change', seal);
  kind.addEventListener('change', () => {
    if (value) reopen();
    else check(Boolean(number.value));
  });

  return {
    el: h('div', { class: 'field-pair id-fields' }, field(t('gate.id_kind_label'), kind), h('div', { class: 'field' }, h('label', { class: 'label', for: number.id, text: t('gate.id_number') }), number, chip, hint)),
    /** {} when no document was given, null when what was typed is wrong. */
    read() {
      if (!value && number.value.trim()) seal();
      if (!value && number.value.trim()) return null;
      if (!value) return {};
      return { id_kind: kind.value, id_number: value };
    },
    masked: () => (value ? maskId(value) : ''),
    clear: reopen,
    focus: () => number.focus(),
  };
}

/** The plate field with its override: {el, read(): {plate, plate_override} | null, set(v)}. */
export function plateField(prefix, { required = false } = {}) {
  const input = h('input', {
    id: `${prefix}-plate`,
    class: 'input plate-input',
    name: 'plate',
    maxlength: 20,
    autocomplete: 'off',
    autocapitalize: 'characters',
    spellcheck: 'false',
    placeholder: t('gate.plate_placeholder'),
  });
  const override = h('input', { type: 'checkbox', name: 'plate_override', dataset: { testid: `${prefix}-plate-override` } });
  const hint = feedback(`${prefix}-plate-hint`);

  function check(final) {
    try {
      const plate = checkPlate(input.value, override.checked);
      if (!plate && required && final) {
        say(hint, input, 'error', fieldText('plate_empty'));
        return null;
      }
      say(hint, input, plate ? 'ok' : '', plate ? (override.checked ? t('gate.plate_as_typed', { plate }) : t('gate.plate_ok', { plate })) : '');
      return { plate, plate_override: Boolean(plate) && override.checked };
    } catch (err) {
      if (!(err instanceof PlateError)) throw err;
      // While typing, only what more characters cannot mend: the province, the authority letter.
      const short = input.value.replace(/\s+/g, '').length < 7;
      if (final || !short || err.code !== 'bad_format') say(hint, input, 'error', fieldText(`plate_${err.code}`));
      else say(hint, input, '', '');
      return null;
    }
  }
  input.addEventListener('input', () => check(false));
  input.addEventListener('change', () => check(true));
  override.addEventListener('change', () => check(Boolean(input.value)));

  return {
    el: h(
      'div',
      { class: 'field' },
      h('label', { class: 'label', for: input.id, text: t('gate.plate') }),
      input,
      h('label', { class: 'choice-toggle toggle-fill plate-override' }, override, h('span', { text: t('gate.plate_override') })),
      hint,
    ),
    read: () => check(true),
    set(plate, overridden = false) {
      input.value = plate || '';
      override.checked = Boolean(overridden);
      check(false);
    },
    clear() {
      input.value = '';
      override.checked = false;
      say(hint, input, '', '');
    },
  };
}

/** A unit picked by its number (offline: the site's units kept on the phone). */
export function unitField(ctx, prefix) {
  let units = [];
  const input = h('input', { id: `${prefix}-unit`, class: 'input', name: 'host_unit', list: `${prefix}-units`, autocomplete: 'off', placeholder: t('gate.unit_placeholder') });
  const list = h('datalist', { id: `${prefix}-units` });
  const hint = feedback(`${prefix}-unit-hint`);
  const fill = (rows) => {
    units = rows;
    list.replaceChildren(...rows.map((u) => h('option', { value: u.label })));
  };
  siteUnits(ctx, fill).then((rows) => {
    if (!units.length) fill(rows);
  });
  const folded = (s) => String(s || '').normalize('NFKC').trim().toLowerCase();
  return {
    el: h('div', { class: 'field' }, h('label', { class: 'label', for: input.id, text: t('gate.host_unit') }), input, list, hint),
    /** {id, label} | undefined (nothing typed) | null (no such unit). */
    read() {
      if (!input.value.trim()) {
        say(hint, input, '', '');
        return undefined;
      }
      const unit = units.find((u) => folded(u.label) === folded(input.value));
      say(hint, input, unit ? '' : 'error', unit ? '' : fieldText('unknown_unit'));
      return unit || null;
    },
    set(label) {
      input.value = label || '';
      say(hint, input, '', '');
    },
    markRequired() {
      say(hint, input, 'error', fieldText('host_unit_required'));
    },
  };
}

export function registerView(ctx) {
  const site = ctx.membership.site;
  const me = sender(ctx);
  const status = statusLine('register-status');
  let picked = null; // a returning visitor (VisitorOut-like, as kept)
  let photo = null; // {sha256, url}
  let photoReady = Promise.resolve();
  let lookupTimer = null;
  let asked = 0;

  const phone = h('input', { id: 'visit-phone', class: 'input input-big', type: 'tel', name: 'phone', inputmode: 'tel', maxlength: 32, autocomplete: 'off', enterkeyhint: 'search' });
  const phoneHint = feedback('visit-phone-hint');
  const matches = h('ul', { class: 'picks', dataset: { testid: 'returning-visitors' }, 'aria-live': 'polite' });
  const pickedSummary = h('div', { class: 'returning', dataset: { testid: 'returning-picked' } });
  const confirmBtn = h('button', { class: 'btn btn-primary btn-block', type: 'submit', dataset: { action: 'confirm-returning' }, text: t('gate.register_again') });
  const pickedPanel = h(
    'div',
    { class: 'returning-panel', hidden: true },
    pickedSummary,
    confirmBtn,
    h('button', { class: 'btn btn-block', type: 'button', dataset: { action: 'not-them' }, text: t('gate.not_them'), onclick: () => unpick() }),
  );

  const name = h('input', { id: 'visit-name', class: 'input', name: 'name', maxlength: 120, autocomplete: 'off' });
  const ids = idFields('visit');
  const unit = unitField(ctx, 'visit');
  const purpose = h('select', { id: 'visit-purpose', class: 'input select', name: 'purpose' }, PURPOSES.map((p) => h('option', { value: p, text: purposeText(p) })));
  const headcount = h('input', { id: 'visit-headcount', class: 'input input-count', type: 'number', name: 'headcount', min: 1, max: 50, value: '1', inputmode: 'numeric' });
  const escort = h('select', { id: 'visit-escort', class: 'input select', name: 'escort_id' }, h('option', { value: String(me.id), text: t('gate.escort_me', { name: me.name }) }));
  const escortField = h('div', { class: 'field', hidden: true, dataset: { testid: 'escort-field' } }, h('label', { class: 'label', for: escort.id, text: t('gate.escort') }), escort);
  const plate = plateField('visit');
  const note = h('input', { id: 'visit-note', class: 'input', name: 'note', maxlength: 500, autocomplete: 'off' });
  const photoInput = h('input', { type: 'file', accept: 'image/*', capture: 'user', hidden: true, dataset: { testid: 'visitor-photo' } });
  const preview = h('img', { class: 'label-preview visitor-photo', hidden: true, alt: t('gate.photo'), dataset: { testid: 'visitor-photo-preview' } });
  const save = h('button', { class: 'btn btn-primary btn-block', type: 'submit', dataset: { action: 'save-visit' }, text: t('gate.save_visit') });

  function syncEscort() {
    escortField.hidden = !ESCORT_PURPOSES.has(purpose.value);
  }
  purpose.addEventListener('change', syncEscort);
  if (isManager(ctx)) {
    // Supervisors may name any guard of the site; a guard escorts the crews they let in.
    siteGuards(site.id)
      .then((rows) => {
        for (const g of rows) if (g.id !== me.id) escort.append(h('option', { value: String(g.id), text: g.name }));
      })
      .catch(quiet);
  }

  photoInput.addEventListener('change', () => {
    const file = photoInput.files?.[0];
    photoInput.value = '';
    if (!file) return;
    photoReady = addPhoto(file)
      .then((kept) => {
        photo = { sha256: kept.sha256, url: kept.url };
        preview.src = kept.url;
        preview.hidden = false;
      })
      .catch((err) => {
        console.warn('visitor photo', err);
        status.say('error', [t('gate.photo_unreadable')]);
      });
  });

  function showMatches(rows) {
    matches.replaceChildren(
      ...rows.map((v) =>
        h(
          'li',
          null,
          h(
            'button',
            { class: 'pick', type: 'button', dataset: { action: 'pick-visitor', visitor: String(v.visitor_id) }, onclick: () => pick(v) },
            h('span', { class: 'pick-unit', text: v.name }),
            h('span', { class: 'pick-name', text: [v.phone, v.id_masked, v.last_host_unit_label].filter(Boolean).join(' · ') }),
          ),
        ),
      ),
    );
  }

  async function lookup() {
    const number = compactPhone(phone.value);
    const n = ++asked;
    const local = await findKeptVisitors(me.id, site.id, number).catch(() => []);
    if (n !== asked) return;
    showMatches(local);
    if (!PHONE.test(number) || number.replace(/\D/g, '').length < 11) return;
    try {
      const rows = await api.get(`/api/sites/${site.id}/visitors?phone=${encodeURIComponent(number)}`);
      await keepVisitors(me.id, site.id, rows).catch(() => {});
      if (n !== asked) return;
      const merged = await findKeptVisitors(me.id, site.id, number);
      showMatches(merged);
      phoneHint.textContent = merged.length ? '' : t('gate.new_visitor');
    } catch (err) {
      if (n === asked && err instanceof NetworkError) phoneHint.textContent = local.length ? '' : t('gate.lookup_offline');
      else quiet(err);
    }
  }

  phone.addEventListener('input', () => {
    phoneHint.textContent = '';
    if (picked && compactPhone(phone.value) !== compactPhone(picked.phone)) unpick();
    clearTimeout(lookupTimer);
    lookupTimer = setTimeout(lookup, LOOKUP_DELAY_MS);
  });

  function pick(v) {
    picked = v;
    phone.value = v.phone;
    matches.replaceChildren();
    name.value = v.name || '';
    ids.clear();
    unit.set(v.last_host_unit_label);
    if (v.last_purpose) purpose.value = v.last_purpose;
    headcount.value = String(v.last_headcount || 1);
    plate.set(v.last_plate || '');
    syncEscort();
    pickedSummary.replaceChildren(
      h('p', { class: 'card-title', text: v.name }),
      h('p', { class: 'card-line', text: [v.id_masked, v.phone].filter(Boolean).join(' · ') }),
      h('p', {
        class: 'card-line',
        text: [v.last_host_unit_label, v.last_purpose ? purposeText(v.last_purpose) : '', v.last_headcount > 1 ? t('gate.headcount_n', { n: v.last_headcount }) : '', v.last_plate]
          .filter(Boolean)
          .join(' · '),
      }),
      v.last_visit_at ? h('p', { class: 'card-line muted', text: t('gate.last_visit', { time: formatTime(v.last_visit_at, site.timezone) }) }) : null,
    );
    pickedPanel.hidden = false;
    confirmBtn.focus();
  }

  function unpick() {
    picked = null;
    pickedPanel.hidden = true;
  }

  /** The registration's args, or null after saying what is wrong. */
  function read() {
    const problems = [];
    const number = compactPhone(phone.value);
    if (!picked) {
      if (!PHONE.test(number)) problems.push(t('gate.phone_required'));
      if (!name.value.trim()) problems.push(t('gate.name_required'));
    }
    const doc = ids.read();
    if (doc === null) problems.push(t('gate.id_wrong'));
    const host = unit.read();
    if (host === null) problems.push(fieldText('unknown_unit'));
    if (host === undefined && HOST_PURPOSES.has(purpose.value)) {
      unit.markRequired();
      problems.push(fieldText('host_unit_required'));
    }
    const car = plate.read();
    if (car === null) problems.push(t('gate.plate_wrong'));
    const count = Number(headcount.value || 1);
    if (!Number.isInteger(count) || count < 1 || count > 50) problems.push(t('gate.headcount_wrong'));
    if (problems.length) {
      status.say('error', problems);
      return null;
    }
    const args = {
      id: crypto.randomUUID(),
      site_id: site.id,
      purpose: purpose.value,
      headcount: count,
      note: note.value.trim(),
      ...doc,
    };
    if (picked) args.visitor_id = picked.visitor_id;
    if (name.value.trim()) args.name = name.value.trim();
    if (PHONE.test(number)) args.phone = number;
    if (host) args.host_unit_id = host.id;
    if (car?.plate) Object.assign(args, car);
    if (ESCORT_PURPOSES.has(purpose.value)) args.escort_id = Number(escort.value);
    if (photo) args.photo_sha256 = photo.sha256;
    return { args, label: { name: args.name || picked?.name || '', host_unit_label: host?.label || '', purpose: args.purpose, headcount: count, plate: car?.plate || null, id_masked: ids.masked() || picked?.id_masked || '' } };
  }

  async function onSubmit(event) {
    event.preventDefault();
    await photoReady;
    const made = read();
    if (!made) return;
    save.disabled = true;
    confirmBtn.disabled = true;
    try {
      await queueGate(ctx, REGISTER, made.args, photo ? [photo.sha256] : []);
      await keepLabel(me.id, made.args.id, made.label).catch(() => {});
      const online = isOnline();
      const who = made.label.name;
      ctx.go('/gate', { notice: { kind: 'ok', lines: () => [t(online ? 'gate.saved_sending' : 'gate.saved_offline', { name: who })] } });
    } catch (err) {
      console.error(err);
      status.say('error', [t('client.storage')]);
      save.disabled = false;
      confirmBtn.disabled = false;
    }
  }

  const view = h(
    'section',
    { class: 'page gate-register', 'aria-labelledby': 'page-title' },
    gateHead(ctx, t('gate.register_title')),
    h(
      'form',
      { class: 'form visit-form', novalidate: true, onsubmit: onSubmit },
      field(t('gate.phone'), phone, phoneHint),
      matches,
      pickedPanel,
      h(
        'fieldset',
        { class: 'visit-fields' },
        h('legend', { class: 'visually-hidden', text: t('gate.details') }),
        field(t('gate.name'), name),
        ids.el,
        unit.el,
        h('div', { class: 'field-pair' }, field(t('gate.purpose'), purpose), field(t('gate.headcount'), headcount)),
        escortField,
        plate.el,
        h(
          'button',
          { class: 'btn btn-block', type: 'button', dataset: { action: 'take-photo' }, onclick: () => photoInput.click() },
          icon(ICONS.photo),
          h('span', { text: t('gate.take_photo') }),
        ),
        photoInput,
        preview,
        field(t('gate.note'), note),
      ),
      save,
    ),
    status.el,
  );
  syncEscort();
  queueMicrotask(() => phone.focus());
  // Recent visitors are kept so that, offline, a returning one is still found by phone.
  api
    .get(`/api/sites/${site.id}/visits?limit=200`)
    .then((page) => keepVisits(me.id, site.id, page?.items || []))
    .catch(quiet);
  return view;
}
