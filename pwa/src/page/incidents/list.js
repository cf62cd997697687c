// Incidents of the chosen site: reports still on this phone (waiting for photos, waiting to be
// sent, refused) and the server's list — filtered by zone, type, severity, status and date for
// supervisors, the guard's own reports for guards. Read offline from the last copy.
import { NetworkError, api } from '../../utils/api.js';
import { h, icon } from '../../utils/dom.js';
import { formatTime } from '../../utils/format.js';
import { t } from '../../utils/i18n.js';
import { cached, deleteHeld, forgetPhoto, keepCached, onMediaChange, retryPhoto, updateHeld, uploadNow } from '../../utils/media.js';
import { errorLines } from '../../utils/messages.js';
import { onSyncChange } from '../../utils/sync.js';
import { confirmDialog } from '../confirm-dialog.js';
import { ICONS } from '../icons.js';
import { pageHead } from '../page-head.js';
import { reasonLines } from '../reasons.js';
import { incidentBoardPanel } from './board-panel.js';
import { isManager, localReports, notice, placeLine, severityBadge, siteNames, statusBadge, toUpload, typeText } from './common.js';
import { filterBar } from './filters.js';
import { photoGrid } from './photos.js';

const PAGE = 50;

function stateBadge(row) {
  if (row.state === 'photos') {
    const n = toUpload(row.photos);
    return h('span', { class: 'badge badge-accent', dataset: { badge: 'photos', count: String(n) }, text: t('incidents.photos_to_upload', { count: n }) });
  }
  if (row.state === 'rejected') return h('span', { class: 'badge badge-danger', dataset: { badge: 'rejected' }, text: t('incidents.refused') });
  return h('span', { class: 'badge badge-accent', dataset: { badge: 'sending' }, text: t('incidents.waiting_to_send') });
}

export function incidentsView(ctx) {
  const site = ctx.membership.site;
  const tz = site.timezone;
  const uid = ctx.me.user.id;
  const manager = isManager(ctx);
  let names = null;
  let rows = [];
  let total = 0;
  let query = '';

  const status = h('div', { class: 'status', role: 'status', dataset: { testid: 'incidents-status' } });
  const localList = h('ul', { class: 'cards incident-list', dataset: { testid: 'incidents-local' }, 'aria-live': 'polite' });
  const localSection = h('section', { class: 'incident-section', hidden: true }, h('h2', { class: 'subtitle', text: t('incidents.on_this_phone') }), localList);
  const list = h('ul', { class: 'cards incident-list', dataset: { testid: 'incidents' } });
  const copyNote = h('p', { class: 'muted', dataset: { testid: 'incidents-copy' }, hidden: true });
  const more = h('button', { class: 'btn btn-block', type: 'button', hidden: true, dataset: { action: 'more' }, text: t('incidents.more'), onclick: () => load(rows.length) });
  const filters = manager ? filterBar(ctx, { onChange: () => load(0) }) : null;
  const panel = manager ? incidentBoardPanel(ctx) : null;

  const say = (kind, lines) => status.replaceChildren(notice(kind, lines));

  // --- reports on this phone ------------------------------------------------------------------

  async function removePhoto(row, photo) {
    const ok = await confirmDialog({
      title: t('incidents.remove_photo_title'),
      body: t('incidents.remove_photo_body'),
      confirm: t('media.remove'),
      danger: true,
    });
    if (!ok) return;
    await updateHeld(row.held.id, (e) => {
      const photos = e.photos.filter((sha) => sha !== photo.sha256);
      return { ...e, photos, args: { ...e.args, photos: e.args.photos.filter((sha) => sha !== photo.sha256) } };
    });
    await forgetPhoto(photo.sha256);
    uploadNow(); // with the refused photo gone, the report may go now
    drawLocal();
  }

  async function discard(row) {
    const ok = await confirmDialog({
      title: t('incidents.discard_report_title'),
      body: [t('incidents.discard_report_body'), `“${String(row.description).slice(0, 120)}”`],
      confirm: t('incidents.discard'),
      danger: true,
    });
    if (!ok) return;
    await deleteHeld(row.held.id);
    for (const p of row.photos) await forgetPhoto(p.sha256);
    drawLocal();
  }

  function localCard(row) {
    return h(
      'li',
      { class: `card incident-card incident-local incident-${row.state}`, dataset: { incident: row.id, state: row.state } },
      h(
        'div',
        { class: 'card-main' },
        h('p', { class: 'badges' }, h('span', { class: 'badge', text: typeText(row.type) }), severityBadge(row.severity), stateBadge(row)),
        h('p', { class: 'entry-text incident-text', text: row.description }),
        h('p', { class: 'card-line', text: [placeLine(row, names), formatTime(row.client_time, tz)].filter(Boolean).join(' · ') }),
        row.state === 'rejected'
          ? h('div', { class: 'reason', dataset: { testid: 'reason' } }, reasonLines(row.mutation).map((line) => h('p', { text: line })))
          : null,
        photoGrid(row.photos, row.held ? { onRemove: (p) => removePhoto(row, p), onRetry: (p) => retryPhoto(p.sha256) } : {}),
      ),
      row.state === 'rejected'
        ? h('button', { class: 'btn', type: 'button', dataset: { action: 'open-outbox' }, text: t('duty.fix_in_outbox'), onclick: () => ctx.go('/outbox') })
        : null,
      row.held ? h('button', { class: 'btn', type: 'button', dataset: { action: 'discard-report' }, text: t('incidents.discard'), onclick: () => discard(row) }) : null,
    );
  }

  let drawing = null;
  let drawAgain = false;
  async function drawLocal() {
    if (drawing) {
      drawAgain = true;
      return;
    }
    drawing = (async () => {
      do {
        drawAgain = false;
        const local = await localReports(ctx).catch((err) => {
          console.error(err);
          return [];
        });
        localSection.hidden = !local.length;
        localList.replaceChildren(...local.map(localCard));
        view.dataset.local = String(local.length);
      } while (drawAgain);
    })();
    await drawing;
    drawing = null;
  }

  // --- the server's list ----------------------------------------------------------------------

  function serverCard(inc) {
    return h(
      'li',
      { class: 'card incident-card', dataset: { incident: inc.id, status: inc.status, severity: inc.severity } },
      h(
        'button',
        { class: 'card-open', type: 'button', dataset: { action: 'open' }, onclick: () => ctx.go(`/incidents/${inc.id}`) },
        h('span', { class: 'badges' }, h('span', { class: 'badge', text: typeText(inc.type) }), severityBadge(inc.severity), statusBadge(inc.status)),
        h('span', { class: 'incident-text', text: inc.description }),
        h('span', { class: 'card-line', text: [placeLine(inc, names), formatTime(inc.reported_at, tz)].filter(Boolean).join(' · ') }),
        h(
          'span',
          { class: 'card-line' },
          t('incidents.by', { name: inc.reporter_name }),
          inc.assignee_name ? ` · ${t('incidents.assignee_is', { name: inc.assignee_name })}` : '',
          inc.photos.length ? h('span', { class: 'photo-count' }, ' · ', icon(ICONS.photo, 'icon icon-sm'), ` ${inc.photos.length}`) : '',
        ),
      ),
    );
  }

  function drawServer() {
    const shown = manager ? rows : rows.filter((r) => r.reporter_id === uid);
    list.replaceChildren(...(shown.length ? shown.map(serverCard) : [h('li', { class: 'empty muted', text: t(manager ? 'incidents.none_found' : 'incidents.none_mine') })]));
    more.hidden = rows.length >= total;
    view.dataset.count = String(shown.length);
  }

  async function load(offset = 0) {
    const params = new URLSearchParams({ site_id: String(site.id), limit: String(manager ? PAGE : 200), offset: String(offset) });
    if (filters) for (const [k, v] of Object.entries(filters.read())) if (v) params.set(k, v);
    const q = params.toString();
    query = q;
    try {
      const page = await api.get(`/api/incidents?${q}`);
      if (query !== q) return; // a newer filter won
      rows = offset ? [...rows, ...page.items] : page.items;
      total = page.total;
      copyNote.hidden = true;
      status.replaceChildren();
      if (!offset) await keepCached(uid, `incidents:${q}`, page).catch(() => {});
    } catch (err) {
      if (err?.status === 401) return;
      if (!(err instanceof NetworkError)) {
        say('error', errorLines(err));
        return;
      }
      const copy = await cached(uid, `incidents:${q}`).catch(() => null);
      if (copy && !offset) {
        rows = copy.value.items;
        total = copy.value.total;
        copyNote.hidden = false;
        copyNote.textContent = t('incidents.offline_copy', { time: formatTime(copy.at, tz) });
      } else if (!offset) {
        rows = [];
        total = 0;
        say('warn', [t('incidents.offline_no_copy')]);
      }
    }
    drawServer();
  }

  const view = h(
    'section',
    { class: `page incidents${manager ? ' incidents-manager' : ''}`, 'aria-labelledby': 'page-title', dataset: { testid: 'incidents-page' } },
    pageHead(ctx, 'incidents.title'),
    h('p', { class: 'muted', text: site.name }),
    h('button', { class: 'btn btn-primary btn-block', type: 'button', dataset: { action: 'new-incident' }, onclick: () => ctx.go('/incidents/new') }, icon(ICONS.incidents), h('span', { text: t('incidents.new') })),
    status,
    panel?.el,
    localSection,
    h('h2', { class: 'subtitle', text: t(manager ? 'incidents.list_title' : 'incidents.mine_title') }),
    filters?.el,
    copyNote,
    list,
    more,
  );

  const offSync = onSyncChange((_, what) => {
    drawLocal();
    if (what === 'pulled') load(0);
  });
  const offMedia = onMediaChange(() => drawLocal());
  view.addEventListener('leave', () => {
    offSync();
    offMedia();
    panel?.close();
  });

  (async () => {
    names = await siteNames(ctx, () => {
      filters?.setNames(names);
      drawLocal();
      drawServer();
    });
    filters?.setNames(names);
    drawLocal();
    load(0);
  })();
  return view;
}
