// A resident's visitor invites: invite a guest for a time window, send them the pass link (the
// phone's share sheet where there is one, else the link is copied), show the pass as a QR code
// for the gate to scan, see what became of each invite, and revoke one. Supervisors may invite
// for any unit. The list is kept on the phone, so a pass can be shown without signal.
import { NetworkError, api } from '../../utils/api.js';
import { h } from '../../utils/dom.js';
import { formatTime } from '../../utils/format.js';
import { keepList, keptList } from '../../utils/gate-store.js';
import { t } from '../../utils/i18n.js';
import { errorLines } from '../../utils/messages.js';
import { confirmDialog } from '../confirm-dialog.js';
import { PURPOSES, fromLocalInput, gateHead, isManager, localInputValue, purposeText, statusLine } from '../gate/common.js';
import { plateField, unitField } from '../gate/register.js';
import { drawQr } from '../parcels/pass-qr.js';

const DEFAULT_HOURS = 4;

/** An invite's state now: active, used, revoked, or expired (active but past its window). */
export function inviteState(inv, now = Date.now()) {
  if (inv.status === 'active' && Date.parse(inv.valid_until) < now) return 'expired';
  return inv.status;
}

/** The link to send: the pass page of this server. */
export const passUrl = (link) => new URL(link, location.origin).href;

/** Shares `url` through the phone's share sheet, else copies it; answers what happened. */
export async function shareLink({ title, text, url }) {
  if (navigator.share) {
    try {
      await navigator.share({ title, text, url });
      return 'shared';
    } catch (err) {
      if (err?.name === 'AbortError') return 'cancelled';
    }
  }
  try {
    await navigator.clipboard.writeText(url);
    return 'copied';
  } catch {
    return 'shown'; // no clipboard either: the link is on screen to copy by hand
  }
}

/** The pass panel: QR code, the window, share and copy. */
export function passPanel(pass, { title, text, timeZone, say }) {
  const canvas = h('canvas', { class: 'pass-qr', dataset: { testid: 'pass-qr' }, 'aria-label': t('invites.qr_label') });
  const url = passUrl(pass.link);
  const linkField = h('input', { class: 'input pass-link', readonly: true, value: url, 'aria-label': t('invites.link'), dataset: { testid: 'pass-link' } });
  drawQr(canvas, pass.code).catch((err) => console.warn('qr', err));
  return h(
    'div',
    { class: 'pass', dataset: { code: pass.code } },
    canvas,
    h('p', { class: 'card-line', text: t('gate.window', { from: formatTime(pass.valid_from, timeZone), until: formatTime(pass.valid_until, timeZone) }) }),
    linkField,
    h('button', {
      class: 'btn btn-primary btn-block',
      type: 'button',
      dataset: { action: 'share' },
      text: navigator.share ? t('invites.share') : t('invites.copy_link'),
      onclick: async () => {
        const how = await shareLink({ title, text, url });
        if (how === 'copied') say('ok', [t('invites.link_copied')]);
        else if (how === 'shown') {
          linkField.focus();
          linkField.select();
          say('info', [t('invites.copy_by_hand')]);
        }
      },
    }),
  );
}

export function invitesView(ctx) {
  const site = ctx.membership.site;
  const uid = ctx.me.user.id;
  const tz = site.timezone;
  const manager = isManager(ctx);
  const status = statusLine('invites-status');
  const list = h('ul', { class: 'cards', dataset: { testid: 'invites' } });
  const open = new Set(); // invites whose pass is shown

  const guest = h('input', { id: 'invite-guest', class: 'input', maxlength: 120, autocomplete: 'off' });
  const phone = h('input', { id: 'invite-phone', class: 'input', type: 'tel', maxlength: 32, autocomplete: 'off' });
  const purpose = h('select', { id: 'invite-purpose', class: 'input select' }, PURPOSES.map((p) => h('option', { value: p, text: purposeText(p) })));
  const headcount = h('input', { id: 'invite-headcount', class: 'input input-count', type: 'number', min: 1, max: 50, value: '1', inputmode: 'numeric' });
  const now = new Date();
  const from = h('input', { id: 'invite-from', class: 'input', type: 'datetime-local', value: localInputValue(now) });
  const until = h('input', { id: 'invite-until', class: 'input', type: 'datetime-local', value: localInputValue(new Date(now.getTime() + DEFAULT_HOURS * 3_600_000)) });
  const plate = plateField('invite');
  const note = h('input', { id: 'invite-note', class: 'input', maxlength: 500, autocomplete: 'off' });
  const unit = manager ? unitField(ctx, 'invite') : null;
  const save = h('button', { class: 'btn btn-primary btn-block', type: 'submit', dataset: { action: 'create-invite' }, text: t('invites.create') });
  const field = (label, input) => h('div', { class: 'field' }, h('label', { class: 'label', for: input.id, text: label }), input);
  let rows = [];

  function card(inv) {
    const state = inviteState(inv);
    const shown = open.has(String(inv.id));
    const actions = [];
    if (state === 'active') {
      actions.push(
        h('button', {
          class: 'btn',
          type: 'button',
          dataset: { action: 'show-pass' },
          text: shown ? t('invites.hide_pass') : t('invites.show_pass'),
          onclick: () => {
            if (shown) open.delete(String(inv.id));
            else open.add(String(inv.id));
            draw();
          },
        }),
        h('button', { class: 'btn btn-danger', type: 'button', dataset: { action: 'revoke' }, text: t('invites.revoke'), onclick: () => revoke(inv) }),
      );
    }
    return h(
      'li',
      { class: `card invite-card invite-${state}`, dataset: { invite: String(inv.id), state } },
      h(
        'div',
        { class: 'card-main' },
        h('p', { class: 'card-title', text: [inv.guest_name, manager ? inv.unit_label : ''].filter(Boolean).join(' · ') }),
        h('p', { class: 'badges' }, h('span', { class: `badge ${state === 'active' ? 'badge-ok' : state === 'used' ? 'badge-accent' : 'badge-danger'}`, dataset: { badge: 'state' }, text: t(`invites.state.${state}`) })),
        h('p', { class: 'card-line', text: [purposeText(inv.purpose), t('gate.headcount_n', { n: inv.headcount }), inv.plate, inv.guest_phone].filter(Boolean).join(' · ') }),
        h('p', { class: 'card-line muted', text: t('gate.window', { from: formatTime(inv.valid_from, tz), until: formatTime(inv.valid_until, tz) }) }),
        inv.used_at ? h('p', { class: 'card-line muted', text: t('invites.used_at', { time: formatTime(inv.used_at, tz) }) }) : null,
      ),
      shown && state === 'active'
        ? passPanel(inv, { title: t('invites.share_title', { site: site.name }), text: t('invites.share_text', { name: inv.guest_name, site: site.name }), timeZone: tz, say: status.say })
        : null,
      actions.length ? h('div', { class: 'card-actions' }, actions) : null,
    );
  }

  function draw() {
    list.replaceChildren(...(rows.length ? rows.map(card) : [h('li', { class: 'empty muted', text: t('invites.none') })]));
  }

  async function load() {
    try {
      const page = await api.get(`/api/sites/${site.id}/invites?limit=100`);
      rows = page?.items || [];
      await keepList(uid, 'invites', site.id, rows).catch(() => {});
    } catch (err) {
      if (err instanceof NetworkError) {
        rows = await keptList(uid, 'invites', site.id).catch(() => []);
        status.say('warn', [t('invites.offline_list')]);
      } else status.say('error', errorLines(err));
    }
    draw();
  }

  async function revoke(inv) {
    const ok = await confirmDialog({ title: t('invites.revoke_title', { name: inv.guest_name }), body: t('invites.revoke_body'), confirm: t('invites.revoke'), danger: true });
    if (!ok) return;
    try {
      const after = await api.post(`/api/invites/${inv.id}/revoke`);
      rows = rows.map((r) => (r.id === after.id ? after : r));
      open.delete(String(inv.id));
      status.say('ok', [t('invites.revoked', { name: inv.guest_name })]);
      draw();
    } catch (err) {
      status.say('error', errorLines(err));
    }
  }

  async function create(event) {
    event.preventDefault();
    const problems = [];
    if (!guest.value.trim()) problems.push(t('gate.name_required'));
    const car = plate.read();
    if (car === null) problems.push(t('gate.plate_wrong'));
    const validFrom = fromLocalInput(from.value);
    const validUntil = fromLocalInput(until.value);
    if (!validFrom || !validUntil) problems.push(t('invites.window_required'));
    else if (Date.parse(validUntil) <= Date.parse(validFrom)) problems.push(t('field.window_order'));
    let host;
    if (unit) {
      host = unit.read();
      if (!host) {
        unit.markRequired();
        problems.push(t('field.host_unit_required'));
      }
    }
    if (problems.length) {
      status.say('error', problems);
      return;
    }
    const body = {
      id: crypto.randomUUID(),
      guest_name: guest.value.trim(),
      purpose: purpose.value,
      headcount: Number(headcount.value || 1),
      valid_from: validFrom,
      valid_until: validUntil,
      note: note.value.trim(),
    };
    if (phone.value.trim()) body.guest_phone = phone.value.trim();
    if (car?.plate) Object.assign(body, car);
    if (host) body.unit_id = host.id;
    else if (ctx.membership.unit?.id) body.unit_id = ctx.membership.unit.id;
    save.disabled = true;
    try {
      const made = await api.post(`/api/sites/${site.id}/invites`, body);
      rows = [made, ...rows.filter((r) => r.id !== made.id)];
      await keepList(uid, 'invites', site.id, rows).catch(() => {});
      open.add(String(made.id));
      guest.value = '';
      phone.value = '';
      note.value = '';
      plate.clear();
      status.say('ok', [t('invites.created', { name: made.guest_name })]);
      draw();
      list.querySelector(`[data-invite="${made.id}"]`)?.scrollIntoView({ block: 'nearest' });
    } catch (err) {
      status.say('error', errorLines(err));
    } finally {
      save.disabled = false;
    }
  }

  const view = h(
    'section',
    { class: 'page invites', 'aria-labelledby': 'page-title' },
    gateHead(ctx, t('invites.title'), '/home'),
    h('p', { class: 'muted', text: t('invites.hint') }),
    h(
      'form',
      { class: 'form invite-form', novalidate: true, onsubmit: create },
      field(t('invites.guest_name'), guest),
      field(t('invites.guest_phone'), phone),
      unit ? unit.el : null,
      h('div', { class: 'field-pair' }, field(t('gate.purpose'), purpose), field(t('gate.headcount'), headcount)),
      field(t('invites.from'), from),
      field(t('invites.until'), until),
      plate.el,
      field(t('gate.note'), note),
      save,
    ),
    status.el,
    h('h2', { class: 'subtitle', text: t('invites.mine') }),
    list,
  );
  load();
  return view;
}
