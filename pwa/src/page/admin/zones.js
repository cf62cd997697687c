// Zones and units of the admin's current site: list them, add, rename or renumber, deactivate
// (after a confirmation) and reactivate. A community has hundreds of units, so units are searched
// and paged on the server. Admin work is online only (nothing here is kept on the phone or
// synced): offline the screen says so and sends nothing.
import { ApiError, NetworkError, api, request } from '../../utils/api.js';
import { isOnline, offConnectivity, onConnectivity } from '../../utils/connectivity.js';
import { h } from '../../utils/dom.js';
import { has, t } from '../../utils/i18n.js';
import { errorLines } from '../../utils/messages.js';
import { confirmDialog } from '../confirm-dialog.js';
import { pageHead } from '../page-head.js';

// backend/models/organizations.py ZoneKind, in the order the server lists them.
export const ZONE_KINDS = ['area', 'building', 'floor', 'car_park', 'gate', 'other'];
const PAGE = 50;
const ZONES_PAGE = 200; // the server's largest page; a site has few zones

/** The text for one field the server refused: our catalog's, else the server's own message. */
function fieldMessage(f, input) {
  // An empty name is "too short (at least 1 characters)" to the server: say it plainly.
  if (f.code === 'string_too_short' && input && !input.value.trim()) return t('field.missing');
  const ours = has(`field.${f.code}`) ? t(`field.${f.code}`) : '';
  return ours && !/\{\w+\}/.test(ours) ? ours : f.message || ours || t('field.invalid');
}

/** A labelled control with its own error line under it (shown next to the field it is about). */
function field(control, label) {
  const error = h('p', { id: `${control.id}-error`, class: 'field-error', hidden: true, dataset: { errorFor: control.name } });
  control.setAttribute('aria-describedby', error.id);
  return {
    control,
    error,
    el: h('div', { class: 'field' }, h('label', { class: 'label', for: control.id, text: label }), control, error),
  };
}

/**
 * A form sending one request: its fields show the server's refusals next to them, anything
 * else goes to the form's own error box. `uniqueField` is the field a duplicate_name is about.
 */
function apiForm({ testid, fields, uniqueField, uniqueKey, actions, send, onDone, className = '' }) {
  const problems = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const byName = new Map(fields.map((f) => [f.control.name, f]));
  const submit = actions.find((b) => b.type === 'submit');

  function clear() {
    problems.hidden = true;
    problems.replaceChildren();
    for (const f of fields) {
      f.error.hidden = true;
      f.error.textContent = '';
      f.control.removeAttribute('aria-invalid');
    }
  }

  function markField(f, message) {
    f.error.textContent = message;
    f.error.hidden = false;
    f.control.setAttribute('aria-invalid', 'true');
  }

  function show(err) {
    const lines = [];
    let first = null;
    if (err instanceof NetworkError) {
      lines.push(t('admin_zones.offline'));
    } else if (err instanceof ApiError && err.code === 'duplicate_name' && byName.has(uniqueField)) {
      first = byName.get(uniqueField);
      markField(first, t(uniqueKey));
    } else if (err instanceof ApiError && Array.isArray(err.details.fields)) {
      for (const bad of err.details.fields) {
        const f = byName.get(String(bad.field));
        if (f) {
          markField(f, fieldMessage(bad, f.control));
          first ||= f;
        } else {
          lines.push(...errorLines(new ApiError(err.status, err.code, err.message, { fields: [bad] })).slice(1));
        }
      }
      if (!first && !lines.length) lines.push(...errorLines(err));
    } else {
      lines.push(...errorLines(err));
    }
    if (lines.length) {
      problems.replaceChildren(...lines.map((line) => h('p', { text: line })));
      problems.hidden = false;
    }
    first?.control.focus();
  }

  const form = h(
    'form',
    { class: `form admin-zones-form ${className}`.trim(), novalidate: true, dataset: { testid } },
    fields.map((f) => f.el),
    h('div', { class: 'admin-zones-actions' }, actions),
    problems,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clear();
    if (!isOnline()) {
      show(new NetworkError());
      return;
    }
    if (submit) submit.disabled = true;
    try {
      const answer = await send();
      await onDone(answer);
    } catch (err) {
      show(err);
    } finally {
      if (submit) submit.disabled = false;
    }
  });
  return { el: form, clear, show };
}

function kindSelect(id, value) {
  return h(
    'select',
    { id, name: 'kind', class: 'input select' },
    ZONE_KINDS.map((k) => h('option', { value: k, selected: k === value, text: t(`admin_zones.kind.${k}`) })),
  );
}

function button(text, action, attrs = {}) {
  return h('button', { class: 'btn', type: 'button', dataset: { action }, text, ...attrs });
}

export function zonesAdminView(ctx) {
  const site = ctx.membership.site;
  let zones = []; // every zone of the site, deactivated ones too
  let units = [];
  let unitTotal = 0;
  let offset = 0;
  let asked = 0;
  let typing = null;

  const status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite', dataset: { testid: 'admin-zones-status' } });
  function say(kind, lines) {
    status.className = kind ? `status notice notice-${kind}` : 'status';
    status.replaceChildren(...[].concat(lines).map((line) => h('p', { text: line })));
  }

  // --- offline ---------------------------------------------------------------------------
  const offline = h(
    'div',
    { class: 'notice notice-warn admin-zones-offline', role: 'status', hidden: isOnline(), dataset: { testid: 'admin-zones-offline' } },
    h('p', { text: t('admin_zones.offline') }),
    h('button', { class: 'btn', type: 'button', dataset: { action: 'retry' }, text: t('common.retry'), onclick: () => reload() }),
  );
  const connectivity = (online) => {
    offline.hidden = online;
    if (online) reload();
  };
  onConnectivity(connectivity);

  /** A failed load: offline shows the banner; anything else its lines. */
  function loadFailed(err) {
    if (err instanceof NetworkError) offline.hidden = false;
    else if (err?.status !== 401) say('error', errorLines(err));
  }

  async function patch(path, body) {
    if (!isOnline()) throw new NetworkError();
    return request('PATCH', path, { body });
  }

  // --- zones -----------------------------------------------------------------------------
  const zoneList = h('ul', { class: 'cards admin-zones-list', dataset: { testid: 'zones' } });
  const zoneName = (id) => zones.find((z) => z.id === id)?.name;

  function zoneCard(z) {
    const li = h('li', { class: `card${z.is_active ? '' : ' card-muted'}`, dataset: { zone: String(z.id) } });
    const show = () =>
      li.replaceChildren(
        h(
          'div',
          { class: 'card-main' },
          h('p', { class: 'card-title', text: z.name }),
          h(
            'p',
            { class: 'badges' },
            h('span', { class: 'badge', text: t(`admin_zones.kind.${z.kind}`) }),
            z.is_active ? null : h('span', { class: 'badge badge-danger', text: t('admin_zones.inactive') }),
          ),
        ),
        h(
          'div',
          { class: 'card-actions' },
          button(t('admin_zones.edit'), 'edit', { onclick: edit }),
          z.is_active
            ? button(t('admin_zones.deactivate'), 'deactivate', { onclick: deactivate })
            : button(t('admin_zones.reactivate'), 'reactivate', { onclick: reactivate }),
        ),
      );
    function edit() {
      const name = field(h('input', { id: `zone-${z.id}-name`, name: 'name', class: 'input', maxlength: 120, autocomplete: 'off', value: z.name }), t('admin_zones.zone_name'));
      const kind = field(kindSelect(`zone-${z.id}-kind`, z.kind), t('admin_zones.zone_kind'));
      const form = apiForm({
        testid: 'edit-zone',
        fields: [name, kind],
        uniqueField: 'name',
        uniqueKey: 'admin_zones.zone_name_taken',
        actions: [
          h('button', { class: 'btn btn-primary', type: 'submit', dataset: { action: 'save' }, text: t('admin_zones.save') }),
          button(t('common.cancel'), 'cancel', { onclick: show }),
        ],
        send: () => patch(`/api/zones/${z.id}`, { name: name.control.value, kind: kind.control.value }),
        onDone: async (saved) => {
          say('ok', [t('admin_zones.zone_saved', { name: saved.name })]);
          await reload();
        },
      });
      li.replaceChildren(form.el);
      name.control.focus();
    }
    async function deactivate() {
      const ok = await confirmDialog({
        title: t('admin_zones.deactivate_zone_title', { name: z.name }),
        body: t('admin_zones.deactivate_zone_body'),
        confirm: t('admin_zones.deactivate'),
        danger: true,
      });
      if (ok) await setActive(`/api/zones/${z.id}`, false, t('admin_zones.zone_deactivated', { name: z.name }));
    }
    async function reactivate() {
      await setActive(`/api/zones/${z.id}`, true, t('admin_zones.zone_reactivated', { name: z.name }));
    }
    show();
    return li;
  }

  function drawZones() {
    zoneList.replaceChildren(...(zones.length ? zones.map(zoneCard) : [h('li', { class: 'empty muted', text: t('admin_zones.no_zones') })]));
    fillZoneSelect(newUnitZone.control, newUnitZone.control.value);
  }

  async function loadZones() {
    const all = [];
    for (let from = 0; ; from += ZONES_PAGE) {
      const page = await api.get(`/api/sites/${site.id}/zones?limit=${ZONES_PAGE}&offset=${from}&include_inactive=true`);
      all.push(...page.items);
      if (!page.items.length || all.length >= page.total) break;
    }
    zones = all;
    drawZones();
  }

  const newZoneName = field(h('input', { id: 'new-zone-name', name: 'name', class: 'input', maxlength: 120, autocomplete: 'off' }), t('admin_zones.zone_name'));
  const newZoneKind = field(kindSelect('new-zone-kind', 'area'), t('admin_zones.zone_kind'));
  const addZone = apiForm({
    testid: 'add-zone',
    className: 'admin-zones-add',
    fields: [newZoneName, newZoneKind],
    uniqueField: 'name',
    uniqueKey: 'admin_zones.zone_name_taken',
    actions: [h('button', { class: 'btn btn-primary', type: 'submit', dataset: { action: 'add-zone' }, text: t('admin_zones.add_zone') })],
    send: () => api.post(`/api/sites/${site.id}/zones`, { name: newZoneName.control.value, kind: newZoneKind.control.value }),
    onDone: async (zone) => {
      newZoneName.control.value = '';
      say('ok', [t('admin_zones.zone_added', { name: zone.name })]);
      await loadZones();
    },
  });

  // --- units -----------------------------------------------------------------------------
  /** Options for a unit's zone: none, the active zones, and `keep` even if deactivated. */
  function fillZoneSelect(select, keep) {
    const shown = zones.filter((z) => z.is_active || String(z.id) === String(keep));
    select.replaceChildren(
      h('option', { value: '', text: t('admin_zones.no_zone') }),
      ...shown.map((z) => h('option', { value: String(z.id), text: z.is_active ? z.name : t('admin_zones.zone_inactive_option', { name: z.name }) })),
    );
    select.value = keep == null ? '' : String(keep);
    if (select.value !== (keep == null ? '' : String(keep))) select.value = '';
  }
  const zoneSelect = (id, value) => {
    const select = h('select', { id, name: 'zone_id', class: 'input select' });
    fillZoneSelect(select, value);
    return select;
  };
  const zoneIdOf = (select) => (select.value ? Number(select.value) : null);

  const search = h('input', {
    id: 'unit-search',
    name: 'q',
    class: 'input',
    type: 'search',
    maxlength: 100,
    autocomplete: 'off',
    placeholder: t('admin_zones.search_placeholder'),
  });
  const showInactive = h('input', { id: 'unit-inactive', name: 'include_inactive', type: 'checkbox', dataset: { testid: 'unit-inactive' } });
  const searchForm = h(
    'form',
    {
      class: 'form admin-zones-search',
      role: 'search',
      dataset: { testid: 'unit-search' },
      onsubmit: (e) => {
        e.preventDefault();
        clearTimeout(typing);
        offset = 0;
        loadUnits();
      },
      oninput: (e) => {
        if (e.target !== search) return;
        clearTimeout(typing);
        typing = setTimeout(() => {
          offset = 0;
          loadUnits();
        }, 300);
      },
      onchange: (e) => {
        if (e.target !== showInactive) return;
        offset = 0;
        loadUnits();
      },
    },
    h('div', { class: 'field' }, h('label', { class: 'label', for: search.id, text: t('admin_zones.search_units') }), search),
    h('label', { class: 'choice-toggle toggle-fill' }, showInactive, h('span', { text: t('admin_zones.show_inactive') })),
  );
  const unitCount = h('p', { class: 'muted', role: 'status', dataset: { testid: 'units-count' } });
  const unitList = h('ul', { class: 'cards admin-zones-list', dataset: { testid: 'units' } });
  const prev = button(t('admin_zones.prev_page'), 'prev-page', {
    onclick: () => {
      offset = Math.max(0, offset - PAGE);
      loadUnits();
    },
  });
  const next = button(t('admin_zones.next_page'), 'next-page', {
    onclick: () => {
      offset += PAGE;
      loadUnits();
    },
  });
  const pager = h('div', { class: 'admin-zones-pager', dataset: { testid: 'units-pager' } }, prev, next);

  function unitCard(u) {
    const li = h('li', { class: `card${u.is_active ? '' : ' card-muted'}`, dataset: { unit: String(u.id) } });
    const show = () =>
      li.replaceChildren(
        h(
          'div',
          { class: 'card-main' },
          h('p', { class: 'card-title', text: u.label }),
          h('p', { class: 'card-line', text: u.zone_id == null ? t('admin_zones.no_zone') : zoneName(u.zone_id) || `#${u.zone_id}` }),
          u.is_active ? null : h('p', { class: 'badges' }, h('span', { class: 'badge badge-danger', text: t('admin_zones.inactive') })),
        ),
        h(
          'div',
          { class: 'card-actions' },
          button(t('admin_zones.edit'), 'edit', { onclick: edit }),
          u.is_active
            ? button(t('admin_zones.deactivate'), 'deactivate', { onclick: deactivate })
            : button(t('admin_zones.reactivate'), 'reactivate', { onclick: reactivate }),
        ),
      );
    function edit() {
      const label = field(h('input', { id: `unit-${u.id}-label`, name: 'label', class: 'input', maxlength: 64, autocomplete: 'off', value: u.label }), t('admin_zones.unit_label'));
      const zone = field(zoneSelect(`unit-${u.id}-zone`, u.zone_id), t('admin_zones.unit_zone'));
      const form = apiForm({
        testid: 'edit-unit',
        fields: [label, zone],
        uniqueField: 'label',
        uniqueKey: 'admin_zones.unit_label_taken',
        actions: [
          h('button', { class: 'btn btn-primary', type: 'submit', dataset: { action: 'save' }, text: t('admin_zones.save') }),
          button(t('common.cancel'), 'cancel', { onclick: show }),
        ],
        send: () => patch(`/api/units/${u.id}`, { label: label.control.value, zone_id: zoneIdOf(zone.control) }),
        onDone: async (saved) => {
          say('ok', [t('admin_zones.unit_saved', { label: saved.label })]);
          await loadUnits();
        },
      });
      li.replaceChildren(form.el);
      label.control.focus();
    }
    async function deactivate() {
      const ok = await confirmDialog({
        title: t('admin_zones.deactivate_unit_title', { label: u.label }),
        body: t('admin_zones.deactivate_unit_body'),
        confirm: t('admin_zones.deactivate'),
        danger: true,
      });
      if (ok) await setActive(`/api/units/${u.id}`, false, t('admin_zones.unit_deactivated', { label: u.label }));
    }
    async function reactivate() {
      await setActive(`/api/units/${u.id}`, true, t('admin_zones.unit_reactivated', { label: u.label }));
    }
    show();
    return li;
  }

  function drawUnits() {
    const q = search.value.trim();
    if (!units.length) {
      unitCount.textContent = q ? t('admin_zones.no_match', { q }) : t('admin_zones.no_units');
    } else {
      unitCount.textContent = t('admin_zones.units_shown', { from: offset + 1, to: offset + units.length, total: unitTotal });
    }
    unitList.replaceChildren(...units.map(unitCard));
    prev.disabled = offset === 0;
    next.disabled = offset + units.length >= unitTotal;
    pager.hidden = unitTotal <= PAGE && offset === 0;
  }

  async function loadUnits() {
    const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
    const q = search.value.trim();
    if (q) params.set('q', q);
    if (showInactive.checked) params.set('include_inactive', 'true');
    const mine = ++asked;
    unitList.setAttribute('aria-busy', 'true');
    try {
      const page = await api.get(`/api/sites/${site.id}/units?${params}`);
      if (mine !== asked) return; // a newer search won
      // A page emptied under us (the last unit on it deactivated): show the page before it.
      if (!page.items.length && offset > 0 && page.total > 0) {
        offset = Math.max(0, Math.floor((page.total - 1) / PAGE) * PAGE);
        await loadUnits();
        return;
      }
      units = page.items;
      unitTotal = page.total;
      drawUnits();
    } catch (err) {
      if (mine === asked) loadFailed(err);
    } finally {
      if (mine === asked) unitList.removeAttribute('aria-busy');
    }
  }

  const newUnitLabel = field(h('input', { id: 'new-unit-label', name: 'label', class: 'input', maxlength: 64, autocomplete: 'off', placeholder: '3-1-502' }), t('admin_zones.unit_label'));
  const newUnitZone = field(zoneSelect('new-unit-zone', null), t('admin_zones.unit_zone'));
  const addUnit = apiForm({
    testid: 'add-unit',
    className: 'admin-zones-add',
    fields: [newUnitLabel, newUnitZone],
    uniqueField: 'label',
    uniqueKey: 'admin_zones.unit_label_taken',
    actions: [h('button', { class: 'btn btn-primary', type: 'submit', dataset: { action: 'add-unit' }, text: t('admin_zones.add_unit') })],
    send: () => api.post(`/api/sites/${site.id}/units`, { label: newUnitLabel.control.value, zone_id: zoneIdOf(newUnitZone.control) }),
    onDone: async (unit) => {
      newUnitLabel.control.value = '';
      say('ok', [t('admin_zones.unit_added', { label: unit.label })]);
      // Show the new unit: search for it, on the first page.
      search.value = unit.label;
      offset = 0;
      await loadUnits();
    },
  });

  // --- both ------------------------------------------------------------------------------
  async function setActive(path, active, done) {
    try {
      await patch(path, { is_active: active });
      say('ok', [done]);
      await reload();
    } catch (err) {
      say('error', err instanceof NetworkError ? [t('admin_zones.offline')] : errorLines(err));
    }
  }

  async function reload() {
    try {
      await loadZones();
      offline.hidden = isOnline();
    } catch (err) {
      loadFailed(err);
      return;
    }
    await loadUnits();
  }

  const view = h(
    'section',
    { class: 'page admin-zones', 'aria-labelledby': 'page-title', dataset: { testid: 'admin-zones' } },
    pageHead(ctx, 'admin_zones.title'),
    h('p', { class: 'muted', text: t('admin_zones.subtitle', { site: site.name }) }),
    offline,
    status,
    h(
      'div',
      { class: 'admin-zones-cols' },
      h(
        'section',
        { class: 'admin-zones-section', 'aria-labelledby': 'zones-title' },
        h('h2', { id: 'zones-title', class: 'subtitle', text: t('admin_zones.zones') }),
        addZone.el,
        zoneList,
      ),
      h(
        'section',
        { class: 'admin-zones-section', 'aria-labelledby': 'units-title' },
        h('h2', { id: 'units-title', class: 'subtitle', text: t('admin_zones.units') }),
        addUnit.el,
        searchForm,
        unitCount,
        unitList,
        pager,
      ),
    ),
  );
  view.addEventListener('leave', () => {
    clearTimeout(typing);
    offConnectivity(connectivity);
  });
  reload();
  return view;
}
