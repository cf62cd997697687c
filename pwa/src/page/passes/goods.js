// Goods-out passes (物品出门证). A resident or tenant requests one listing what leaves; the unit's
// authorised approver stamps it (approver, time and a signature over the content) or rejects it;
// the approved pass is a QR code the carrier shows at the exit, where the guard ticks the items.
// Staff see the site's archive, searchable by item, carrier and plate.
import { NetworkError, api } from '../../utils/api.js';
import { h } from '../../utils/dom.js';
import { formatTime } from '../../utils/format.js';
import { keepList, keptList } from '../../utils/gate-store.js';
import { t } from '../../utils/i18n.js';
import { errorLines } from '../../utils/messages.js';
import { confirmDialog } from '../confirm-dialog.js';
import { details, fromLocalInput, gateHead, localInputValue, statusLine } from '../gate/common.js';
import { passPanel } from '../invites/invites.js';

const STATUSES = ['requested', 'approved', 'rejected', 'exited'];
const STAFF = ['guard', 'supervisor', 'admin'];
const SEARCH_DELAY_MS = 300;

function itemsEditor() {
  const list = h('ol', { class: 'goods-editor', dataset: { testid: 'goods-editor' } });
  let serial = 0;
  function add(name = '', quantity = 1) {
    const n = ++serial;
    const nameInput = h('input', { id: `goods-item-${n}`, class: 'input', maxlength: 120, autocomplete: 'off', value: name, dataset: { field: 'item-name' }, 'aria-label': t('passes.item_name') });
    const qty = h('input', { class: 'input input-count', type: 'number', min: 1, max: 10000, value: String(quantity), inputmode: 'numeric', dataset: { field: 'item-quantity' }, 'aria-label': t('passes.quantity') });
    const row = h(
      'li',
      { class: 'input-row goods-row' },
      nameInput,
      qty,
      h('button', { class: 'btn btn-icon', type: 'button', 'aria-label': t('passes.remove_item'), title: t('passes.remove_item'), dataset: { action: 'remove-item' }, text: '×', onclick: () => list.children.length > 1 && row.remove() }),
    );
    list.append(row);
    return nameInput;
  }
  add();
  return {
    el: h('div', { class: 'field' }, h('p', { class: 'label', text: t('passes.items') }), list, h('button', { class: 'btn', type: 'button', dataset: { action: 'add-item' }, text: t('passes.add_item'), onclick: () => add().focus() })),
    /** [{name, quantity}] of the rows with a name, or null when a quantity is wrong. */
    read() {
      const items = [];
      for (const row of list.children) {
        const name = row.querySelector('[data-field=item-name]').value.trim();
        const quantity = Number(row.querySelector('[data-field=item-quantity]').value || 1);
        if (!name) continue;
        if (!Number.isInteger(quantity) || quantity < 1 || quantity > 10000) return null;
        items.push({ name, quantity });
      }
      return items;
    },
    clear() {
      list.replaceChildren();
      add();
    },
  };
}

export function goodsView(ctx) {
  const site = ctx.membership.site;
  const uid = ctx.me.user.id;
  const tz = site.timezone;
  const staff = STAFF.includes(ctx.membership.role);
  const status = statusLine('goods-status');
  const list = h('ul', { class: 'cards', dataset: { testid: 'goods-passes' } });
  const search = h('input', { id: 'goods-search', class: 'input', type: 'search', autocomplete: 'off', placeholder: t('passes.search') });
  const filter = h('select', { id: 'goods-filter', class: 'input select', 'aria-label': t('passes.status_filter') }, [
    h('option', { value: '', text: t('passes.all') }),
    ...STATUSES.map((s) => h('option', { value: s, text: t(`passes.status.${s}`) })),
  ]);
  const open = new Set();
  let rows = [];
  let timer = null;

  function stampLine(p) {
    if (p.status === 'approved' || p.status === 'exited') return t('passes.stamped_by', { name: p.decided_by_name, time: formatTime(p.decided_at, tz) });
    if (p.status === 'rejected') return t('passes.rejected_by', { name: p.decided_by_name, time: formatTime(p.decided_at, tz) });
    return '';
  }

  function card(p) {
    const shown = open.has(String(p.id));
    const items = h(
      'ul',
      { class: 'goods-items-view' },
      p.items.map((item, i) =>
        h('li', { class: p.exited_at && p.items_out.includes(i) ? 'item-out' : '', text: t('passes.item_line', { name: item.name, quantity: item.quantity ?? 1 }) }),
      ),
    );
    const actions = [];
    if (!staff && p.status === 'requested') {
      actions.push(
        h('button', { class: 'btn btn-primary', type: 'button', dataset: { action: 'stamp' }, text: t('passes.approve'), onclick: () => decide(p, 'approved') }),
        h('button', { class: 'btn btn-danger', type: 'button', dataset: { action: 'reject' }, text: t('passes.reject'), onclick: () => decide(p, 'rejected') }),
      );
    }
    if (p.status === 'approved' && p.code) {
      actions.push(
        h('button', {
          class: 'btn',
          type: 'button',
          dataset: { action: 'show-pass' },
          text: shown ? t('invites.hide_pass') : t('passes.show_pass'),
          onclick: () => {
            if (shown) open.delete(String(p.id));
            else open.add(String(p.id));
            draw();
          },
        }),
      );
    }
    return h(
      'li',
      { class: `card goods-pass goods-${p.status}`, dataset: { pass: String(p.id), status: p.status } },
      h(
        'div',
        { class: 'card-main' },
        h('p', { class: 'card-title', text: [p.unit_label, p.carrier].filter(Boolean).join(' · ') }),
        h('p', { class: 'badges' }, h('span', { class: `badge ${p.status === 'rejected' ? 'badge-danger' : p.status === 'requested' ? 'badge-accent' : 'badge-ok'}`, dataset: { badge: 'status' }, text: t(`passes.status.${p.status}`) })),
        items,
        details(
          [
            [t('passes.requested_by'), p.requested_by_name],
            [t('gate.plate'), p.plate],
            [t('passes.reason'), p.reason],
            [t('gate.valid'), t('gate.window', { from: formatTime(p.valid_from, tz), until: formatTime(p.valid_until, tz) })],
            [t('passes.stamp'), stampLine(p), 'stamp'],
            [t('passes.signature'), p.signature ? `${p.signature.slice(0, 16)}…` : ''],
            [t('passes.exited'), p.exited_at ? t('passes.exited_line', { time: formatTime(p.exited_at, tz), n: p.items_out.length, total: p.items.length }) : '', 'exit'],
          ],
          'goods-details',
        ),
      ),
      shown ? passPanel(p, { title: t('passes.share_title'), text: t('passes.share_text', { unit: p.unit_label }), timeZone: tz, say: status.say }) : null,
      actions.length ? h('div', { class: 'card-actions' }, actions) : null,
    );
  }

  function draw() {
    list.replaceChildren(...(rows.length ? rows.map(card) : [h('li', { class: 'empty muted', text: t('passes.none') })]));
  }

  async function load() {
    const q = encodeURIComponent(search.value.trim());
    const st = filter.value ? `&status=${filter.value}` : '';
    try {
      const page = await api.get(`/api/sites/${site.id}/goods-passes?limit=100&q=${q}${st}`);
      rows = page?.items || [];
      if (!q && !st) await keepList(uid, 'goods_mine', site.id, rows).catch(() => {});
    } catch (err) {
      if (err instanceof NetworkError) {
        rows = await keptList(uid, 'goods_mine', site.id).catch(() => []);
        status.say('warn', [t('passes.offline_list')]);
      } else status.say('error', errorLines(err));
    }
    draw();
  }

  async function decide(p, decision) {
    const ok = await confirmDialog({
      title: t(decision === 'approved' ? 'passes.approve_title' : 'passes.reject_title'),
      body: p.items.map((item) => t('passes.item_line', { name: item.name, quantity: item.quantity ?? 1 })),
      confirm: t(decision === 'approved' ? 'passes.approve' : 'passes.reject'),
      danger: decision === 'rejected',
    });
    if (!ok) return;
    try {
      const after = await api.post(`/api/goods-passes/${p.id}/decision`, { decision, note: '' });
      rows = rows.map((r) => (r.id === after.id ? after : r));
      if (after.status === 'approved') open.add(String(after.id));
      status.say('ok', [t(decision === 'approved' ? 'passes.approved' : 'passes.rejected')]);
      draw();
    } catch (err) {
      status.say('error', errorLines(err));
    }
  }

  let form = null;
  if (!staff) {
    const editor = itemsEditor();
    const carrier = h('input', { id: 'goods-carrier', class: 'input', maxlength: 120, autocomplete: 'off' });
    const plate = h('input', { id: 'goods-plate', class: 'input', maxlength: 20, autocomplete: 'off', autocapitalize: 'characters' });
    const reason = h('input', { id: 'goods-reason', class: 'input', maxlength: 500, autocomplete: 'off' });
    const now = new Date();
    const from = h('input', { id: 'goods-from', class: 'input', type: 'datetime-local', value: localInputValue(now) });
    const until = h('input', { id: 'goods-until', class: 'input', type: 'datetime-local', value: localInputValue(new Date(now.getTime() + 86_400_000)) });
    const field = (label, input) => h('div', { class: 'field' }, h('label', { class: 'label', for: input.id, text: label }), input);
    const send = h('button', { class: 'btn btn-primary btn-block', type: 'submit', dataset: { action: 'request-pass' }, text: t('passes.request') });
    form = h(
      'form',
      {
        class: 'form goods-form',
        novalidate: true,
        onsubmit: async (event) => {
          event.preventDefault();
          const items = editor.read();
          const validFrom = fromLocalInput(from.value);
          const validUntil = fromLocalInput(until.value);
          const problems = [];
          if (items === null) problems.push(t('passes.quantity_wrong'));
          else if (!items.length) problems.push(t('passes.items_required'));
          if (!validFrom || !validUntil) problems.push(t('invites.window_required'));
          if (problems.length) {
            status.say('error', problems);
            return;
          }
          const body = { items, carrier: carrier.value.trim(), plate: plate.value.trim(), reason: reason.value.trim(), valid_from: validFrom, valid_until: validUntil };
          if (ctx.membership.unit?.id) body.unit_id = ctx.membership.unit.id;
          send.disabled = true;
          try {
            const made = await api.post(`/api/sites/${site.id}/goods-passes`, body);
            rows = [made, ...rows];
            editor.clear();
            for (const input of [carrier, plate, reason]) input.value = '';
            status.say('ok', [t('passes.requested')]);
            draw();
          } catch (err) {
            status.say('error', errorLines(err));
          } finally {
            send.disabled = false;
          }
        },
      },
      h('h2', { class: 'subtitle', text: t('passes.request_title') }),
      editor.el,
      h('div', { class: 'field-pair' }, field(t('passes.carrier'), carrier), field(t('gate.plate'), plate)),
      field(t('passes.reason'), reason),
      field(t('invites.from'), from),
      field(t('invites.until'), until),
      send,
    );
  }

  const view = h(
    'section',
    { class: 'page goods', 'aria-labelledby': 'page-title' },
    gateHead(ctx, t('passes.goods_title'), staff ? '/gate' : '/home'),
    h('p', { class: 'muted', text: t(staff ? 'passes.goods_hint_staff' : 'passes.goods_hint') }),
    form,
    status.el,
    h('h2', { class: 'subtitle', text: t(staff ? 'passes.archive' : 'passes.mine') }),
    h('div', { class: 'field-pair' }, h('div', { class: 'field' }, h('label', { class: 'visually-hidden', for: search.id, text: t('passes.search') }), search), filter),
    list,
  );
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(load, SEARCH_DELAY_MS);
  });
  filter.addEventListener('change', load);
  load();
  return view;
}
