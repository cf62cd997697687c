// The outbox screen: what this phone has not sent yet, and what the server refused with its
// reason; a refused entry is fixed and sent again (under a new id) or discarded.
import { h } from '../utils/dom.js';
import { formatTime } from '../utils/format.js';
import { has, t } from '../utils/i18n.js';
import { REJECTED, discard, listMutations, othersWaiting, resend } from '../utils/outbox.js';
import { cachedZones } from '../utils/replica.js';
import { onSyncChange, pushNow, queued, syncStatus } from '../utils/sync.js';
import { confirmDialog } from './confirm-dialog.js';
import { dutyEntryFields } from './duty-entry-form.js';
import { pageHead } from './page-head.js';
import { reasonLines } from './reasons.js';

const FIXABLE = new Set(['duty_log.add']);

function mutationTitle(m) {
  return has(`mutation.${m.name}`) ? t(`mutation.${m.name}`) : m.name;
}

export function outboxView(ctx) {
  const tz = ctx.membership?.site?.timezone;
  const userId = ctx.me.user.id;
  const summary = h('div', { class: 'status', role: 'status', dataset: { testid: 'outbox-summary' } });
  const others = h('div', { class: 'status', dataset: { testid: 'outbox-others' } });
  const sendNow = h('button', {
    class: 'btn btn-primary btn-block',
    type: 'button',
    dataset: { action: 'send-now' },
    text: t('outbox.send_now'),
    onclick: () => pushNow(),
  });
  const list = h('ul', { class: 'cards', dataset: { testid: 'outbox' } });
  let editing = null; // seq of the entry whose fix form is open: redraws keep it open

  async function fix(m, slot) {
    editing = m.seq;
    const zones = await cachedZones(m.args?.site_id).catch(() => []);
    const fields = dutyEntryFields(m.args, zones);
    const form = h(
      'form',
      {
        class: 'form fix-form',
        novalidate: true,
        onsubmit: async (event) => {
          event.preventDefault();
          const args = fields.read();
          if (!args) return;
          // A fresh entity id too: the refused one may be what the server objected to.
          const next = { id: crypto.randomUUID(), site_id: m.args.site_id, ...args };
          editing = null;
          await resend(m.seq, next);
          await queued();
          draw();
        },
      },
      fields.el,
      h(
        'div',
        { class: 'dialog-actions' },
        h('button', {
          class: 'btn',
          type: 'button',
          text: t('common.cancel'),
          onclick: () => {
            editing = null;
            draw();
          },
        }),
        h('button', { class: 'btn btn-primary', type: 'submit', dataset: { action: 'resend' }, text: t('outbox.resend') }),
      ),
    );
    slot.replaceChildren(form);
    fields.focus();
  }

  async function drop(m) {
    const ok = await confirmDialog({
      title: t('outbox.discard_title'),
      body: [t('outbox.discard_body'), m.args?.text ? `“${String(m.args.text).slice(0, 120)}”` : null].filter(Boolean),
      confirm: t('outbox.discard'),
      danger: true,
    });
    if (!ok) return;
    await discard(m.seq);
    draw();
  }

  function card(m) {
    const rejected = m.status === REJECTED;
    const slot = h(
      'div',
      { class: 'card-actions' },
      rejected && FIXABLE.has(m.name)
        ? h('button', { class: 'btn btn-primary', type: 'button', dataset: { action: 'fix' }, text: t('outbox.fix'), onclick: () => fix(m, slot) })
        : null,
      rejected ? h('button', { class: 'btn btn-danger', type: 'button', dataset: { action: 'discard' }, text: t('outbox.discard'), onclick: () => drop(m) }) : null,
    );
    const li = h(
      'li',
      { class: `card outbox-item${rejected ? ' card-problem' : ''}`, dataset: { mutation: m.id, status: rejected ? 'rejected' : 'waiting' } },
      h(
        'div',
        { class: 'card-main' },
        h(
          'p',
          { class: 'badges' },
          h('span', { class: 'badge', text: mutationTitle(m) }),
          h('span', {
            class: `badge ${rejected ? 'badge-danger' : 'badge-accent'}`,
            text: t(rejected ? 'outbox.status_rejected' : 'outbox.status_waiting'),
          }),
        ),
        m.args?.text ? h('p', { class: 'entry-text', text: m.args.text }) : null,
        h('p', { class: 'card-line', text: t('outbox.written_at', { time: formatTime(m.client_time, tz) }) }),
        rejected ? h('div', { class: 'reason', dataset: { testid: 'reason' } }, reasonLines(m).map((line) => h('p', { text: line }))) : null,
      ),
      slot,
    );
    if (editing === m.seq) queueMicrotask(() => fix(m, slot));
    return li;
  }

  async function draw() {
    if (editing != null && list.querySelector('.fix-form')) return; // don't wipe what is being typed
    const [items, rest] = await Promise.all([listMutations(userId), othersWaiting(userId)]);
    const waiting = items.filter((m) => m.status !== REJECTED).length;
    const rejected = items.length - waiting;
    summary.className = `status notice notice-${rejected ? 'error' : waiting ? 'warn' : 'ok'}`;
    const counts = [waiting ? t('sync.waiting', { count: waiting }) : '', rejected ? t('sync.rejected', { count: rejected }) : ''];
    const lines = [items.length ? counts.filter(Boolean).join(' · ') : t('outbox.empty')];
    if (waiting && !syncStatus().online) lines.push(t('outbox.offline_hint'));
    summary.replaceChildren(...lines.map((line) => h('p', { text: line })));
    others.className = rest.length ? 'status notice notice-warn' : 'status';
    others.replaceChildren(...rest.map((o) => h('p', { text: t('sync.others_waiting', { count: o.count, name: o.user_name || `#${o.user_id}` }) })));
    sendNow.hidden = waiting === 0;
    // Refused first: they need the guard; then the queue in the order it will be sent.
    const ordered = [...items.filter((m) => m.status === REJECTED), ...items.filter((m) => m.status !== REJECTED)];
    list.replaceChildren(...ordered.map(card));
  }

  const view = h(
    'section',
    { class: 'page outbox', 'aria-labelledby': 'page-title' },
    pageHead(ctx, 'outbox.title', 'outbox.subtitle'),
    summary,
    others,
    sendNow,
    list,
  );
  const off = onSyncChange(() => {
    if (!view.isConnected) {
      off();
      return;
    }
    draw();
  });
  draw();
  return view;
}
