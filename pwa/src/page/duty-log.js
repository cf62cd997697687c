// The duty log (值班记录) of the chosen site: write an entry (saved on the phone first, sent by
// the outbox) and read the site's entries, pulled ones merged with this user's unsent ones.
import { NetworkError, api } from '../utils/api.js';
import { h } from '../utils/dom.js';
import { formatTime } from '../utils/format.js';
import { t } from '../utils/i18n.js';
import { errorLines } from '../utils/messages.js';
import { REJECTED, addMutation, listMutations } from '../utils/outbox.js';
import { cacheZones, cachedZones, siteRows } from '../utils/replica.js';
import { onSyncChange, queued } from '../utils/sync.js';
import { dutyEntryFields } from './duty-entry-form.js';
import { pageHead } from './page-head.js';
import { reasonLines } from './reasons.js';

export const MUTATION = 'duty_log.add';

/** The site's zones: the cached copy at once, then the server's when it answers. */
async function loadZones(siteId, onFresh) {
  const cached = await cachedZones(siteId).catch(() => []);
  api
    .get(`/api/sites/${siteId}/zones?limit=200&include_inactive=true`)
    .then(async (answer) => {
      const zones = (answer?.items || []).map((z) => ({ id: z.id, name: z.name, is_active: z.is_active }));
      await cacheZones(siteId, zones);
      onFresh(zones);
    })
    .catch((err) => {
      if (!(err instanceof NetworkError) && err?.status !== 401) console.warn('zones', err);
    });
  return cached;
}

/** Pulled entries and this user's queued ones, newest first (by the time the guard wrote it). */
async function entries(ctx, siteId) {
  const [pulled, mine] = await Promise.all([siteRows('duty_log', siteId), listMutations(ctx.me.user.id)]);
  const seen = new Set(pulled.map((e) => String(e.id)));
  const me = ctx.me.user;
  const queuedRows = mine
    .filter((m) => m.name === MUTATION && m.args?.site_id === siteId && !seen.has(String(m.args.id)))
    .map((m) => ({
      ...m.args,
      id: String(m.args.id),
      author_name: me.display_name || me.username,
      client_time: m.client_time,
      state: m.status === REJECTED ? 'rejected' : 'waiting',
      mutation: m,
    }));
  const rows = [...pulled.map((e) => ({ ...e, state: 'synced' })), ...queuedRows];
  const time = (e) => Date.parse(e.client_time || e.server_time || 0) || 0;
  return rows.sort((a, b) => time(b) - time(a) || String(b.id).localeCompare(String(a.id)));
}

export function dutyLogView(ctx) {
  const site = ctx.membership.site;
  let zones = [];
  const fields = dutyEntryFields({}, zones);
  const status = h('div', { class: 'status', role: 'status', dataset: { testid: 'duty-status' } });
  const list = h('ul', { class: 'cards entries', dataset: { testid: 'duty-log' }, 'aria-live': 'polite' });
  const submit = h('button', { class: 'btn btn-primary btn-block', type: 'submit', dataset: { action: 'save-entry' }, text: t('duty.save') });

  function say(kind, lines) {
    status.className = `status notice notice-${kind}`;
    status.replaceChildren(...lines.map((line) => h('p', { text: line })));
  }

  const zoneName = (id) => zones.find((z) => z.id === id)?.name ?? t('duty.zone_unknown', { id });

  function card(e) {
    return h(
      'li',
      { class: `card entry entry-${e.state}`, dataset: { entry: e.id, state: e.state } },
      h(
        'div',
        { class: 'card-main' },
        h(
          'p',
          { class: 'badges' },
          h('span', { class: 'badge', text: t(`duty.category.${e.category}`) }),
          e.zone_id != null ? h('span', { class: 'badge', text: zoneName(e.zone_id) }) : null,
          e.state === 'waiting' ? h('span', { class: 'badge badge-accent', dataset: { badge: 'waiting' }, text: t('duty.waiting') }) : null,
          e.state === 'rejected' ? h('span', { class: 'badge badge-danger', dataset: { badge: 'rejected' }, text: t('duty.rejected') }) : null,
        ),
        h('p', { class: 'entry-text', text: e.text }),
        h('p', { class: 'card-line', text: t('duty.by_at', { name: e.author_name || '', time: formatTime(e.client_time, site.timezone) }) }),
        e.state === 'rejected'
          ? h('div', { class: 'reason', dataset: { testid: 'reason' } }, reasonLines(e.mutation).map((line) => h('p', { text: line })))
          : null,
      ),
      e.state === 'rejected'
        ? h('button', { class: 'btn', type: 'button', dataset: { action: 'open-outbox' }, text: t('duty.fix_in_outbox'), onclick: () => ctx.go('/outbox') })
        : null,
    );
  }

  let drawing = null;
  let drawAgain = false;
  async function draw() {
    if (drawing) {
      drawAgain = true;
      return;
    }
    drawing = (async () => {
      do {
        drawAgain = false;
        try {
          const rows = await entries(ctx, site.id);
          list.replaceChildren(...(rows.length ? rows.map(card) : [h('li', { class: 'empty muted', text: t('duty.empty') })]));
        } catch (err) {
          say('error', errorLines(err));
        }
      } while (drawAgain);
    })();
    await drawing;
    drawing = null;
  }

  async function onSubmit(event) {
    event.preventDefault();
    const args = fields.read();
    if (!args) {
      say('error', [t('duty.text_required')]);
      return;
    }
    submit.disabled = true;
    try {
      const me = ctx.me.user;
      await addMutation({ id: me.id, name: me.display_name || me.username }, MUTATION, {
        id: crypto.randomUUID(),
        site_id: site.id,
        ...args,
      });
      fields.reset();
      say('ok', [t('duty.saved')]);
      await draw();
      queued();
    } catch (err) {
      say('error', [t('client.storage')]);
      console.error(err);
    } finally {
      submit.disabled = false;
    }
  }

  const view = h(
    'section',
    { class: 'page duty-log', 'aria-labelledby': 'page-title' },
    pageHead(ctx, 'duty.title'),
    h('p', { class: 'muted', text: site.name }),
    h('form', { class: 'form duty-form', novalidate: true, onsubmit: onSubmit }, fields.el, submit),
    status,
    h('h2', { class: 'subtitle', text: t('duty.list_title') }),
    list,
  );

  const off = onSyncChange(() => {
    if (!view.isConnected) {
      off();
      return;
    }
    draw();
  });
  loadZones(site.id, (fresh) => {
    zones = fresh;
    fields.setZones(zones);
    draw();
  }).then((cached) => {
    if (!zones.length) {
      zones = cached;
      fields.setZones(zones);
    }
    draw();
  });
  draw();
  return view;
}
