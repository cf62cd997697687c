// The board's bridge panel: each BLE bridge of the site with its last heartbeat and batch, the
// spool waiting on it, dead letters and the adapter's state; a bridge silent for three
// heartbeats is stale and shown so. Heartbeats make no event: the panel asks again each minute.
import { api } from '../../utils/api.js';
import { h } from '../../utils/dom.js';
import { formatTime } from '../../utils/format.js';
import { t } from '../../utils/i18n.js';
import { errorLines } from '../../utils/messages.js';

const EVERY_MS = 60_000;

function adapterText(adapter) {
  if (!adapter || adapter.present == null) return t('bridges.adapter_unknown');
  if (!adapter.present) return t('bridges.adapter_missing');
  if (!adapter.powered) return t('bridges.adapter_off');
  return t(adapter.passive ? 'bridges.adapter_passive' : 'bridges.adapter_on');
}

/** Returns {el, load(), onEvent(name, data), stop()}. */
export function bridgesPanel(ctx) {
  const site = ctx.membership.site;
  const tz = site.timezone;
  const list = h('ul', { class: 'cards bridge-list', dataset: { testid: 'bridges' } });
  const status = h('div', { class: 'status', role: 'status' });
  let loading = null;

  function card(b) {
    const adapterOk = b.adapter?.present && b.adapter?.powered;
    const badges = [];
    if (b.revoked) badges.push(h('span', { class: 'badge', text: t('bridges.revoked') }));
    else if (b.stale) badges.push(h('span', { class: 'badge badge-danger', dataset: { testid: 'stale' }, text: t('bridges.stale') }));
    else badges.push(h('span', { class: 'badge badge-ok', text: t('bridges.reporting') }));
    if (!b.revoked && b.adapter?.present != null && !adapterOk) badges.push(h('span', { class: 'badge badge-danger', text: adapterText(b.adapter) }));
    if (b.dead_letters > 0) badges.push(h('span', { class: 'badge badge-accent', text: t('bridges.dead_letters', { n: b.dead_letters }) }));
    return h(
      'li',
      {
        class: `card bridge-card${b.stale && !b.revoked ? ' card-problem' : ''}${b.revoked ? ' card-muted' : ''}`,
        dataset: { bridge: String(b.device_id), stale: String(Boolean(b.stale)) },
      },
      h(
        'div',
        { class: 'card-main' },
        h('p', { class: 'card-title', text: b.name }),
        h('p', { class: 'badges' }, badges),
        h('p', { class: 'card-line', text: t('bridges.heartbeat', { time: formatTime(b.last_heartbeat_at, tz) }) }),
        h('p', { class: 'card-line', text: t('bridges.batch', { time: formatTime(b.last_batch_at, tz) }) }),
        h('p', { class: 'card-line', dataset: { testid: 'spool' }, text: t('bridges.spool', { n: b.spool_size, dead: b.dead_letters }) }),
        h('p', { class: 'card-line', text: [adapterText(b.adapter), b.version ? t('bridges.version', { version: b.version }) : null].filter(Boolean).join(' · ') }),
      ),
    );
  }

  async function load() {
    loading ??= api
      .get(`/api/sites/${site.id}/bridges`)
      .then((bridges) => {
        status.className = 'status';
        status.replaceChildren();
        list.replaceChildren(...(bridges.length ? bridges.map(card) : [h('li', { class: 'empty muted', text: t('bridges.none') })]));
      })
      .catch((err) => {
        if (err?.status === 401) return;
        status.className = 'status notice notice-warn';
        status.replaceChildren(...errorLines(err).map((line) => h('p', { text: line })));
      })
      .finally(() => {
        loading = null;
      });
    return loading;
  }

  const timer = setInterval(() => {
    if (document.visibilityState === 'visible') load();
  }, EVERY_MS);
  return {
    el: h('div', { class: 'bridge-panel' }, status, list),
    load,
    onEvent(name) {
      if (name === 'bridge.batch') load();
    },
    stop: () => clearInterval(timer),
  };
}
