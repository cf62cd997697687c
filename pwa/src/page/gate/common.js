// What the gate screens share: the vocabulary (purposes, statuses, conditions), the gate's sync
// mutations and what of them still waits on this phone, the site's units kept for offline forms,
// a title with a back button, a status line, and the visit card.
import { NetworkError, api } from '../../utils/api.js';
import { h, icon } from '../../utils/dom.js';
import { formatSpan, formatTime } from '../../utils/format.js';
import { has, t } from '../../utils/i18n.js';
import { keepList, keptList } from '../../utils/gate-store.js';
import { listHeld, queueWithPhotos } from '../../utils/media.js';
import { REJECTED, listMutations, localIso } from '../../utils/outbox.js';
import { ICONS } from '../icons.js';
import { reasonLines } from '../reasons.js';
import './gate.css';

export const REGISTER = 'visitors.register';
export const CHECK_OUT = 'visitors.check_out';
export const DECIDE = 'visitors.decide';
export const VEHICLE_IN = 'vehicles.enter';
export const VEHICLE_OUT = 'vehicles.exit';
export const CHECK_START = 'vehicles.check_start';
export const CHECK_ITEM = 'vehicles.check_item';
export const CHECK_FINISH = 'vehicles.check_finish';
export const CONTRACTOR_SCAN = 'passes.contractor_scan';
export const GOODS_EXIT = 'passes.goods_exit';
const GATE_MUTATIONS = new Set([REGISTER, CHECK_OUT, DECIDE, VEHICLE_IN, VEHICLE_OUT, CHECK_START, CHECK_ITEM, CHECK_FINISH, CONTRACTOR_SCAN, GOODS_EXIT]);

export const PURPOSES = ['visit', 'delivery', 'moving', 'water', 'maintenance', 'business', 'interview', 'other'];
// The security plan has a guard walk these crews in and out (backend: ESCORT_PURPOSES).
export const ESCORT_PURPOSES = new Set(['delivery', 'moving', 'water']);
// Purposes that visit someone: the unit is asked for (backend: HOST_PURPOSES).
export const HOST_PURPOSES = new Set(['visit', 'moving', 'business', 'interview']);
export const CONDITIONS = ['ok', 'window_open', 'lights_on', 'door_unlocked', 'damage', 'leak', 'flat_tyre', 'blocking', 'unregistered', 'other'];
export const MANAGERS = ['supervisor', 'admin'];
// Icons the shared set lacks (24×24 stroked paths, drawn with utils/dom.js `icon`).
export const GATE_ICONS = {
  car: ['M5 17h14v-5l-2-5H7l-2 5z', 'M5 12h14', 'M7.5 17v2M16.5 17v2'],
  calendar: ['M4 5h16v16H4z', 'M4 10h16', 'M8 3v4M16 3v4'],
};

export const isManager = (ctx) => MANAGERS.includes(ctx.membership?.role);
export const sender = (ctx) => ({ id: ctx.me.user.id, name: ctx.me.user.display_name || ctx.me.user.username });
export const purposeText = (p) => (PURPOSES.includes(p) ? t(`gate.purpose.${p}`) : String(p || ''));
export const fieldText = (code) => (has(`field.${code}`) ? t(`field.${code}`) : t('field.invalid'));

export function quiet(err) {
  if (!(err instanceof NetworkError) && err?.status !== 401) console.warn('gate', err);
}

/** A gate screen's title with a back button. */
export function gateHead(ctx, title, back = '/gate') {
  return h(
    'div',
    { class: 'page-head' },
    h(
      'button',
      { class: 'btn btn-icon', type: 'button', 'aria-label': t('common.back'), title: t('common.back'), dataset: { action: 'back' }, onclick: () => ctx.go(back) },
      icon(ICONS.back),
    ),
    h('h1', { class: 'title', id: 'page-title', text: title }),
  );
}

/** A status line: `say('ok' | 'info' | 'warn' | 'error', lines)`, `clear()`. */
export function statusLine(testid) {
  const el = h('div', { class: 'status', role: 'status', 'aria-live': 'polite', dataset: { testid } });
  return {
    el,
    say(kind, lines) {
      el.className = `status notice notice-${kind}`;
      el.dataset.kind = kind;
      el.replaceChildren(...[].concat(lines).map((line) => h('p', { text: line })));
    },
    clear() {
      el.className = 'status';
      delete el.dataset.kind;
      el.replaceChildren();
    },
  };
}

/**
 * Queues gate mutation `name` for the signed-in person; with photos it waits on the phone until
 * they are up (utils/media.js). The phone's clock goes into the args now: a visitor registered
 * offline keeps the minute they came, however late the photo or the network.
 */
export async function queueGate(ctx, name, args, photos = []) {
  const full = { client_time: localIso(), ...args };
  return queueWithPhotos(sender(ctx), name, full, photos);
}

/**
 * This person's gate mutations for the site not yet accepted by the server, oldest first:
 * {key, name, args, state: 'photos' | 'waiting' | 'rejected', mutation}.
 */
export async function gateQueue(ctx) {
  const uid = ctx.me.user.id;
  const siteId = ctx.membership.site.id;
  const [held, outbox] = await Promise.all([listHeld(uid).catch(() => []), listMutations(uid).catch(() => [])]);
  const mine = (name, args) => GATE_MUTATIONS.has(name) && (args?.site_id == null || args.site_id === siteId);
  const rows = held.filter((e) => mine(e.name, e.args)).map((e) => ({ key: e.id, name: e.name, args: e.args, state: 'photos', mutation: null }));
  for (const m of outbox) {
    if (!mine(m.name, m.args)) continue;
    rows.push({ key: m.id, name: m.name, args: m.args, state: m.status === REJECTED ? 'rejected' : 'waiting', mutation: m });
  }
  return rows;
}

/** The reason lines and a link to the outbox, for a refused queued mutation. */
export function refusedBlock(ctx, row) {
  return h(
    'div',
    { class: 'reason', dataset: { testid: 'reason' } },
    reasonLines(row.mutation).map((line) => h('p', { text: line })),
    h('button', { class: 'btn', type: 'button', dataset: { action: 'open-outbox' }, text: t('gate.fix_in_outbox'), onclick: () => ctx.go('/outbox') }),
  );
}

/** Every page of a list endpoint (up to `max` rows). */
export async function fetchAll(path, max = 2000) {
  const rows = [];
  const sep = path.includes('?') ? '&' : '?';
  for (let offset = 0; offset < max; offset += 200) {
    const page = await api.get(`${path}${sep}limit=200&offset=${offset}`);
    rows.push(...(page?.items || []));
    if (offset + 200 >= (page?.total ?? 0)) break;
  }
  return rows;
}

/** The site's units [{id, label}]: kept copy at once, the server's when it answers. */
export async function siteUnits(ctx, onFresh) {
  const uid = ctx.me.user.id;
  const siteId = ctx.membership.site.id;
  const kept = await keptList(uid, 'units', siteId).catch(() => []);
  fetchAll(`/api/sites/${siteId}/units`)
    .then(async (rows) => {
      const units = rows.filter((u) => u.is_active !== false).map((u) => ({ id: u.id, label: u.label }));
      await keepList(uid, 'units', siteId, units).catch(() => {});
      onFresh?.(units);
    })
    .catch(quiet);
  return kept;
}

/** The site's active guards [{id, name}] (supervisors and admins may list people). */
export async function siteGuards(siteId) {
  const [members, users] = await Promise.all([fetchAll(`/api/sites/${siteId}/memberships?role=guard`), fetchAll(`/api/users?site_id=${siteId}`)]);
  const names = new Map(users.map((u) => [u.id, u.display_name || u.username]));
  return members.filter((m) => m.is_active !== false).map((m) => ({ id: m.user_id, name: names.get(m.user_id) || `#${m.user_id}` }));
}

/** A visit's state as a badge: on site, waiting for a supervisor or the control room, gone… */
export function visitBadge(v) {
  const danger = v.status === 'pending_approval' || v.status === 'refused';
  const ok = v.status === 'on_site';
  return h('span', {
    class: `badge ${danger ? 'badge-danger' : ok ? 'badge-ok' : 'badge-accent'}`,
    dataset: { badge: 'status' },
    text: t(`gate.status.${v.status}`),
  });
}

/** Time on site so far (or in all, once gone), for people. */
export const spanSince = (iso, until = Date.now()) => formatSpan(Math.max(0, until - Date.parse(iso)));

/** One visit as a card; `extra`: nodes at the end (actions). */
export function visitCard(v, { timeZone, extra = [], state = null } = {}) {
  const overstayed = Boolean(v.overstayed) && !state;
  return h(
    'li',
    {
      class: `card visit${overstayed ? ' card-problem visit-overstayed' : ''}${state === 'rejected' ? ' card-problem' : ''}`,
      dataset: { visit: String(v.id), status: state || v.status, overstayed: overstayed ? 'true' : 'false' },
    },
    h(
      'div',
      { class: 'card-main' },
      h('p', { class: 'card-title', text: [v.name, v.host_unit_label].filter(Boolean).join(' · ') || t('gate.visitor') }),
      h(
        'p',
        { class: 'badges' },
        state
          ? h('span', { class: `badge ${state === 'rejected' ? 'badge-danger' : 'badge-accent'}`, dataset: { badge: 'status' }, text: t(`gate.state.${state}`) })
          : visitBadge(v),
        overstayed ? h('span', { class: 'badge badge-danger', dataset: { badge: 'overstayed' }, text: t('gate.overstayed') }) : null,
        v.after_hours ? h('span', { class: 'badge', dataset: { badge: 'after-hours' }, text: t('gate.after_hours') }) : null,
        v.blocklisted ? h('span', { class: 'badge badge-danger', dataset: { badge: 'blocklisted' }, text: t('gate.blocklisted') }) : null,
        v.escort_required ? h('span', { class: 'badge', dataset: { badge: 'escort' }, text: t('gate.escorted_by', { name: v.escort_name || '—' }) }) : null,
        v.invite_id ? h('span', { class: 'badge', dataset: { badge: 'invite' }, text: t('gate.invited') }) : null,
      ),
      h(
        'p',
        { class: 'card-line' },
        [purposeText(v.purpose), v.headcount > 1 ? t('gate.headcount_n', { n: v.headcount }) : null, v.plate, v.id_masked].filter(Boolean).join(' · '),
      ),
      v.blocklist_reason ? h('p', { class: 'card-line', dataset: { testid: 'blocklist-reason' }, text: t('gate.blocklist_reason', { reason: v.blocklist_reason }) }) : null,
      h(
        'p',
        { class: 'card-line muted' },
        v.checked_in_at
          ? t('gate.in_since', { time: formatTime(v.checked_in_at, timeZone), span: spanSince(v.checked_in_at, v.checked_out_at ? Date.parse(v.checked_out_at) : Date.now()) })
          : t('gate.arrived_at', { time: formatTime(v.arrived_at || v.client_time, timeZone) }),
      ),
      v.expected_until && v.status === 'on_site'
        ? h('p', { class: `card-line${overstayed ? ' overstay-line' : ' muted'}`, text: t('gate.expected_until', { time: formatTime(v.expected_until, timeZone) }) })
        : null,
      v.decided_by_name ? h('p', { class: 'card-line muted', dataset: { testid: 'decided-by' }, text: t('gate.decided_by', { name: v.decided_by_name }) }) : null,
    ),
    extra,
  );
}

/** A definition list of label → value rows (empty values left out). */
export function details(rows, testid) {
  return h(
    'dl',
    { class: 'details', dataset: testid ? { testid } : null },
    rows
      .filter(([, value]) => value != null && value !== '')
      .map(([label, value, key]) => h('div', { class: 'detail-row', dataset: key ? { row: key } : null }, h('dt', { text: label }), h('dd', { text: String(value) }))),
  );
}

/** A modal asking to pick one of `options` [{value, text}]; resolves to the value or null. */
export function choiceDialog({ title, label, options, confirm }) {
  return new Promise((resolve) => {
    const select = h('select', { id: 'choice-dialog-select', class: 'input select' }, options.map((o) => h('option', { value: o.value, text: o.text })));
    const dialog = h(
      'dialog',
      { class: 'dialog', 'aria-labelledby': 'choice-dialog-title', dataset: { testid: 'choice-dialog' } },
      h(
        'form',
        { method: 'dialog', class: 'dialog-form' },
        h('h2', { id: 'choice-dialog-title', class: 'dialog-title', text: title }),
        h('label', { class: 'label', for: select.id, text: label }),
        select,
        h(
          'div',
          { class: 'dialog-actions' },
          h('button', { class: 'btn', value: 'cancel', type: 'submit', dataset: { action: 'cancel' }, text: t('common.cancel') }),
          h('button', { class: 'btn btn-primary', value: 'confirm', type: 'submit', disabled: !options.length, dataset: { action: 'confirm' }, text: confirm }),
        ),
      ),
    );
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'confirm' ? select.value : null);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A datetime-local input's value for a Date (the phone's own time zone). */
export function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** An ISO time with the phone's offset from a datetime-local value, or null when empty/invalid. */
export function fromLocalInput(value) {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : localIso(date);
}
