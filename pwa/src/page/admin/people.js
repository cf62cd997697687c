// The site admin's people: who holds which role at the current site (and a resident's unit),
// adding a person, changing or ending a role here, and deactivating an account. Admin work is
// done online only: nothing here is kept on the phone or queued in the outbox.
import { ApiError, NetworkError, request } from '../../utils/api.js';
import { isOnline, offConnectivity, onConnectivity } from '../../utils/connectivity.js';
import { h } from '../../utils/dom.js';
import { has, t } from '../../utils/i18n.js';
import { errorLines } from '../../utils/messages.js';
import { confirmDialog } from '../confirm-dialog.js';
import { pageHead } from '../page-head.js';

const ROLES = ['guard', 'supervisor', 'admin', 'resident'];
const PAGE = 50;
const SEARCH_DELAY_MS = 300;
// Error codes that belong to one field of the form (the server names no field for them).
const CODE_FIELDS = { username_taken: 'username', password_too_weak: 'password' };
let serial = 0;

const get = (path) => request('GET', path);
const personName = (u) => u.display_name || u.username;

/** Every row of a paged list (200 at a time). */
async function fetchAll(path, max = 5000) {
  const rows = [];
  const sep = path.includes('?') ? '&' : '?';
  for (let offset = 0; offset < max; offset += 200) {
    const page = await get(`${path}${sep}limit=200&offset=${offset}`);
    rows.push(...(page?.items || []));
    if (offset + 200 >= (page?.total ?? 0)) break;
  }
  return rows;
}

/** One bad field's text: our catalog's, unless it needs a value only the server's message has. */
function fieldMessage(f) {
  const ours = has(`field.${f.code}`) ? t(`field.${f.code}`, f) : '';
  return ours && !/\{\w+\}/.test(ours) ? ours : f.message || ours || t('field.invalid');
}

/** `err` as {fields: {name: text}, lines: [text]}: what goes next to a field, and the rest. */
function splitError(err, known) {
  const fields = {};
  const rest = [];
  if (err instanceof ApiError) {
    for (const f of Array.isArray(err.details.fields) ? err.details.fields : []) {
      const name = String(f.field ?? '').split('.').pop();
      if (known.has(name)) fields[name] = fields[name] || fieldMessage(f);
      else rest.push(fieldMessage(f));
    }
    const owner = CODE_FIELDS[err.code];
    if (owner && known.has(owner)) {
      fields[owner] = errorLines(err)[0];
      return { fields, lines: rest };
    }
  }
  return { fields, lines: [...errorLines(err).slice(0, 1), ...rest] };
}

/** A labelled control with its own error line under it. */
function field(name, label, control, hint = null) {
  const id = control.id || `people-${name}-${++serial}`;
  const target = control.matches('input, select, textarea') ? control : control.querySelector('input, select');
  if (target && !target.id) target.id = id;
  const error = h('p', { id: `${target?.id || id}-error`, class: 'people-field-error', hidden: true, dataset: { fieldError: name } });
  if (target) target.setAttribute('aria-describedby', [hint?.id, error.id].filter(Boolean).join(' '));
  return {
    name,
    el: h('div', { class: 'field', dataset: { field: name } }, h('label', { class: 'label', for: target?.id, text: label }), control, hint, error),
    show(text) {
      error.textContent = text || '';
      error.hidden = !text;
      if (text) target?.setAttribute('aria-invalid', 'true');
      else target?.removeAttribute('aria-invalid');
    },
  };
}

/** A set of fields plus a form-level error box: `show(err)` puts each message where it belongs. */
function errorSlots(fields) {
  const byName = new Map(fields.map((f) => [f.name, f]));
  const box = h('div', { class: 'form-error', role: 'alert', hidden: true, dataset: { testid: 'people-form-error' } });
  return {
    box,
    clear() {
      for (const f of byName.values()) f.show('');
      box.hidden = true;
      box.replaceChildren();
    },
    show(err) {
      const { fields: bad, lines } = splitError(err, new Set(byName.keys()));
      for (const [name, f] of byName) f.show(bad[name] || '');
      box.replaceChildren(...lines.map((line) => h('p', { text: line })));
      box.hidden = !lines.length;
      const first = [...byName.keys()].find((name) => bad[name]);
      first && byName.get(first).el.querySelector('input, select')?.focus();
    },
  };
}

function roleSelect(value, id) {
  const select = h(
    'select',
    { id, class: 'input select', name: 'role' },
    ROLES.map((r) => h('option', { value: r, text: t(`role.${r}`), selected: r === value })),
  );
  select.value = value;
  return select;
}

/**
 * Choosing one of the site's units by searching its number. Returns {el, value(), set(unit),
 * clear(), onPick(fn)}; `units` (id → label) learns every unit shown.
 */
function unitPicker(siteId, units) {
  const id = `people-unit-${++serial}`;
  let chosen = null;
  let timer = null;
  let asked = 0;
  const input = h('input', {
    id,
    class: 'input',
    type: 'search',
    name: 'unit',
    autocomplete: 'off',
    enterkeyhint: 'search',
    placeholder: t('admin_people.unit_search'),
  });
  const list = h('ul', { class: 'picks people-units', dataset: { testid: 'unit-options' } });
  const note = h('p', { class: 'muted small people-units-note' });
  const picked = h('div', { class: 'picked', hidden: true, dataset: { testid: 'unit-chosen' } });

  function set(unit) {
    chosen = unit;
    input.hidden = Boolean(unit);
    list.hidden = Boolean(unit);
    note.hidden = Boolean(unit);
    picked.hidden = !unit;
    if (!unit) {
      picked.replaceChildren();
      return;
    }
    units.set(unit.id, unit.label);
    input.removeAttribute('aria-invalid');
    picked.replaceChildren(
      h('span', { class: 'picked-text', text: unit.label }),
      h('button', {
        class: 'btn',
        type: 'button',
        dataset: { action: 'change-unit' },
        text: t('admin_people.change_unit'),
        onclick: () => {
          set(null);
          search();
          input.focus();
        },
      }),
    );
  }

  async function search() {
    const n = ++asked;
    const typed = input.value.trim();
    try {
      const page = await get(`/api/sites/${siteId}/units?limit=20&q=${encodeURIComponent(typed)}`);
      if (n !== asked || chosen) return;
      const rows = page?.items || [];
      list.replaceChildren(
        ...rows.map((u) =>
          h(
            'li',
            null,
            h('button', {
              class: 'pick',
              type: 'button',
              dataset: { action: 'pick-unit', unit: u.label },
              text: u.label,
              onclick: () => set({ id: u.id, label: u.label }),
            }),
          ),
        ),
      );
      note.textContent = rows.length ? (page.total > rows.length ? t('admin_people.units_more') : '') : t('admin_people.no_units');
    } catch (err) {
      if (n !== asked) return;
      list.replaceChildren();
      note.textContent = errorLines(err)[0];
    }
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(search, SEARCH_DELAY_MS);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') e.preventDefault(); // Enter searches; it never submits the form
  });
  return {
    el: h('div', { class: 'people-unit-picker' }, input, picked, list, note),
    value: () => chosen,
    set,
    load: search,
  };
}

export function peopleAdminView(ctx) {
  const site = ctx.membership.site;
  const me = ctx.me.user;
  const units = new Map(); // unit id → label, for the residents listed
  const state = { q: '', offset: 0, users: [], total: 0, roles: new Map() };
  let asked = 0;
  let searchTimer = null;

  const status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite', dataset: { testid: 'people-status' } });
  const offline = h(
    'div',
    { class: 'notice notice-warn people-offline', role: 'alert', hidden: true, dataset: { testid: 'people-offline' } },
    h('p', { text: t('admin_people.offline') }),
    h('button', { class: 'btn', type: 'button', dataset: { action: 'retry' }, text: t('common.retry'), onclick: () => load() }),
  );
  const list = h('ul', { class: 'cards people', dataset: { testid: 'people' } });
  const count = h('p', { class: 'muted small', dataset: { testid: 'people-count' } });
  const more = h('button', { class: 'btn btn-block', type: 'button', hidden: true, dataset: { action: 'more' }, text: t('admin_people.more'), onclick: () => load({ append: true }) });
  const search = h('input', {
    id: 'people-search',
    class: 'input',
    type: 'search',
    name: 'q',
    autocomplete: 'off',
    enterkeyhint: 'search',
    placeholder: t('admin_people.search_placeholder'),
  });
  const addButton = h('button', { class: 'btn btn-primary', type: 'button', dataset: { action: 'add-person' }, text: t('admin_people.add'), onclick: () => openAdd() });

  function say(kind, lines) {
    status.className = kind ? `status notice notice-${kind}` : 'status';
    status.dataset.kind = kind || '';
    status.replaceChildren(...[].concat(lines || []).map((line) => h('p', { text: line })));
  }

  /** The screen needs the server: say so instead of failing quietly. */
  function showOffline(yes) {
    offline.hidden = !yes;
    addButton.disabled = yes;
    search.disabled = yes;
  }

  function failed(err) {
    if (err instanceof NetworkError) showOffline(true);
    else say('error', errorLines(err));
  }

  // --- adding a person ------------------------------------------------------------------------

  const add = (() => {
    const username = h('input', { id: 'people-add-username', class: 'input', name: 'username', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', maxlength: 64 });
    const displayName = h('input', { id: 'people-add-display-name', class: 'input', name: 'display_name', autocomplete: 'off', maxlength: 120 });
    const phone = h('input', { id: 'people-add-phone', class: 'input', name: 'phone', type: 'tel', autocomplete: 'off', maxlength: 32 });
    const password = h('input', { id: 'people-add-password', class: 'input', name: 'password', type: 'password', autocomplete: 'new-password', maxlength: 256 });
    const role = roleSelect('guard', 'people-add-role');
    const locale = h(
      'select',
      { id: 'people-add-locale', class: 'input select', name: 'locale' },
      h('option', { value: 'zh-CN', text: t('admin_people.locale_zh') }),
      h('option', { value: 'en', text: t('admin_people.locale_en') }),
    );
    const picker = unitPicker(site.id, units);
    const passwordHint = h('p', { id: `people-password-hint-${++serial}`, class: 'muted small people-hint', text: t('admin_people.password_hint') });
    const fields = [
      field('username', t('admin_people.username'), username),
      field('display_name', t('admin_people.display_name'), displayName),
      field('phone', t('admin_people.phone'), phone),
      field('password', t('admin_people.password'), password, passwordHint),
      field('role', t('admin_people.role'), role),
      field('locale', t('admin_people.locale'), locale),
      field('unit_id', t('admin_people.unit'), picker.el),
    ];
    const unitField = fields.at(-1).el;
    const errors = errorSlots(fields);
    const submit = h('button', { class: 'btn btn-primary', type: 'submit', dataset: { action: 'save-person' }, text: t('admin_people.save_person') });
    const showUnit = () => {
      unitField.hidden = role.value !== 'resident';
      if (!unitField.hidden && !picker.value()) picker.load();
    };
    role.addEventListener('change', showUnit);

    async function onSubmit(event) {
      event.preventDefault();
      if (submit.disabled) return;
      errors.clear();
      const unit = role.value === 'resident' ? picker.value() : null;
      const body = {
        username: username.value,
        display_name: displayName.value,
        phone: phone.value,
        password: password.value,
        locale: locale.value,
        membership: { site_id: site.id, role: role.value, unit_id: unit ? unit.id : null },
      };
      // The password leaves the page with the request: never shown back, never kept.
      password.value = '';
      submit.disabled = true;
      try {
        const user = await request('POST', '/api/users', { body });
        body.password = '';
        reset();
        el.hidden = true;
        addButton.hidden = false;
        say('ok', [t('admin_people.added', { name: personName(user), role: t(`role.${body.membership.role}`) })]);
        await load();
      } catch (err) {
        body.password = '';
        if (err instanceof NetworkError) showOffline(true);
        errors.show(err);
        if (err instanceof ApiError && err.code === 'username_taken') {
          // Most often someone who worked here before: their account is still there.
          errors.box.append(h('p', { dataset: { testid: 'people-taken-hint' }, text: t('admin_people.taken_hint') }));
          errors.box.hidden = false;
        }
      } finally {
        submit.disabled = false;
      }
    }

    function reset() {
      for (const input of [username, displayName, phone, password]) input.value = '';
      role.value = 'guard';
      locale.value = 'zh-CN';
      picker.set(null);
      errors.clear();
      showUnit();
    }

    const el = h(
      'form',
      { id: 'people-add', class: 'form people-add', novalidate: true, hidden: true, onsubmit: onSubmit, 'aria-labelledby': 'people-add-title' },
      h('h2', { id: 'people-add-title', class: 'subtitle', text: t('admin_people.add_title') }),
      h('div', { class: 'field-pair' }, fields[0].el, fields[1].el),
      h('div', { class: 'field-pair' }, fields[2].el, fields[3].el),
      h('div', { class: 'field-pair' }, fields[4].el, fields[5].el),
      unitField,
      errors.box,
      h(
        'div',
        { class: 'people-form-actions' },
        submit,
        h('button', { class: 'btn', type: 'button', dataset: { action: 'cancel-add' }, text: t('common.cancel'), onclick: () => closeAdd() }),
      ),
    );
    showUnit();
    return { el, reset, focus: () => username.focus() };
  })();

  function openAdd() {
    add.reset();
    add.el.hidden = false;
    addButton.hidden = true;
    say('', []);
    add.focus();
  }

  function closeAdd() {
    add.reset();
    add.el.hidden = true;
    addButton.hidden = false;
  }

  // --- a person's card ------------------------------------------------------------------------

  const roleText = (m) =>
    m.role === 'resident' && m.unit_id != null
      ? t('admin_people.role_unit', { role: t('role.resident'), unit: units.get(m.unit_id) || `#${m.unit_id}` })
      : t(`role.${m.role}`);

  /** The inline form that changes one membership's role (and unit), or, without a membership,
   * gives `u` a role at this site (someone removed earlier and found again by a search). */
  function roleForm(m, row, u) {
    const role = roleSelect(m ? m.role : 'guard');
    const picker = unitPicker(site.id, units);
    if (m?.unit_id != null) picker.set({ id: m.unit_id, label: units.get(m.unit_id) || `#${m.unit_id}` });
    const fields = [field('role', t('admin_people.role'), role), field('unit_id', t('admin_people.unit'), picker.el)];
    const unitField = fields[1].el;
    const errors = errorSlots(fields);
    const showUnit = () => {
      unitField.hidden = role.value !== 'resident';
      if (!unitField.hidden && !picker.value()) picker.load();
    };
    role.addEventListener('change', showUnit);
    showUnit();
    const save = h('button', { class: 'btn btn-primary', type: 'submit', dataset: { action: 'save-role' }, text: t('admin_people.save_role') });
    const form = h(
      'form',
      { class: 'form people-role-form', novalidate: true },
      fields[0].el,
      unitField,
      errors.box,
      h(
        'div',
        { class: 'people-form-actions' },
        save,
        h('button', { class: 'btn', type: 'button', dataset: { action: 'cancel-role' }, text: t('common.cancel'), onclick: () => form.replaceWith(row) }),
      ),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (save.disabled) return;
      errors.clear();
      const unit = role.value === 'resident' ? picker.value() : null;
      save.disabled = true;
      try {
        const body = { role: role.value, unit_id: unit ? unit.id : null };
        if (m) {
          await request('PATCH', `/api/memberships/${m.id}`, { body });
          say('ok', [t('admin_people.role_changed')]);
        } else {
          await request('POST', `/api/sites/${site.id}/memberships`, { body: { ...body, user_id: u.id } });
          say('ok', [t('admin_people.role_given', { name: personName(u), role: t(`role.${body.role}`) })]);
        }
        await load();
      } catch (err) {
        if (err instanceof NetworkError) showOffline(true);
        errors.show(err);
        save.disabled = false;
      }
    });
    return form;
  }

  async function removeMembership(u, m) {
    const ok = await confirmDialog({
      title: t('admin_people.remove_title', { name: personName(u) }),
      body: [t('admin_people.remove_body', { role: roleText(m), site: site.name }), t('admin_people.remove_keeps_account')],
      confirm: t('admin_people.remove'),
      danger: true,
    });
    if (!ok) return;
    try {
      await request('PATCH', `/api/memberships/${m.id}`, { body: { is_active: false } });
      say('ok', [t('admin_people.removed', { name: personName(u) })]);
      await load();
    } catch (err) {
      failed(err);
    }
  }

  async function setActive(u, active) {
    if (!active) {
      const ok = await confirmDialog({
        title: t('admin_people.deactivate_title', { name: personName(u) }),
        body: [t('admin_people.deactivate_body'), t('admin_people.deactivate_all_sites')],
        confirm: t('admin_people.deactivate'),
        danger: true,
      });
      if (!ok) return;
    }
    try {
      await request('PATCH', `/api/users/${u.id}`, { body: { is_active: active } });
      say('ok', [t(active ? 'admin_people.reactivated' : 'admin_people.deactivated', { name: personName(u) })]);
      await load();
    } catch (err) {
      failed(err);
    }
  }

  function membershipRow(u, m, self) {
    const row = h(
      'div',
      { class: 'people-role', dataset: { membership: m.id, role: m.role } },
      h('span', { class: 'badge badge-accent people-role-badge', text: roleText(m) }),
    );
    // An admin does not change or end their own role here (they could lock themselves out).
    if (!self && u.is_active) {
      row.append(
        h('button', { class: 'btn', type: 'button', dataset: { action: 'change-role' }, text: t('admin_people.change_role'), onclick: () => row.replaceWith(roleForm(m, row)) }),
        h('button', { class: 'btn', type: 'button', dataset: { action: 'remove-membership' }, text: t('admin_people.remove'), onclick: () => removeMembership(u, m) }),
      );
    }
    return row;
  }

  /** Someone a search found whose role here was removed: a role can be given back. */
  function formerRow(u, manageable) {
    const row = h('div', { class: 'people-role', dataset: { former: 'true' } }, h('p', { class: 'muted small', text: t('admin_people.no_role') }));
    if (manageable && u.is_active) {
      row.append(
        h('button', { class: 'btn', type: 'button', dataset: { action: 'give-role' }, text: t('admin_people.give_role'), onclick: () => row.replaceWith(roleForm(null, row, u)) }),
      );
    }
    return row;
  }

  function card(u) {
    const self = u.id === me.id;
    const roles = state.roles.get(u.id) || [];
    const manageable = !self && (!u.is_superuser || me.is_superuser);
    return h(
      'li',
      { class: `card people-card${u.is_active ? '' : ' card-muted'}`, dataset: { user: u.id, username: u.username, active: String(u.is_active) } },
      h(
        'div',
        { class: 'card-main' },
        h('p', { class: 'card-title', text: personName(u) }),
        h('p', { class: 'card-line', text: [u.username, u.phone].filter(Boolean).join(' · ') }),
        h(
          'p',
          { class: 'badges' },
          self ? h('span', { class: 'badge badge-accent', text: t('admin_people.you') }) : null,
          u.is_active ? null : h('span', { class: 'badge badge-danger', text: t('admin_people.inactive') }),
        ),
      ),
      h('div', { class: 'people-roles' }, roles.length ? roles.map((m) => membershipRow(u, m, self)) : formerRow(u, manageable)),
      manageable
        ? h(
            'div',
            { class: 'card-actions' },
            u.is_active
              ? h('button', { class: 'btn btn-danger', type: 'button', dataset: { action: 'deactivate' }, text: t('admin_people.deactivate'), onclick: () => setActive(u, false) })
              : h('button', { class: 'btn', type: 'button', dataset: { action: 'reactivate' }, text: t('admin_people.reactivate'), onclick: () => setActive(u, true) }),
          )
        : null,
    );
  }

  function draw() {
    list.replaceChildren(
      ...(state.users.length
        ? state.users.map(card)
        : [h('li', { class: 'empty muted', text: t(state.q ? 'admin_people.none_found' : 'admin_people.empty') })]),
    );
    count.textContent = t('admin_people.count', { shown: state.users.length, total: state.total });
    more.hidden = state.users.length >= state.total;
  }

  // --- loading --------------------------------------------------------------------------------

  /** The site's roles of the people a search finds, by user id. */
  async function rolesFor(q) {
    const base = `/api/sites/${site.id}/memberships`;
    const byUser = new Map();
    for (const m of await fetchAll(q ? `${base}?q=${encodeURIComponent(q)}` : base)) {
      byUser.set(m.user_id, [...(byUser.get(m.user_id) || []), m]);
    }
    return byUser;
  }

  async function loadUnits() {
    const rows = await fetchAll(`/api/sites/${site.id}/units?include_inactive=true`);
    for (const u of rows) units.set(u.id, u.label);
  }

  async function load({ append = false } = {}) {
    const n = ++asked;
    // Ask even when the browser says offline: its flag can be wrong, and an answer proves it.
    if (!isOnline()) showOffline(true);
    const offset = append ? state.users.length : 0;
    const q = state.q;
    list.setAttribute('aria-busy', 'true');
    try {
      // A search also finds people removed from the site, so that they can be given a role again
      // (their account stays, and its username cannot be taken by a new one).
      const former = q ? '&former=true' : '';
      const path = `/api/users?site_id=${site.id}&include_inactive=true${former}&limit=${PAGE}&offset=${offset}&q=${encodeURIComponent(q)}`;
      const [page, found] = await Promise.all([get(path), rolesFor(q), units.size ? null : loadUnits()]);
      const users = page?.items || [];
      // The people search also matches phone numbers, the roles' search names only: then take all.
      const roles = q && users.some((u) => !found.has(u.id)) ? await rolesFor('') : found;
      if (n !== asked) return;
      showOffline(false);
      state.q = q;
      state.users = append ? [...state.users, ...users] : users;
      state.total = page?.total ?? users.length;
      state.roles = append ? new Map([...state.roles, ...roles]) : roles;
      draw();
    } catch (err) {
      if (n === asked) failed(err);
    } finally {
      if (n === asked) list.removeAttribute('aria-busy');
    }
  }

  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.q = search.value.trim();
      load();
    }, SEARCH_DELAY_MS);
  });
  search.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    clearTimeout(searchTimer);
    state.q = search.value.trim();
    load();
  });

  const onNet = (online) => {
    if (online && !offline.hidden) load();
    else if (!online) showOffline(true);
  };
  onConnectivity(onNet);

  const view = h(
    'section',
    { class: 'page people-admin', 'aria-labelledby': 'page-title' },
    pageHead(ctx, 'admin_people.title'),
    h('p', { class: 'muted', text: t('admin_people.subtitle', { site: site.name }) }),
    offline,
    h(
      'div',
      { class: 'people-toolbar' },
      h('label', { class: 'visually-hidden', for: 'people-search', text: t('admin_people.search_label') }),
      search,
      addButton,
    ),
    add.el,
    status,
    count,
    list,
    more,
  );
  view.addEventListener('leave', () => {
    offConnectivity(onNet);
    clearTimeout(searchTimer);
  });
  load();
  return view;
}
