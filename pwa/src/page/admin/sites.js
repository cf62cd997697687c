// The admin's sites: list those they manage, add one to an organization, change a site's name,
// kind, address, time zone and after-hours window, deactivate it (after a confirmation) and, for a
// platform operator who still sees it, reactivate it. Admin work is online only: nothing here is
// kept on the phone or queued, so without a connection the screen says so and changes nothing.
import { ApiError, NetworkError, request } from '../../utils/api.js';
import { isOnline, offConnectivity, onConnectivity } from '../../utils/connectivity.js';
import { h } from '../../utils/dom.js';
import { has, t } from '../../utils/i18n.js';
import { errorLines } from '../../utils/messages.js';
import { confirmDialog } from '../confirm-dialog.js';
import { pageHead } from '../page-head.js';

const KINDS = ['community', 'building'];
// What the form edits, in the order SitePatch names them.
const FIELDS = ['organization_id', 'name', 'kind', 'address', 'timezone', 'after_hours_start', 'after_hours_end'];
const PAGE = 200; // the API's largest page

/** The text for one of the server's field errors, without the field's name (it sits next to it). */
function fieldMessage(f) {
  const ours = has(`field.${f.code}`) ? t(`field.${f.code}`, f) : '';
  return ours && !/\{\w+\}/.test(ours) ? ours : f.message || ours || t('field.invalid');
}

function timeZones() {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return [];
  }
}

/** Every page of a list endpoint (an admin rarely has more than a handful of sites). */
async function listAll(path) {
  const items = [];
  for (let offset = 0; ; offset += PAGE) {
    const sep = path.includes('?') ? '&' : '?';
    const answer = await request('GET', `${path}${sep}limit=${PAGE}&offset=${offset}`);
    items.push(...(answer?.items || []));
    if (!answer || items.length >= answer.total || !answer.items?.length) return items;
  }
}

export function sitesAdminView(ctx) {
  const superuser = Boolean(ctx.me.user?.is_superuser);
  let sites = [];
  let orgs = new Map(); // id → organization
  let editing = null; // the site being edited, or null when adding

  const status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite', dataset: { testid: 'sites-status' } });
  const offline = h('div', { class: 'notice notice-warn', role: 'alert', hidden: true, dataset: { testid: 'sites-offline' } },
    h('p', { text: t('admin_sites.offline') }),
    h('button', { class: 'btn', type: 'button', dataset: { action: 'retry' }, text: t('common.retry'), onclick: () => load() }),
  );
  const list = h('ul', { class: 'cards', dataset: { testid: 'sites' } });
  const addButton = h('button', {
    class: 'btn btn-primary btn-block',
    type: 'button',
    dataset: { action: 'new-site' },
    text: t('admin_sites.new'),
    onclick: () => openForm(null),
  });

  function say(kind, lines) {
    status.className = `status notice notice-${kind}`;
    status.dataset.kind = kind;
    status.replaceChildren(...[].concat(lines).map((line) => h('p', { text: line })));
  }
  function clearStatus() {
    status.className = 'status';
    delete status.dataset.kind;
    status.replaceChildren();
  }
  /** A failure: offline gets its own clear message; anything else the server's words. */
  function failed(err, target = say) {
    if (err instanceof NetworkError) {
      showOffline(true);
      target('error', [t('admin_sites.offline')]);
    } else target('error', errorLines(err));
  }
  function showOffline(yes) {
    offline.hidden = !yes;
    addButton.disabled = yes;
  }

  // --- the form (one for adding and editing) ------------------------------------------------

  const inputs = {
    organization_id: h('select', { id: 'site-organization_id', class: 'input select', name: 'organization_id' }),
    name: h('input', { id: 'site-name', class: 'input', name: 'name', maxlength: 120, autocomplete: 'off' }),
    kind: h(
      'select',
      { id: 'site-kind', class: 'input select', name: 'kind' },
      KINDS.map((k) => h('option', { value: k, text: t(`site.kind.${k}`) })),
    ),
    address: h('input', { id: 'site-address', class: 'input', name: 'address', autocomplete: 'off' }),
    timezone: h('input', {
      id: 'site-timezone',
      class: 'input',
      name: 'timezone',
      list: 'site-timezones',
      autocomplete: 'off',
      autocapitalize: 'off',
      spellcheck: 'false',
      placeholder: 'Asia/Shanghai',
    }),
    after_hours_start: h('input', { id: 'site-after_hours_start', class: 'input', name: 'after_hours_start', type: 'time' }),
    after_hours_end: h('input', { id: 'site-after_hours_end', class: 'input', name: 'after_hours_end', type: 'time' }),
  };
  const zoneList = h('datalist', { id: 'site-timezones' }, timeZones().map((z) => h('option', { value: z })));
  const errors = {};
  const LABELS = {
    organization_id: t('admin_sites.organization'),
    name: t('admin_sites.name'),
    kind: t('admin_sites.kind'),
    address: t('admin_sites.address'),
    timezone: t('admin_sites.timezone'),
    after_hours_start: t('gate.after_hours_from'),
    after_hours_end: t('gate.after_hours_until'),
  };
  const fieldBox = {};
  for (const name of FIELDS) {
    errors[name] = h('p', { id: `site-${name}-error`, class: 'field-error', hidden: true, dataset: { errorFor: name } });
    fieldBox[name] = h(
      'div',
      { class: 'field', dataset: { field: name } },
      h('label', { class: 'label', for: inputs[name].id, text: LABELS[name] }),
      inputs[name],
      errors[name],
    );
  }
  const formTitle = h('h2', { class: 'subtitle', id: 'site-form-title' });
  const formStatus = h('div', { class: 'status', role: 'alert', dataset: { testid: 'site-form-status' } });
  const saveButton = h('button', { class: 'btn btn-primary', type: 'submit', dataset: { action: 'save-site' } });
  const form = h(
    'form',
    { class: 'form site-form', novalidate: true, hidden: true, 'aria-labelledby': 'site-form-title', dataset: { testid: 'site-form' }, onsubmit: save },
    formTitle,
    fieldBox.organization_id,
    fieldBox.name,
    fieldBox.kind,
    fieldBox.address,
    fieldBox.timezone,
    h('p', { class: 'muted small', id: 'site-timezone-hint', text: t('admin_sites.timezone_hint') }),
    h('div', { class: 'field-pair' }, fieldBox.after_hours_start, fieldBox.after_hours_end),
    zoneList,
    formStatus,
    h(
      'div',
      { class: 'card-actions site-form-actions' },
      h('button', { class: 'btn', type: 'button', dataset: { action: 'cancel-site' }, text: t('common.cancel'), onclick: closeForm }),
      saveButton,
    ),
  );

  function clearErrors() {
    for (const name of FIELDS) {
      errors[name].hidden = true;
      errors[name].replaceChildren();
      inputs[name].removeAttribute('aria-invalid');
      inputs[name].removeAttribute('aria-describedby');
    }
    formStatus.className = 'status';
    formStatus.replaceChildren();
  }
  function fieldError(name, message) {
    errors[name].hidden = false;
    errors[name].append(h('span', { text: message }));
    inputs[name].setAttribute('aria-invalid', 'true');
    inputs[name].setAttribute('aria-describedby', errors[name].id);
  }
  function formSay(kind, lines) {
    formStatus.className = `status notice notice-${kind}`;
    formStatus.replaceChildren(...[].concat(lines).map((line) => h('p', { text: line })));
  }

  function fillOrganizations(selected) {
    const active = [...orgs.values()].filter((o) => o.is_active || o.id === selected);
    inputs.organization_id.replaceChildren(...active.map((o) => h('option', { value: String(o.id), text: o.name })));
    if (selected != null) inputs.organization_id.value = String(selected);
  }

  function openForm(site) {
    if (!isOnline()) {
      showOffline(true);
      say('error', [t('admin_sites.offline')]);
      return;
    }
    editing = site;
    clearErrors();
    clearStatus();
    fillOrganizations(site ? site.organization_id : null);
    inputs.organization_id.disabled = Boolean(site); // a site stays in its organization
    const values = site || { name: '', kind: 'community', address: '', timezone: '', after_hours_start: '22:00', after_hours_end: '06:00' };
    for (const name of FIELDS.slice(1)) inputs[name].value = values[name] ?? '';
    formTitle.textContent = site ? t('admin_sites.edit_title', { name: site.name }) : t('admin_sites.new_title');
    saveButton.textContent = site ? t('admin_sites.save') : t('admin_sites.create');
    form.hidden = false;
    addButton.hidden = true;
    // Centred, not at the top: the sticky header would cover it on a phone.
    inputs.name.scrollIntoView({ block: 'center' });
    inputs.name.focus({ preventScroll: true });
  }

  function closeForm() {
    editing = null;
    clearErrors();
    form.hidden = true;
    addButton.hidden = false;
  }

  /** What to send: everything for a new site; for an edit only what changed. */
  function body() {
    const out = {};
    for (const name of FIELDS) {
      if (name === 'organization_id') {
        if (!editing) out.organization_id = Number(inputs.organization_id.value);
        continue;
      }
      const value = inputs[name].value.trim();
      if (editing) {
        if (value !== String(editing[name] ?? '')) out[name] = value;
      } else if (name !== 'timezone' || value) {
        out[name] = value; // no time zone: the server's default
      }
    }
    return out;
  }

  async function save(event) {
    event.preventDefault();
    clearErrors();
    const data = body();
    if (editing && !Object.keys(data).length) {
      closeForm();
      say('info', [t('admin_sites.unchanged')]);
      return;
    }
    saveButton.disabled = true;
    try {
      const site = editing
        ? await request('PATCH', `/api/sites/${editing.id}`, { body: data })
        : await request('POST', '/api/sites', { body: data });
      const wasEdit = Boolean(editing);
      closeForm();
      await load();
      say('ok', [t(wasEdit ? 'admin_sites.saved' : 'admin_sites.created', { name: site.name })]);
      list.querySelector(`[data-site="${site.id}"]`)?.scrollIntoView({ block: 'nearest' });
    } catch (err) {
      showFormError(err);
    } finally {
      saveButton.disabled = false;
    }
  }

  function showFormError(err) {
    if (err instanceof NetworkError) {
      showOffline(true);
      formSay('error', [t('admin_sites.offline')]);
      return;
    }
    if (!(err instanceof ApiError)) {
      formSay('error', errorLines(err));
      return;
    }
    const lines = errorLines(err);
    const fields = Array.isArray(err.details.fields) ? err.details.fields : [];
    const placed = fields.filter((f) => FIELDS.includes(f.field));
    for (const f of placed) fieldError(f.field, fieldMessage(f));
    if (err.code === 'duplicate_name') fieldError('name', lines[0]);
    // The summary, plus any field this form does not show (those keep their names).
    const rest = lines.slice(1).filter((_, i) => !FIELDS.includes(fields[i]?.field));
    formSay('error', [lines[0], ...rest]);
    const first = placed[0]?.field || (err.code === 'duplicate_name' ? 'name' : null);
    if (first) {
      inputs[first].scrollIntoView({ block: 'center' });
      inputs[first].focus({ preventScroll: true });
    }
  }

  // --- the list ------------------------------------------------------------------------------

  async function setActive(site, active) {
    if (!active) {
      const here = ctx.membership?.site?.id === site.id;
      const ok = await confirmDialog({
        title: t('admin_sites.deactivate_title', { name: site.name }),
        body: [
          t('admin_sites.deactivate_body'),
          superuser ? null : t('admin_sites.deactivate_final'),
          here ? t('admin_sites.deactivate_here') : null,
        ].filter(Boolean),
        confirm: t('admin_sites.deactivate'),
        danger: true,
      });
      if (!ok) return;
    }
    try {
      const after = await request('PATCH', `/api/sites/${site.id}`, { body: { is_active: active } });
      if (editing?.id === site.id) closeForm();
      await load();
      say('ok', [t(active ? 'admin_sites.reactivated' : 'admin_sites.deactivated', { name: after.name })]);
    } catch (err) {
      failed(err);
    }
  }

  function card(site) {
    const org = orgs.get(site.organization_id);
    return h(
      'li',
      { class: `card${site.is_active ? '' : ' card-muted'}`, dataset: { site: String(site.id), active: String(site.is_active) } },
      h(
        'div',
        { class: 'card-main' },
        h('p', { class: 'card-title', text: site.name }),
        h(
          'p',
          { class: 'badges' },
          h('span', { class: 'badge', text: t(`site.kind.${site.kind}`) }),
          h('span', {
            class: `badge ${site.is_active ? 'badge-ok' : 'badge-danger'}`,
            text: t(site.is_active ? 'admin_sites.active' : 'admin_sites.inactive'),
          }),
          ctx.membership?.site?.id === site.id ? h('span', { class: 'badge badge-accent', text: t('admin_sites.current') }) : null,
        ),
        org ? h('p', { class: 'card-line', text: org.name }) : null,
        site.address ? h('p', { class: 'card-line', text: site.address }) : null,
        h('p', {
          class: 'card-line',
          text: t('admin_sites.details', { timezone: site.timezone, start: site.after_hours_start, end: site.after_hours_end }),
        }),
      ),
      h(
        'div',
        { class: 'card-actions' },
        site.is_active
          ? [
              h('button', { class: 'btn', type: 'button', dataset: { action: 'edit' }, text: t('admin_sites.edit'), onclick: () => openForm(site) }),
              h('button', {
                class: 'btn btn-danger',
                type: 'button',
                dataset: { action: 'deactivate' },
                text: t('admin_sites.deactivate'),
                onclick: () => setActive(site, false),
              }),
            ]
          : h('button', {
              class: 'btn',
              type: 'button',
              dataset: { action: 'reactivate' },
              text: t('admin_sites.reactivate'),
              onclick: () => setActive(site, true),
            }),
      )
    );
  }

  function render() {
    const cards = sites.map((s) => card(s));
    list.replaceChildren(...(cards.length ? cards : [h('li', { class: 'empty muted', text: t('admin_sites.empty') })]));
  }

  async function load() {
    if (!isOnline()) {
      showOffline(true);
      if (!sites.length) list.replaceChildren();
      return;
    }
    list.setAttribute('aria-busy', 'true');
    try {
      // Deactivated sites come back only for a platform operator (an admin's roles end with them).
      const [siteRows, orgRows] = await Promise.all([listAll('/api/sites?include_inactive=true'), listAll('/api/organizations')]);
      sites = siteRows;
      orgs = new Map(orgRows.map((o) => [o.id, o]));
      showOffline(false);
      render();
    } catch (err) {
      failed(err);
    } finally {
      list.removeAttribute('aria-busy');
    }
  }

  const onNet = (online) => {
    if (online) load();
    else showOffline(true);
  };
  onConnectivity(onNet);

  const view = h(
    'section',
    { class: 'page admin-sites', 'aria-labelledby': 'page-title' },
    pageHead(ctx, 'admin_sites.title', 'admin_sites.subtitle'),
    offline,
    status,
    addButton,
    form,
    list,
  );
  view.addEventListener('leave', () => offConnectivity(onNet));
  load();
  return view;
}
