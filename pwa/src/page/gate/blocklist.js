// The site's blocklist (supervisors and admins): who is held at the gate for a supervisor's
// decision, matched by ID number, phone or plate (by name alone only when nothing else is
// known). Entries are added with a reason and lifted, never deleted; ID numbers are kept only
// masked (and as a keyed hash on the server).
import { api, request } from '../../utils/api.js';
import { h } from '../../utils/dom.js';
import { formatTime } from '../../utils/format.js';
import { t } from '../../utils/i18n.js';
import { errorLines } from '../../utils/messages.js';
import { confirmDialog } from '../confirm-dialog.js';
import { fetchAll, gateHead, statusLine } from './common.js';
import { idFields } from './register.js';

export function blocklistView(ctx) {
  const site = ctx.membership.site;
  const status = statusLine('blocklist-status');
  const list = h('ul', { class: 'cards', dataset: { testid: 'blocklist' } });
  const name = h('input', { id: 'block-name', class: 'input', maxlength: 120, autocomplete: 'off' });
  const phone = h('input', { id: 'block-phone', class: 'input', type: 'tel', maxlength: 32, autocomplete: 'off' });
  const plate = h('input', { id: 'block-plate', class: 'input', maxlength: 20, autocomplete: 'off', autocapitalize: 'characters' });
  const ids = idFields('block');
  const reason = h('textarea', { id: 'block-reason', class: 'input textarea', rows: 2, maxlength: 500 });
  const showLifted = h('input', { type: 'checkbox', dataset: { testid: 'show-lifted' } });

  const field = (label, input) => h('div', { class: 'field' }, h('label', { class: 'label', for: input.id, text: label }), input);

  async function load() {
    try {
      const rows = await fetchAll(`/api/sites/${site.id}/blocklist${showLifted.checked ? '?include_inactive=true' : ''}`);
      list.replaceChildren(...(rows.length ? rows.map(card) : [h('li', { class: 'empty muted', text: t('gate.blocklist_empty') })]));
    } catch (err) {
      status.say('error', errorLines(err));
    }
  }

  function card(e) {
    return h(
      'li',
      { class: `card${e.is_active ? '' : ' card-muted'}`, dataset: { entry: String(e.id), active: String(e.is_active) } },
      h(
        'div',
        { class: 'card-main' },
        h('p', { class: 'card-title', text: [e.name, e.phone, e.plate, e.id_masked].filter(Boolean).join(' · ') }),
        h('p', { class: 'card-line', text: e.reason }),
        h('p', { class: 'card-line muted', text: t(e.is_active ? 'gate.blocked_since' : 'gate.block_lifted', { time: formatTime(e.created_at, site.timezone) }) }),
      ),
      e.is_active
        ? h(
            'div',
            { class: 'card-actions' },
            h('button', {
              class: 'btn',
              type: 'button',
              dataset: { action: 'lift' },
              text: t('gate.lift'),
              onclick: async () => {
                const ok = await confirmDialog({ title: t('gate.lift_title'), body: e.reason, confirm: t('gate.lift') });
                if (!ok) return;
                try {
                  await request('PATCH', `/api/blocklist/${e.id}`, { body: { is_active: false } });
                  status.say('ok', [t('gate.lifted')]);
                  load();
                } catch (err) {
                  status.say('error', errorLines(err));
                }
              },
            }),
          )
        : null,
    );
  }

  async function add(event) {
    event.preventDefault();
    const doc = ids.read();
    if (doc === null) {
      status.say('error', [t('gate.id_wrong')]);
      return;
    }
    const body = { name: name.value.trim(), plate: plate.value.trim(), reason: reason.value.trim(), ...doc };
    if (phone.value.trim()) body.phone = phone.value.trim();
    if (!body.name && !body.phone && !body.plate && !doc.id_number) {
      status.say('error', [t('gate.block_needs_someone')]);
      return;
    }
    if (!body.reason) {
      status.say('error', [t('field.reason_required')]);
      return;
    }
    try {
      await api.post(`/api/sites/${site.id}/blocklist`, body);
      for (const input of [name, phone, plate, reason]) input.value = '';
      ids.clear();
      status.say('ok', [t('gate.blocked')]);
      load();
    } catch (err) {
      status.say('error', errorLines(err));
    }
  }

  showLifted.addEventListener('change', load);
  const view = h(
    'section',
    { class: 'page gate-blocklist', 'aria-labelledby': 'page-title' },
    gateHead(ctx, t('gate.blocklist_title')),
    h('p', { class: 'muted', text: t('gate.blocklist_hint') }),
    h(
      'form',
      { class: 'form', novalidate: true, onsubmit: add },
      h('div', { class: 'field-pair' }, field(t('gate.name'), name), field(t('gate.phone'), phone)),
      field(t('gate.plate'), plate),
      ids.el,
      field(t('gate.block_reason'), reason),
      h('button', { class: 'btn btn-primary btn-block', type: 'submit', dataset: { action: 'block' }, text: t('gate.block') }),
    ),
    status.el,
    h('label', { class: 'choice-toggle toggle-fill' }, showLifted, h('span', { text: t('gate.show_lifted') })),
    list,
  );
  load();
  return view;
}
