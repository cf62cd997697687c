// Reporting an incident (phone, often no signal): type, severity, where, what, up to 10 photos.
// Every change is kept as a draft on the phone at once, so a closed or killed app loses nothing;
// saving queues the report to be sent once its photos are on the server.
import { h, icon } from '../../utils/dom.js';
import { positionForScan } from '../../utils/geo.js';
import { t } from '../../utils/i18n.js';
import { MAX_PHOTOS, clearDraft, forgetPhoto, listHeld, loadDraft, onMediaChange, photoStates, queueWithPhotos, saveDraft } from '../../utils/media.js';
import { listMutations, localIso } from '../../utils/outbox.js';
import { confirmDialog } from '../confirm-dialog.js';
import { ICONS } from '../icons.js';
import { pageHead } from '../page-head.js';
import { REPORT, SEVERITIES, TYPES, me, notice, siteNames } from './common.js';
import { photoGrid, photoPicker } from './photos.js';

const MAX_DESCRIPTION = 4000;
const MAX_PLACE = 200;
const SAVE_AFTER_MS = 150;

const draftKey = (ctx) => `incident:${ctx.me.user.id}:${ctx.membership.site.id}`;

function freshDraft(ctx) {
  return {
    user_id: ctx.me.user.id,
    id: crypto.randomUUID(), // the incident's id from the first tap: a retried report is one report
    type: '',
    severity: 'medium',
    zone_id: null,
    checkpoint_id: null,
    place: '',
    description: '',
    position: null,
    photos: [],
    started_at: new Date().toISOString(),
  };
}

/** A draft whose report was already queued (the app died between the two steps) is done. */
async function alreadyQueued(ctx, id) {
  const uid = ctx.me.user.id;
  const [held, outbox] = await Promise.all([listHeld(uid), listMutations(uid)]);
  return held.some((e) => e.name === REPORT && e.args?.id === id) || outbox.some((m) => m.name === REPORT && m.args?.id === id);
}

function choiceGroup(name, values, textOf, testid) {
  return h(
    'div',
    { class: `choice-grid choice-grid-${name}`, role: 'radiogroup', dataset: { testid } },
    values.map((value) =>
      h(
        'label',
        { class: `choice-toggle choice-${name}-${value}`, dataset: { value } },
        h('input', { type: 'radio', name, value }),
        h('span', { text: textOf(value) }),
      ),
    ),
  );
}

export function reportView(ctx) {
  const site = ctx.membership.site;
  let draft = freshDraft(ctx);
  let names = null;
  let saveTimer = null;
  let ready = false;

  const status = h('div', { class: 'status', role: 'status', dataset: { testid: 'report-status' } });
  const say = (kind, lines) => status.replaceChildren(notice(kind, lines));

  const types = choiceGroup('type', TYPES, (v) => t(`incident.type.${v}`), 'incident-type');
  const severities = choiceGroup('severity', SEVERITIES, (v) => t(`incident.severity.${v}`), 'incident-severity');
  const zone = h('select', { id: 'incident-zone', name: 'zone_id', class: 'input select' });
  const checkpoint = h('select', { id: 'incident-checkpoint', name: 'checkpoint_id', class: 'input select' });
  const place = h('input', { id: 'incident-place', name: 'place', class: 'input', maxlength: MAX_PLACE, autocomplete: 'off', placeholder: t('incidents.place_placeholder') });
  const description = h('textarea', {
    id: 'incident-description',
    name: 'description',
    class: 'input textarea',
    rows: 5,
    maxlength: MAX_DESCRIPTION,
    placeholder: t('incidents.description_placeholder'),
  });
  const positionLine = h('p', { class: 'muted position-line', dataset: { testid: 'position' } });
  const positionBtn = h('button', { class: 'btn', type: 'button', dataset: { action: 'position' } }, icon(ICONS.patrol), h('span', { text: t('incidents.use_position') }));
  const photoCount = h('p', { class: 'muted', dataset: { testid: 'photo-count' } });
  const gridSlot = h('div', { class: 'photo-slot' });
  const submit = h('button', { class: 'btn btn-primary btn-block', type: 'submit', dataset: { action: 'save-report' }, text: t('incidents.save') });

  // --- the draft ------------------------------------------------------------------------------

  function read() {
    const checked = (name) => view.querySelector(`input[name=${name}]:checked`)?.value || '';
    draft.type = checked('type');
    draft.severity = checked('severity') || 'medium';
    draft.zone_id = zone.value ? Number(zone.value) : null;
    draft.checkpoint_id = checkpoint.value ? Number(checkpoint.value) : null;
    draft.place = place.value;
    draft.description = description.value;
  }

  async function persist() {
    clearTimeout(saveTimer);
    if (!ready) return;
    read();
    try {
      await saveDraft(draftKey(ctx), { ...draft, updated_at: new Date().toISOString() });
      view.dataset.draft = 'saved';
    } catch (err) {
      console.error(err);
      say('error', [t('client.storage')]);
    }
  }

  function persistSoon() {
    view.dataset.draft = 'dirty';
    clearTimeout(saveTimer);
    saveTimer = setTimeout(persist, SAVE_AFTER_MS);
  }

  function fillSelects() {
    const keepZone = draft.zone_id != null ? String(draft.zone_id) : '';
    const keepCp = draft.checkpoint_id != null ? String(draft.checkpoint_id) : '';
    const zones = (names?.zones || []).filter((z) => z.is_active !== false || String(z.id) === keepZone);
    zone.replaceChildren(h('option', { value: '', text: t('incidents.no_zone') }), ...zones.map((z) => h('option', { value: String(z.id), text: z.name })));
    const cps = (names?.checkpoints || []).filter((c) => c.is_active !== false || String(c.id) === keepCp);
    checkpoint.replaceChildren(h('option', { value: '', text: t('incidents.no_checkpoint') }), ...cps.map((c) => h('option', { value: String(c.id), text: c.name })));
    for (const [select, keep] of [
      [zone, keepZone],
      [checkpoint, keepCp],
    ]) {
      if (keep && ![...select.options].some((o) => o.value === keep)) select.append(h('option', { value: keep, text: `#${keep}` }));
      select.value = keep;
    }
  }

  function showPosition() {
    const p = draft.position;
    positionLine.textContent = p
      ? t('incidents.position_at', { lat: p.latitude.toFixed(5), lon: p.longitude.toFixed(5), acc: Math.round(p.accuracy_m ?? 0) })
      : t('incidents.no_position');
    positionBtn.querySelector('span').textContent = t(p ? 'incidents.drop_position' : 'incidents.use_position');
  }

  let drawn = 0;
  async function drawPhotos() {
    const n = ++drawn;
    const states = await photoStates(draft.photos);
    if (n !== drawn) return; // a newer drawing is under way
    photoCount.textContent = t('incidents.photo_count', { count: draft.photos.length, max: MAX_PHOTOS });
    gridSlot.replaceChildren(
      photoGrid(states, {
        onRemove: async (photo) => {
          draft.photos = draft.photos.filter((sha) => sha !== photo.sha256);
          await persist();
          await forgetPhoto(photo.sha256);
          drawPhotos();
        },
      }) || '',
    );
  }

  function fill() {
    for (const [name, value] of [
      ['type', draft.type],
      ['severity', draft.severity],
    ]) {
      for (const input of view.querySelectorAll(`input[name=${name}]`)) input.checked = input.value === value;
    }
    place.value = draft.place || '';
    description.value = draft.description || '';
    fillSelects();
    showPosition();
    drawPhotos();
  }

  // --- actions ----------------------------------------------------------------------------------

  const picker = photoPicker({
    count: () => draft.photos.length,
    say,
    onAdded: async (photo) => {
      if (!draft.photos.includes(photo.sha256)) draft.photos.push(photo.sha256);
      await persist();
      drawPhotos();
    },
  });

  async function togglePosition() {
    if (draft.position) {
      draft.position = null;
    } else {
      positionBtn.disabled = true;
      const found = await positionForScan().catch(() => null);
      positionBtn.disabled = false;
      if (!found) {
        say('warn', [t('incidents.position_unavailable')]);
        return;
      }
      draft.position = found;
    }
    showPosition();
    persist();
  }
  positionBtn.addEventListener('click', togglePosition);

  checkpoint.addEventListener('change', () => {
    // A checkpoint names its zone: filled in when the guard has not chosen one.
    const cp = names?.checkpoints.find((c) => String(c.id) === checkpoint.value);
    if (cp?.zone_id != null && !zone.value) zone.value = String(cp.zone_id);
  });

  async function onSubmit(event) {
    event.preventDefault();
    clearTimeout(saveTimer);
    read();
    const problems = [];
    if (!draft.type) problems.push(t('incidents.type_required'));
    const text = draft.description.trim();
    if (!text) {
      problems.push(t('incidents.description_required'));
      description.setAttribute('aria-invalid', 'true');
    }
    if (problems.length) {
      say('error', problems);
      return;
    }
    const args = {
      id: draft.id,
      site_id: site.id,
      type: draft.type,
      severity: draft.severity,
      description: text,
      place: draft.place.trim(),
      photos: [...draft.photos],
      client_time: localIso(),
    };
    if (draft.zone_id != null) args.zone_id = draft.zone_id;
    if (draft.checkpoint_id != null) args.checkpoint_id = draft.checkpoint_id;
    if (draft.position) {
      args.latitude = draft.position.latitude;
      args.longitude = draft.position.longitude;
    }
    submit.disabled = true;
    try {
      // Queued first (on disk), then the draft goes: a crash between leaves a draft that is
      // recognised as sent when the form opens again.
      if (!(await alreadyQueued(ctx, draft.id))) await queueWithPhotos(me(ctx), REPORT, args, args.photos);
      await clearDraft(draftKey(ctx));
      const count = args.photos.length;
      ctx.go('/incidents', {
        notice: { kind: 'ok', lines: () => [count ? t('incidents.saved_with_photos', { count }) : t('incidents.saved')] },
      });
    } catch (err) {
      console.error(err);
      say('error', [t('client.storage')]);
      submit.disabled = false;
    }
  }

  async function discardDraft() {
    const ok = await confirmDialog({
      title: t('incidents.discard_title'),
      body: t('incidents.discard_body'),
      confirm: t('incidents.discard'),
      danger: true,
    });
    if (!ok) return;
    const photos = [...draft.photos];
    await clearDraft(draftKey(ctx));
    for (const sha of photos) await forgetPhoto(sha);
    draft = freshDraft(ctx);
    fill();
    say('ok', [t('incidents.draft_discarded')]);
  }

  const field = (id, key, control) => h('div', { class: 'field' }, h('label', { class: 'label', for: id, text: t(key) }), control);
  const form = h(
    'form',
    { class: 'form incident-form', novalidate: true, onsubmit: onSubmit, oninput: persistSoon, onchange: persistSoon },
    h('fieldset', { class: 'group' }, h('legend', { class: 'label', text: t('incidents.type') }), types),
    h('fieldset', { class: 'group' }, h('legend', { class: 'label', text: t('incidents.severity') }), severities),
    h('div', { class: 'field-pair' }, field('incident-zone', 'incidents.zone', zone), field('incident-checkpoint', 'incidents.checkpoint', checkpoint)),
    field('incident-place', 'incidents.place', place),
    h('div', { class: 'position-row' }, positionBtn, positionLine),
    field('incident-description', 'incidents.description', description),
    h('h2', { class: 'subtitle', text: t('incidents.photos') }),
    picker.el,
    photoCount,
    gridSlot,
    submit,
    h('button', { class: 'btn btn-block', type: 'button', dataset: { action: 'discard-draft' }, text: t('incidents.discard'), onclick: discardDraft }),
  );
  const view = h(
    'section',
    { class: 'page incident-report', 'aria-labelledby': 'page-title', dataset: { testid: 'incident-report', draft: 'loading' } },
    pageHead(ctx, 'incidents.report_title'),
    h('p', { class: 'muted', text: site.name }),
    status,
    form,
  );
  // Each photo's state follows the uploads (done here, in another tab or in the worker).
  const offMedia = onMediaChange(() => drawPhotos());
  // Leaving the screen (or the app going to the background) keeps what was typed.
  view.addEventListener('leave', () => {
    offMedia();
    persist();
  });
  const onHide = () => {
    if (!view.isConnected) document.removeEventListener('visibilitychange', onHide);
    else if (document.visibilityState === 'hidden') persist();
  };
  document.addEventListener('visibilitychange', onHide);

  (async () => {
    names = await siteNames(ctx, () => fillSelects());
    const kept = await loadDraft(draftKey(ctx)).catch(() => null);
    if (kept?.id && !(await alreadyQueued(ctx, kept.id))) {
      draft = { ...freshDraft(ctx), ...kept };
      if (draft.description || draft.photos.length || draft.type) say('info', [t('incidents.draft_restored')]);
    } else if (kept) {
      await clearDraft(draftKey(ctx));
    }
    fill();
    ready = true;
    view.dataset.draft = 'ready';
  })();
  return view;
}
