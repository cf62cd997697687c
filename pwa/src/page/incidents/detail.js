// One incident (/incidents/<id>): what, where, who and when; its photos (thumbnails open the
// display image; each original's SHA-256 shown); the timeline; a comment and more photos (both
// queued offline); the supervisor's workflow and the PDF. A report still on this phone is shown
// from the phone until the server has it.
import { NetworkError, api } from '../../utils/api.js';
import { h } from '../../utils/dom.js';
import { formatTime } from '../../utils/format.js';
import { t } from '../../utils/i18n.js';
import { MAX_PHOTOS, cached, clearDraft, keepCached, listHeld, loadDraft, onMediaChange, photoStates, queueWithPhotos, saveDraft } from '../../utils/media.js';
import { errorLines } from '../../utils/messages.js';
import { REJECTED, addMutation, listMutations, localIso } from '../../utils/outbox.js';
import { onSyncChange, queued } from '../../utils/sync.js';
import { pageHead } from '../page-head.js';
import { managerActions } from './actions.js';
import { ADD_PHOTOS, COMMENT, isManager, localReports, me, notice, placeLine, severityBadge, siteNames, statusBadge, toUpload, typeText } from './common.js';
import { photoDialog, photoGrid, photoPicker } from './photos.js';
import { timelineList } from './timeline.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** This phone's comments and added photos for the incident that the server has not taken yet. */
async function waitingSteps(ctx, incidentId) {
  const uid = ctx.me.user.id;
  const [outbox, held] = await Promise.all([listMutations(uid), listHeld(uid)]);
  const out = [];
  for (const entry of held) {
    if (entry.name !== ADD_PHOTOS || entry.args?.incident_id !== incidentId) continue;
    const states = await photoStates(entry.photos);
    out.push({ kind: 'photos_added', state: 'photos', count: entry.photos.length, pending: toUpload(states), client_time: entry.args.client_time });
  }
  for (const m of outbox) {
    if (m.args?.incident_id !== incidentId || (m.name !== COMMENT && m.name !== ADD_PHOTOS)) continue;
    out.push({
      kind: m.name === COMMENT ? 'comment' : 'photos_added',
      state: m.status === REJECTED ? 'rejected' : 'sending',
      text: m.args.text || '',
      count: (m.args.photos || []).length,
      client_time: m.args.client_time || m.client_time,
    });
  }
  return out;
}

export function incidentDetailView(ctx) {
  const id = location.pathname.split('/').pop();
  const site = ctx.membership.site;
  const tz = site.timezone;
  const uid = ctx.me.user.id;
  const manager = isManager(ctx);
  let names = null;
  let incident = null; // the server's detail
  let local = null; // the phone's report while the server does not have it
  let copyAt = null; // when the shown copy was read, if offline
  let adding = []; // hashes picked to add to the incident
  let loadError = null;

  const status = h('div', { class: 'status', role: 'status', dataset: { testid: 'incident-status' } });
  const body = h('div', { class: 'incident-body' });
  const say = (kind, lines) => status.replaceChildren(notice(kind, lines));

  // --- what the screen shows -------------------------------------------------------------------

  function facts(inc, when) {
    return h(
      'dl',
      { class: 'facts' },
      h('dt', { text: t('incidents.where') }),
      h('dd', { dataset: { testid: 'incident-place' }, text: placeLine(inc, names) || t('incidents.not_given') }),
      h('dt', { text: t('incidents.reported_by') }),
      h('dd', { text: inc.reporter_name || ctx.me.user.display_name || ctx.me.user.username }),
      h('dt', { text: t('incidents.reported_at') }),
      h('dd', { text: formatTime(when, tz) }),
      inc.received_at ? [h('dt', { text: t('incidents.received_at') }), h('dd', { text: formatTime(inc.received_at, tz) })] : null,
      inc.assignee_name ? [h('dt', { text: t('incidents.assignee') }), h('dd', { dataset: { testid: 'assignee' }, text: inc.assignee_name })] : null,
    );
  }

  function serverPhotos(inc) {
    return inc.photos.map((p) => ({ ...p, url: p.thumb_url, status: undefined }));
  }

  // The comment and the photos being added are built once: redraws move them, never reset them.
  const commentText = h('textarea', { id: 'incident-comment', name: 'comment', class: 'input textarea', rows: 3, maxlength: 4000, placeholder: t('incidents.comment_placeholder') });
  const commentForm = h(
    'form',
    {
      class: 'form comment-form',
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        const value = commentText.value.trim();
        if (!value) {
          commentText.setAttribute('aria-invalid', 'true');
          return;
        }
        try {
          await addMutation(me(ctx), COMMENT, { incident_id: id, text: value, client_time: localIso() });
          commentText.value = '';
          commentText.removeAttribute('aria-invalid');
          say('ok', [t('incidents.comment_saved')]);
          queued();
          draw();
        } catch (err) {
          console.error(err);
          say('error', [t('client.storage')]);
        }
      },
    },
    h('label', { class: 'label', for: 'incident-comment', text: t('incidents.comment') }),
    commentText,
    h('button', { class: 'btn btn-primary', type: 'submit', dataset: { action: 'comment' }, text: t('incidents.add_comment') }),
  );

  const addingGrid = h('div', { class: 'photo-slot' });
  const addingSend = h('button', { class: 'btn btn-primary', type: 'button', hidden: true, dataset: { action: 'add-photos' } });
  let addingDrawn = 0;
  // Photos picked but not yet added are a draft too: closing the app keeps them.
  const addingKey = `incident-photos:${uid}:${id}`;
  const keepAdding = () =>
    (adding.length ? saveDraft(addingKey, { user_id: uid, photos: [...adding] }) : clearDraft(addingKey)).catch((err) => console.error(err));
  async function drawAdding() {
    const n = ++addingDrawn;
    const states = await photoStates(adding);
    if (n !== addingDrawn) return;
    addingGrid.replaceChildren(
      photoGrid(states, {
        onRemove: (p) => {
          adding = adding.filter((sha) => sha !== p.sha256);
          keepAdding();
          drawAdding();
        },
      }) || '',
    );
    addingSend.hidden = !adding.length;
    addingSend.textContent = t('incidents.add_n_photos', { count: adding.length });
  }
  const adder = photoPicker({
    count: () => (incident?.photos.length || 0) + adding.length,
    say,
    onAdded: (photo) => {
      if (!adding.includes(photo.sha256) && !incident?.photos.some((p) => p.sha256 === photo.sha256)) adding.push(photo.sha256);
      keepAdding();
      drawAdding();
    },
  });
  addingSend.addEventListener('click', async () => {
    const photos = [...adding];
    try {
      await queueWithPhotos(me(ctx), ADD_PHOTOS, { incident_id: id, photos, client_time: localIso() }, photos);
      adding = [];
      await clearDraft(addingKey);
      say('ok', [t('incidents.photos_queued', { count: photos.length })]);
      drawAdding();
      draw();
    } catch (err) {
      console.error(err);
      say('error', [t('client.storage')]);
    }
  });
  const addPhotos = h('div', { class: 'add-photos' }, h('h2', { class: 'subtitle', text: t('incidents.add_photos') }), adder.el, addingGrid, addingSend);

  let drawn = 0;
  async function draw() {
    const n = ++drawn;
    const waiting = await waitingSteps(ctx, id).catch(() => []);
    if (n !== drawn) return; // a newer drawing is under way
    if (local && !incident) {
      body.replaceChildren(
        ...[
        h('p', { class: 'badges' }, h('span', { class: 'badge', text: typeText(local.type) }), severityBadge(local.severity), h('span', { class: 'badge badge-accent', dataset: { badge: local.state }, text: local.state === 'photos' ? t('incidents.photos_to_upload', { count: toUpload(local.photos) }) : t(local.state === 'rejected' ? 'incidents.refused' : 'incidents.waiting_to_send') })),
        notice('info', [t('incidents.only_on_phone')]),
        h('p', { class: 'entry-text incident-description', text: local.description }),
        facts({ ...local, reporter_name: '' }, local.client_time),
        h('h2', { class: 'subtitle', text: t('incidents.photos') }),
        photoGrid(local.photos, { showHash: true }) || h('p', { class: 'muted', text: t('incidents.no_photos') }),
        ].filter(Boolean),
      );
      return;
    }
    if (!incident) {
      body.replaceChildren(loadError ? notice('warn', errorLines(loadError)) : h('p', { class: 'muted', text: t('common.loading') }));
      return;
    }
    const inc = incident;
    const photos = serverPhotos(inc);
    body.replaceChildren(
      ...[
      h('p', { class: 'badges' }, h('span', { class: 'badge', text: typeText(inc.type) }), severityBadge(inc.severity), statusBadge(inc.status)),
      copyAt ? h('p', { class: 'muted', dataset: { testid: 'incident-copy' }, text: t('incidents.offline_copy', { time: formatTime(copyAt, tz) }) }) : null,
      h('p', { class: 'entry-text incident-description', dataset: { testid: 'incident-description' }, text: inc.description }),
      facts(inc, inc.reported_at),
      manager ? managerActions(ctx, inc, { onDone: (answer) => show(answer), onError: (err) => say(err instanceof NetworkError ? 'warn' : 'error', err instanceof NetworkError ? [t('incidents.needs_connection')] : errorLines(err)) }) : null,
      h('h2', { class: 'subtitle', text: t('incidents.photos_n', { count: photos.length }) }),
      photoGrid(photos, { showHash: true, onOpen: (p) => photoDialog(p, { original: manager ? p.original_url : null }) }) || h('p', { class: 'muted', text: t('incidents.no_photos') }),
      inc.status !== 'closed' && photos.length < MAX_PHOTOS ? addPhotos : null,
      h('h2', { class: 'subtitle', text: t('incidents.timeline') }),
      timelineList(inc.timeline || [], waiting, tz),
      commentForm,
      ].filter(Boolean),
    );
  }

  function show(detail) {
    incident = detail;
    copyAt = null;
    view.dataset.status = detail.status;
    status.replaceChildren();
    keepCached(uid, `incident:${id}`, detail).catch(() => {});
    draw();
  }

  async function load() {
    local = (await localReports(ctx).catch(() => [])).find((r) => r.id === id) || null;
    try {
      show(await api.get(`/api/incidents/${id}`));
      view.dataset.state = 'server';
      return;
    } catch (err) {
      if (err?.status === 401) return;
      loadError = err;
      if (err instanceof NetworkError) {
        const copy = await cached(uid, `incident:${id}`).catch(() => null);
        if (copy) {
          incident = copy.value;
          copyAt = copy.at;
          loadError = null;
        }
      }
    }
    view.dataset.state = local && !incident ? 'local' : incident ? 'copy' : 'missing';
    draw();
  }

  const view = h(
    'section',
    { class: 'page incident-detail', 'aria-labelledby': 'page-title', dataset: { testid: 'incident-detail', incident: id, state: 'loading' } },
    pageHead(ctx, 'incidents.detail_title'),
    h('button', { class: 'btn', type: 'button', dataset: { action: 'to-list' }, text: t('incidents.back_to_list'), onclick: () => ctx.go('/incidents') }),
    status,
    body,
  );
  if (!UUID.test(id)) {
    body.replaceChildren(notice('error', [t('incidents.not_found')]));
    return view;
  }

  // A comment or photo sent, or a report that reached the server: read it again.
  let soon = null;
  const again = () => {
    clearTimeout(soon);
    soon = setTimeout(load, 200);
  };
  const offSync = onSyncChange((_, what) => (what === 'pulled' ? again() : draw()));
  const offMedia = onMediaChange(() => {
    draw();
    drawAdding();
  });
  view.addEventListener('leave', () => {
    offSync();
    offMedia();
    clearTimeout(soon);
  });
  (async () => {
    names = await siteNames(ctx, () => draw());
    adding = (await loadDraft(addingKey).catch(() => null))?.photos || [];
    drawAdding();
    await load();
  })();
  return view;
}
