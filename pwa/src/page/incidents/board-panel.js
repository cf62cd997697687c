// High and critical incidents not yet resolved at the site, for the supervisor's board (and the
// top of the incident list): fetched, then kept current by the live `incident.*` events.
//
// The board may mount it and forward its own live events: `incidentBoardPanel(ctx, {live: false})`
// then `panel.onEvent(name)` for each; with `live` left on, the panel listens by itself.
import { NetworkError, api } from '../../utils/api.js';
import { h } from '../../utils/dom.js';
import { formatTime } from '../../utils/format.js';
import { t } from '../../utils/i18n.js';
import { severityBadge, statusBadge, typeText } from './common.js';

const EVENTS = ['hello', 'reload', 'incident.reported', 'incident.updated'];
const RETRY_MS = [1_000, 2_000, 5_000, 10_000, 30_000];

export function incidentBoardPanel(ctx, { live = true, limit = 20 } = {}) {
  const site = ctx.membership.site;
  const list = h('ul', { class: 'cards incident-alerts', dataset: { testid: 'incident-alerts' } });
  const el = h('section', { class: 'board-section incident-panel', dataset: { testid: 'incident-panel' } }, h('h2', { class: 'subtitle', text: t('incidents.alerts_title') }), list);
  let fetching = null;
  let again = false;

  function card(inc) {
    return h(
      'li',
      { class: 'card card-problem incident-alert', dataset: { incident: inc.id, severity: inc.severity } },
      h(
        'button',
        { class: 'card-open', type: 'button', dataset: { action: 'open' }, onclick: () => ctx.go(`/incidents/${inc.id}`) },
        h('span', { class: 'badges' }, severityBadge(inc.severity), h('span', { class: 'badge', text: typeText(inc.type) }), statusBadge(inc.status)),
        h('span', { class: 'incident-text', text: inc.description }),
        h('span', { class: 'card-line', text: [inc.place, inc.reporter_name, formatTime(inc.reported_at, site.timezone)].filter(Boolean).join(' · ') }),
      ),
    );
  }

  async function refresh() {
    if (fetching) {
      again = true;
      return fetching;
    }
    fetching = (async () => {
      try {
        const page = await api.get(`/api/incidents?site_id=${site.id}&severity=high,critical&status=open,assigned&limit=${limit}`);
        list.replaceChildren(...(page.items.length ? page.items.map(card) : [h('li', { class: 'empty muted', text: t('incidents.no_alerts') })]));
        el.dataset.count = String(page.items.length);
      } catch (err) {
        if (!(err instanceof NetworkError) && err?.status !== 401) console.warn('incident alerts', err);
      }
    })().finally(() => {
      fetching = null;
    });
    await fetching;
    if (again) {
      again = false;
      return refresh();
    }
    return null;
  }

  let soon = null;
  function onEvent(name) {
    if (!EVENTS.includes(name)) return;
    clearTimeout(soon);
    soon = setTimeout(refresh, 150);
  }

  // Its own stream when no board forwards events (GET /api/sites/{id}/events, managers only).
  let source = null;
  let timer = null;
  let step = 0;
  let closed = false;
  function connect() {
    if (closed) return;
    source = new EventSource(`/api/sites/${site.id}/events`);
    for (const name of EVENTS) {
      source.addEventListener(name, () => {
        if (name === 'hello') step = 0;
        onEvent(name);
      });
    }
    source.addEventListener('error', () => {
      if (source.readyState !== EventSource.CLOSED) return;
      clearTimeout(timer);
      timer = setTimeout(connect, RETRY_MS[Math.min(step, RETRY_MS.length - 1)]);
      step += 1;
    });
  }
  if (live) connect();
  refresh();

  return {
    el,
    refresh,
    onEvent,
    close() {
      closed = true;
      clearTimeout(timer);
      clearTimeout(soon);
      source?.close();
    },
  };
}
