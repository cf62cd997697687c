// An admin registers fire equipment: name, type, zone, where exactly, and the beacon fixed to
// it (kind and id) so the bridges can watch it; or pairs the beacon later from a bridge.
import { api } from '../../utils/api.js';
import { h } from '../../utils/dom.js';
import { t } from '../../utils/i18n.js';
import { errorLines } from '../../utils/messages.js';
import { BEACON_KINDS, TYPES } from './common.js';

/** `onAdded(item)` once the server has it. Returns {el, setZones(zones)}. */
export function registerForm(ctx, { onAdded }) {
  const site = ctx.membership.site;
  const input = (name, attrs = {}) => h('input', { id: `register-${name}`, name, class: 'input', ...attrs });
  const name = input('name', { maxlength: 120, required: true, autocomplete: 'off' });
  const type = h('select', { id: 'register-type', name: 'type', class: 'input select' }, TYPES.map((v) => h('option', { value: v, text: t(`equipment.type.${v}`) })));
  const zone = h('select', { id: 'register-zone', name: 'zone_id', class: 'input select' });
  const location = input('location', { maxlength: 200, placeholder: t('equipment.location_hint') });
  const kind = h(
    'select',
    { id: 'register-beacon_kind', name: 'beacon_kind', class: 'input select' },
    h('option', { value: '', text: t('equipment.no_beacon') }),
    BEACON_KINDS.map((v) => h('option', { value: v, text: t(`beacon.kind.${v}`) })),
  );
  const ident = input('beacon_ident', { maxlength: 64, spellcheck: 'false', autocapitalize: 'off', placeholder: t('equipment.beacon_hint') });
  const status = h('div', { class: 'status', role: 'status', dataset: { testid: 'register-status' } });
  const field = (control, key) => h('div', { class: 'field' }, h('label', { class: 'label', for: control.id, text: t(key) }), control);

  function say(kind, lines) {
    status.className = `status notice notice-${kind}`;
    status.replaceChildren(...lines.map((line) => h('p', { text: line })));
  }

  async function submit(event) {
    event.preventDefault();
    if (!name.value.trim()) {
      say('error', [t('equipment.name_required')]);
      name.focus();
      return;
    }
    const body = { name: name.value.trim(), type: type.value, location: location.value.trim() };
    if (zone.value) body.zone_id = Number(zone.value);
    if (kind.value || ident.value.trim()) {
      body.beacon_kind = kind.value || null;
      body.beacon_ident = ident.value.trim() || null;
    }
    const button = event.target.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const item = await api.post(`/api/sites/${site.id}/fire-equipment`, body);
      say('ok', [t('equipment.registered', { name: item.name })]);
      name.value = '';
      location.value = '';
      ident.value = '';
      onAdded(item);
    } catch (err) {
      say('error', errorLines(err));
    } finally {
      button.disabled = false;
    }
  }

  const el = h(
    'section',
    { class: 'equipment-register', 'aria-labelledby': 'register-title' },
    h('h2', { class: 'subtitle', id: 'register-title', text: t('equipment.register') }),
    h(
      'form',
      { class: 'form', novalidate: true, dataset: { testid: 'register-equipment' }, onsubmit: submit },
      h('div', { class: 'field-pair' }, field(name, 'equipment.name'), field(type, 'equipment.type_label')),
      h('div', { class: 'field-pair' }, field(zone, 'equipment.zone'), field(location, 'equipment.location')),
      h('div', { class: 'field-pair' }, field(kind, 'equipment.beacon_kind'), field(ident, 'equipment.beacon_ident')),
      h('button', { class: 'btn btn-primary btn-block', type: 'submit', dataset: { action: 'register' }, text: t('equipment.register_button') }),
    ),
    status,
  );

  return {
    el,
    setZones(zones) {
      zone.replaceChildren(h('option', { value: '', text: t('equipment.no_zone') }), ...zones.filter((z) => z.is_active !== false).map((z) => h('option', { value: String(z.id), text: z.name })));
    },
  };
}
