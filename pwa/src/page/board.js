// The supervisor's board (tablet, landscape): rounds in progress, missed and late checkpoints,
// what guards found at checklists (an item answered "no", a note), the review queue, each
// guard's last scan, hotspots, fire equipment needing a person and the health of the site's BLE
// bridges, kept live by server-sent events.
// `/review` is the same board showing only the review queue.
import { NetworkError, api } from '../utils/api.js';
import { h, icon } from '../utils/dom.js';
import { formatClock, formatSpan, formatTime } from '../utils/format.js';
import { t } from '../utils/i18n.js';
import { openLive } from '../utils/live.js';
import { errorLines } from '../utils/messages.js';
import { bridgesPanel } from './bridges/board-panel.js';
import { equipmentPanel } from './equipment/board-panel.js';
import { incidentBoardPanel } from './incidents/board-panel.js';
import { photoDialog, photoGrid } from './incidents/photos.js';
import { hotspotForm } from './hotspot-form.js';
import { ICONS } from './icons.js';
import { pageHead } from './page-head.js';
import { reviewQueue } from './review-queue.js';
import { methodText, reasonsLine, verdictBadge } from './verdict.js';

const TICK_MS = 30_000;

function namesOf(board) {
  const cps = board?.checkpoint_names || {};
  const guards = board?.guard_names || {};
  return {
    checkpoint: (id) => (id == null ? t('board.unknown_checkpoint') : cps[id] || `#${id}`),
    guard: (id) => (id == null ? '' : guards[id] || `#${id}`),
  };
}

function createBoard(ctx, { only }) {
  const site = ctx.membership.site;
  const tz = site.timezone;
  let board = null;
  let tours = [];
  let zones = [];
  let fetching = null;
  let again = false;

  const live = h('span', { class: 'live live-connecting', dataset: { testid: 'live', live: 'connecting' }, text: t('board.connecting') });
  const updated = h('span', { class: 'muted board-updated', dataset: { testid: 'board-updated' } });
  const status = h('div', { class: 'status', role: 'status', dataset: { testid: 'board-status' } });
  const inProgress = h('ul', { class: 'cards board-rounds', dataset: { testid: 'rounds-in-progress' } });
  const problems = h('ul', { class: 'cards board-problems', dataset: { testid: 'rounds-with-problems' } });
  const guards = h('ul', { class: 'cards board-guards', dataset: { testid: 'guards' } });
  const findings = h('ul', { class: 'cards board-findings', dataset: { testid: 'checklist-findings' } });
  const queue = reviewQueue(ctx, { onDecided: () => load() });
  const hotspots = only ? null : hotspotForm(ctx, { onAdded: () => load({ tours: true }) });
  const equipment = only ? null : equipmentPanel(ctx);
  const bridges = only ? null : bridgesPanel(ctx);
  // High and critical incidents still open; fed by this board's own event stream.
  const incidents = only ? null : incidentBoardPanel(ctx, { live: false });

  const tourOf = (id) => tours.find((x) => x.id === id);
  const tourName = (id) => tourOf(id)?.name || t('patrol.round');

  function stopChip(stop, names) {
    return h('li', { class: `chip chip-${stop.status}`, dataset: { checkpoint: String(stop.checkpoint_id), state: stop.status }, text: names.checkpoint(stop.checkpoint_id) });
  }

  function roundCard(round, names) {
    const left = Date.parse(round.closes_at) - Date.now();
    const tour = tourOf(round.tour_id);
    return h(
      'li',
      { class: 'card board-round', dataset: { round: String(round.id), done: String(round.done), total: String(round.total) } },
      h(
        'div',
        { class: 'card-main' },
        h('p', { class: 'card-title', text: tourName(round.tour_id) }),
        h(
          'p',
          { class: 'badges' },
          tour?.hotspot_zone_id != null ? h('span', { class: 'badge badge-accent', text: t('patrol.hotspot') }) : null,
          h('span', { class: 'badge', text: round.guard_id != null ? names.guard(round.guard_id) : t('board.not_started') }),
        ),
        h('p', { class: 'card-line', text: t('patrol.window', { due: formatClock(round.due_at, tz), closes: formatClock(round.closes_at, tz) }) + ' · ' + (left > 0 ? t('board.left', { left: formatSpan(left) }) : t('board.closing')) }),
        h('progress', { class: 'progress', max: String(Math.max(round.total, 1)), value: String(round.done), 'aria-label': t('patrol.progress_label') }),
        h('p', { class: 'progress-text', text: t('patrol.progress', { done: round.done, total: round.total }) }),
        h('ul', { class: 'chips' }, round.stops.map((s) => stopChip(s, names))),
      ),
    );
  }

  function problemCard(round, names) {
    const missed = round.stops.filter((s) => s.status === 'missed').map((s) => names.checkpoint(s.checkpoint_id));
    const late = round.stops.filter((s) => s.status === 'late').map((s) => names.checkpoint(s.checkpoint_id));
    return h(
      'li',
      { class: 'card card-problem', dataset: { round: String(round.id) } },
      h(
        'div',
        { class: 'card-main' },
        h('p', { class: 'card-title', text: tourName(round.tour_id) }),
        h('p', { class: 'card-line', text: t('patrol.window', { due: formatClock(round.due_at, tz), closes: formatClock(round.closes_at, tz) }) + (round.guard_id != null ? ` · ${names.guard(round.guard_id)}` : '') }),
        missed.length ? h('p', { class: 'problem-line problem-missed', dataset: { testid: 'missed' }, text: t('board.missed', { names: missed.join('、') }) }) : null,
        late.length ? h('p', { class: 'problem-line problem-late', dataset: { testid: 'late' }, text: t('board.late', { names: late.join('、') }) }) : null,
      ),
    );
  }

  function findingCard(finding, names) {
    const scan = finding.scan;
    return h(
      'li',
      { class: `card${finding.failed.length ? ' card-problem' : ''}`, dataset: { scan: scan.id, checkpoint: String(scan.checkpoint_id) } },
      h(
        'div',
        { class: 'card-main' },
        h('p', { class: 'card-title', text: names.checkpoint(scan.checkpoint_id) }),
        h('p', { class: 'card-line', text: t('board.found_by', { guard: names.guard(scan.guard_id), time: formatTime(scan.client_time, tz) }) }),
        finding.failed.length ? h('p', { class: 'problem-line problem-missed', dataset: { testid: 'failed-items' }, text: t('board.failed_items', { names: finding.failed.join('、') }) }) : null,
        ...finding.notes.map((note) => h('p', { class: 'card-line', dataset: { testid: 'finding-note' }, text: t('board.note_line', note) })),
        findingPhotos(finding.photos || []),
      ),
    );
  }

  /** The photos taken at the checklist, as the incidents show theirs: a thumbnail opens the photo. */
  function findingPhotos(photos) {
    if (!photos.length) return null;
    const shown = photos.map((p) => ({ ...p, url: p.thumb_url }));
    const grid = photoGrid(shown, { onOpen: (p) => photoDialog(p, { original: p.original_url }) });
    return h('div', { class: 'finding-photos', dataset: { testid: 'finding-photos' } }, h('p', { class: 'card-line', text: t('board.finding_photos', { labels: [...new Set(photos.map((p) => p.label))].join('、') }) }), grid);
  }

  function guardCard(row, names) {
    const scan = row.scan;
    return h(
      'li',
      { class: 'card', dataset: { guard: String(row.guard_id), scan: scan.id } },
      h(
        'div',
        { class: 'card-main' },
        h('p', { class: 'card-title', text: row.guard_name }),
        h('p', { class: 'card-line', text: t('board.last_scan', { checkpoint: names.checkpoint(scan.checkpoint_id), time: formatTime(scan.client_time, tz) }) }),
        h('p', { class: 'badges' }, h('span', { class: 'badge', text: methodText(scan.method) }), verdictBadge(scan)),
        reasonsLine(scan.reasons),
      ),
    );
  }

  const empty = (key) => h('li', { class: 'empty muted', text: t(key) });

  function draw() {
    if (!board) return;
    const names = namesOf(board);
    queue.render(board.review_queue, names);
    view.dataset.queue = String(board.review_queue.length);
    updated.textContent = t('board.updated', { time: formatClock(board.server_time, tz) });
    if (only) return;
    inProgress.replaceChildren(...(board.rounds_in_progress.length ? board.rounds_in_progress.map((r) => roundCard(r, names)) : [empty('board.no_rounds')]));
    problems.replaceChildren(...(board.rounds_with_problems.length ? board.rounds_with_problems.map((r) => problemCard(r, names)) : [empty('board.no_problems')]));
    const found = board.checklist_findings || [];
    findings.replaceChildren(...(found.length ? found.map((f) => findingCard(f, names)) : [empty('board.no_findings')]));
    guards.replaceChildren(...(board.guards.length ? board.guards.map((g) => guardCard(g, names)) : [empty('board.no_scans')]));
    hotspots.render(tours, zones);
  }

  /** Fetches the board (and tours and zones when asked); calls during a fetch run once more after. */
  async function load({ tours: withTours = false } = {}) {
    if (fetching) {
      again = true;
      return fetching;
    }
    fetching = (async () => {
      try {
        const jobs = [api.get(`/api/sites/${site.id}/board`)];
        if (!only && (withTours || !tours.length)) {
          jobs.push(api.get(`/api/sites/${site.id}/tours`), api.get(`/api/sites/${site.id}/zones?limit=200`));
        }
        const [b, ts, zs] = await Promise.all(jobs);
        board = b;
        if (ts) tours = ts;
        if (zs) {
          zones = zs.items || [];
          equipment?.setZones(zones);
        }
        status.className = 'status';
        status.replaceChildren();
        draw();
      } catch (err) {
        if (err?.status === 401) return;
        status.className = `status notice notice-${err instanceof NetworkError ? 'warn' : 'error'}`;
        status.replaceChildren(...errorLines(err).map((line) => h('p', { text: line })));
      }
    })().finally(() => {
      fetching = null;
    });
    await fetching;
    if (again) {
      again = false;
      return load();
    }
    return null;
  }

  // Live: every event means the snapshot changed; a burst of them makes one fetch. Beacons and
  // bridges have panels of their own, which fetch only what they show.
  let soon = null;
  const PANEL_EVENTS = new Set(['equipment.alert', 'bridge.batch']);
  const closeLive = openLive(site.id, {
    onState(state) {
      live.dataset.live = state;
      live.className = `live live-${state}`;
      live.textContent = t(state === 'live' ? 'board.live' : 'board.connecting');
    },
    onEvent(name, data) {
      if (name.startsWith('incident.')) {
        incidents?.onEvent(name);
        return;
      }
      if (PANEL_EVENTS.has(name)) {
        equipment?.onEvent(name, data);
        bridges?.onEvent(name, data);
        return;
      }
      if (name === 'hello' || name === 'reload') {
        incidents?.onEvent(name);
        equipment?.load();
        bridges?.load();
      }
      clearTimeout(soon);
      soon = setTimeout(() => load({ tours: name === 'reload' || name === 'hello' }), 150);
    },
  });

  const labels = h(
    'a',
    { class: 'btn', href: `/api/sites/${site.id}/labels.pdf`, target: '_blank', rel: 'noopener', dataset: { action: 'labels' } },
    icon(ICONS.labels),
    h('span', { text: t('board.labels') }),
  );
  const section = (key, ...children) => h('section', { class: 'board-section' }, h('h2', { class: 'subtitle', text: t(key) }), ...children);
  const view = h(
    'section',
    { class: `page board${only ? ' board-review-only' : ''}`, 'aria-labelledby': 'page-title', dataset: { testid: only ? 'review-page' : 'board' } },
    pageHead(ctx, only ? 'review.title' : 'board.title'),
    h('div', { class: 'board-bar' }, live, updated, only ? null : labels),
    status,
    only
      ? section('review.title', queue.el)
      : h(
          'div',
          { class: 'board-grid' },
          h('div', { class: 'board-col' }, incidents.el, section('board.in_progress', inProgress), section('board.problems', problems), section('board.findings', findings), section('board.fire_equipment', equipment.el)),
          h('div', { class: 'board-col' }, section('review.title', queue.el), section('board.guards', guards), section('board.bridges', bridges.el), section('board.hotspots', hotspots.el)),
        ),
  );
  const ticker = setInterval(draw, TICK_MS);
  view.addEventListener('leave', () => {
    closeLive();
    clearTimeout(soon);
    clearInterval(ticker);
    bridges?.stop();
    incidents?.close();
  });
  load({ tours: true });
  equipment?.load();
  bridges?.load();
  return view;
}

export const boardView = (ctx) => createBoard(ctx, { only: null });
export const reviewView = (ctx) => createBoard(ctx, { only: 'review' });
