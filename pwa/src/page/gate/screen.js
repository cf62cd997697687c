// The gate screen (门岗): who is on site now (overstays highlighted), who waits for a decision
// (a blocklist match for a supervisor, an after-hours arrival for the control room), who is
// expected today, which cars are inside; the server's picture (kept for offline use) merged with
// what this phone saved and has not sent. Decisions and check-outs go through the outbox.
import { NetworkError, api } from '../../utils/api.js';
import { h, icon } from '../../utils/dom.js';
import { formatTime } from '../../utils/format.js';
import { openGateLive } from '../../utils/gate-live.js';
import { keepSummary, keptLabels, keptSummary } from '../../utils/gate-store.js';
import { t } from '../../utils/i18n.js';
import { onMediaChange } from '../../utils/media.js';
import { errorLines } from '../../utils/messages.js';
import { onSyncChange } from '../../utils/sync.js';
import { confirmDialog } from '../confirm-dialog.js';
import { ICONS } from '../icons.js';
import {
  CHECK_OUT,
  DECIDE,
  GATE_ICONS,
  REGISTER,
  choiceDialog,
  gateHead,
  gateQueue,
  isManager,
  purposeText,
  queueGate,
  quiet,
  refusedBlock,
  siteGuards,
  statusLine,
  visitCard,
} from './common.js';
import { carsInside, entryCard } from './entries.js';
import { checkInInvite } from './scan.js';

const REFRESH_MS = 20_000;
const EMPTY = { on_site: [], pending: [], expected_today: [], vehicles_in: [], overstayed: 0, after_hours_now: false };

const ACTIONS = [
  { id: 'register', route: '/gate/register', icon: ICONS.visitors },
  { id: 'scan', route: '/gate/scan', icon: ICONS.qr },
  { id: 'vehicles', route: '/gate/vehicles', icon: GATE_ICONS.car },
  { id: 'vehicle_check', route: '/gate/vehicle-check', icon: ICONS.review_queue },
  { id: 'contractors', route: '/contractor-passes', icon: ICONS.labels },
  { id: 'goods', route: '/goods-passes', icon: ICONS.parcels },
];
const MANAGER_ACTIONS = [
  { id: 'blocklist', route: '/gate/blocklist', icon: ICONS.incidents },
  { id: 'policy', route: '/gate/policy', icon: GATE_ICONS.calendar },
];

function actionTiles(ctx) {
  const list = [...ACTIONS, ...(isManager(ctx) ? MANAGER_ACTIONS : [])];
  return h(
    'ul',
    { class: 'tiles tiles-compact gate-actions' },
    list.map((a) =>
      h(
        'li',
        null,
        h(
          'button',
          { class: 'tile', type: 'button', dataset: { tile: `gate-${a.id}` }, onclick: () => ctx.go(a.route) },
          icon(a.icon, 'icon tile-icon'),
          h('span', { class: 'tile-label', text: t(`gate.action.${a.id}`) }),
        ),
      ),
    ),
  );
}

/** With the server's overstay flag recomputed now (the kept copy may be hours old). */
const fresh = (v) => ({ ...v, overstayed: v.status === 'on_site' && Boolean(v.expected_until) && Date.parse(v.expected_until) < Date.now() });

export function gateView(ctx) {
  const site = ctx.membership.site;
  const uid = ctx.me.user.id;
  const manager = isManager(ctx);
  const tz = site.timezone;
  const status = statusLine('gate-status');
  const afterHours = h('p', { class: 'notice notice-warn after-hours-now', hidden: true, dataset: { testid: 'after-hours-now' }, text: t('gate.after_hours_now') });
  const pendingList = h('ul', { class: 'cards', dataset: { testid: 'gate-pending' }, 'aria-live': 'polite' });
  const onSiteTitle = h('h2', { class: 'subtitle', dataset: { testid: 'on-site-title' } });
  const onSiteList = h('ul', { class: 'cards', dataset: { testid: 'gate-on-site' }, 'aria-live': 'polite' });
  const expectedList = h('ul', { class: 'cards', dataset: { testid: 'gate-expected' } });
  const carsTitle = h('h2', { class: 'subtitle' });
  const carsList = h('ul', { class: 'cards', dataset: { testid: 'gate-vehicles' } });
  let server = null;
  let kept = null;

  async function decide(v, decision) {
    if (decision === 'refused') {
      const ok = await confirmDialog({
        title: t('gate.refuse_title', { name: v.name }),
        body: t('gate.refuse_body'),
        confirm: t('gate.refuse'),
        danger: true,
      });
      if (!ok) return;
    }
    await queueGate(ctx, DECIDE, { visit_id: v.id, decision, note: '' });
    status.say('info', [t(decision === 'refused' ? 'gate.refused_sending' : 'gate.approved_sending', { name: v.name })]);
    draw();
  }

  async function checkOut(v) {
    await queueGate(ctx, CHECK_OUT, { visit_id: v.id, note: '' });
    status.say('info', [t('gate.checked_out_sending', { name: v.name })]);
    draw();
  }

  function opLine(op, key) {
    if (op.state === 'rejected') return refusedBlock(ctx, op);
    return h('p', { class: 'card-line waiting-line', dataset: { testid: 'op-waiting' }, text: t(key) });
  }

  function holdCard(v, op) {
    let actions;
    const approval = v.status === 'pending_approval';
    if (op) actions = opLine(op, 'gate.decision_sending');
    else if (manager || (!approval && v.registered_by_id !== uid)) {
      actions = h(
        'div',
        { class: 'card-actions' },
        h('button', { class: 'btn btn-primary', type: 'button', dataset: { action: 'approve' }, text: t(approval ? 'gate.approve' : 'gate.confirm_entry'), onclick: () => decide(v, 'approved') }),
        h('button', { class: 'btn btn-danger', type: 'button', dataset: { action: 'refuse' }, text: t('gate.refuse'), onclick: () => decide(v, 'refused') }),
      );
    } else {
      actions = h('p', { class: 'card-line muted', dataset: { testid: 'hold-waiting' }, text: t(approval ? 'gate.waits_supervisor' : 'gate.waits_control_room') });
    }
    return visitCard(v, { timeZone: tz, extra: [actions] });
  }

  function onSiteCard(v, op) {
    let actions;
    if (op) actions = opLine(op, 'gate.check_out_sending');
    else if (v.escort_required && v.escort_id !== uid) {
      actions = h('p', { class: 'card-line muted', dataset: { testid: 'escort-only' }, text: t('gate.escort_signs_out', { name: v.escort_name || '—' }) });
    } else {
      actions = h(
        'div',
        { class: 'card-actions' },
        h('button', { class: 'btn', type: 'button', dataset: { action: 'check-out' }, text: t('gate.check_out'), onclick: () => checkOut(v) }),
      );
    }
    // The control room hands an escorted crew to another guard (a shift change, say).
    const handOver =
      manager && v.escort_required && !op
        ? h('button', { class: 'btn', type: 'button', dataset: { action: 'hand-over' }, text: t('gate.hand_over'), onclick: () => changeEscort(v) })
        : null;
    return visitCard(v, { timeZone: tz, extra: [actions, handOver] });
  }

  async function changeEscort(v) {
    let guards;
    try {
      guards = (await siteGuards(site.id)).filter((g) => g.id !== v.escort_id);
    } catch (err) {
      status.say('error', errorLines(err));
      return;
    }
    const chosen = await choiceDialog({
      title: t('gate.hand_over_title', { name: v.name }),
      label: t('gate.escort'),
      options: guards.map((g) => ({ value: String(g.id), text: g.name })),
      confirm: t('gate.hand_over'),
    });
    if (!chosen) return;
    try {
      await api.post(`/api/visits/${v.id}/escort`, { escort_id: Number(chosen) });
      status.say('ok', [t('gate.handed_over', { name: guards.find((g) => String(g.id) === chosen)?.name || '' })]);
      refresh();
    } catch (err) {
      status.say('error', errorLines(err));
    }
  }

  function localCard(row, labels) {
    const a = row.args;
    const label = labels.get(String(a.id)) || {};
    const v = {
      id: a.id,
      name: a.name || label.name || '',
      host_unit_label: label.host_unit_label || '',
      purpose: a.purpose || label.purpose,
      headcount: a.headcount || label.headcount || 1,
      plate: a.plate || label.plate || null,
      id_masked: label.id_masked || '',
      arrived_at: a.client_time,
      escort_required: false,
      invite_id: a.invite_code ? 'invite' : null,
    };
    return visitCard(v, { timeZone: tz, state: row.state, extra: row.state === 'rejected' ? [refusedBlock(ctx, row)] : [] });
  }

  function expectedCard(inv, claimed) {
    return h(
      'li',
      { class: 'card invite-card', dataset: { invite: String(inv.id) } },
      h(
        'div',
        { class: 'card-main' },
        h('p', { class: 'card-title', text: [inv.guest_name, inv.unit_label].filter(Boolean).join(' · ') }),
        h('p', { class: 'card-line', text: [purposeText(inv.purpose), t('gate.headcount_n', { n: inv.headcount }), inv.plate].filter(Boolean).join(' · ') }),
        h('p', { class: 'card-line muted', text: t('gate.window', { from: formatTime(inv.valid_from, tz), until: formatTime(inv.valid_until, tz) }) }),
      ),
      claimed
        ? h('p', { class: 'card-line waiting-line', text: t('gate.state.waiting') })
        : h(
            'div',
            { class: 'card-actions' },
            // The guest's phone is flat: the invite is on the list, the guard checks it in here.
            h('button', {
              class: 'btn',
              type: 'button',
              dataset: { action: 'check-in-invite' },
              text: t('gate.check_in'),
              onclick: async () => {
                await checkInInvite(ctx, inv);
                status.say('info', [t('gate.checked_in_sending', { name: inv.guest_name })]);
                draw();
              },
            }),
          ),
    );
  }

  async function draw() {
    const s = server || kept || EMPTY;
    const [queue, labels] = await Promise.all([gateQueue(ctx), keptLabels(uid).catch(() => new Map())]);
    const onServer = new Set([...s.on_site, ...s.pending].map((v) => String(v.id)));
    const ops = new Map();
    for (const r of queue) if (r.name === CHECK_OUT || r.name === DECIDE) ops.set(String(r.args.visit_id), r);
    const regs = queue.filter((r) => r.name === REGISTER && !onServer.has(String(r.args.id)));
    const claimedInvites = new Set(regs.map((r) => labels.get(String(r.args.id))?.invite_id).filter(Boolean));

    afterHours.hidden = !s.after_hours_now;
    pendingList.replaceChildren(
      ...(s.pending.length ? s.pending.map((v) => holdCard(fresh(v), ops.get(String(v.id)))) : [h('li', { class: 'empty muted', text: t('gate.none_pending') })]),
    );
    const onSite = s.on_site.map(fresh);
    const overstayed = onSite.filter((v) => v.overstayed).length;
    onSiteTitle.textContent = t('gate.on_site_title', { n: onSite.length + regs.length, over: overstayed });
    onSiteTitle.dataset.overstayed = String(overstayed);
    // Overstays first: they are what the guard has to go and look at.
    onSite.sort((a, b) => Number(b.overstayed) - Number(a.overstayed));
    const cards = [...regs.map((r) => localCard(r, labels)), ...onSite.map((v) => onSiteCard(v, ops.get(String(v.id))))];
    onSiteList.replaceChildren(...(cards.length ? cards : [h('li', { class: 'empty muted', text: t('gate.none_on_site') })]));
    const expected = s.expected_today.filter((i) => i.status === 'active');
    expectedList.replaceChildren(
      ...(expected.length ? expected.map((i) => expectedCard(i, claimedInvites.has(String(i.id)))) : [h('li', { class: 'empty muted', text: t('gate.none_expected') })]),
    );
    const cars = carsInside(s.vehicles_in, queue);
    carsTitle.textContent = t('gate.vehicles_in_title', { n: cars.length });
    carsList.replaceChildren(...(cars.length ? cars.map((e) => entryCard(ctx, e, { timeZone: tz, onChanged: draw })) : [h('li', { class: 'empty muted', text: t('gate.no_vehicles_in') })]));
  }

  async function refresh() {
    try {
      const s = await api.get(`/api/sites/${site.id}/gate`);
      server = s;
      await keepSummary(uid, site.id, s).catch(() => {});
      status.clear();
    } catch (err) {
      if (err instanceof NetworkError) {
        kept ??= await keptSummary(uid, site.id).catch(() => null);
        status.say('warn', [kept ? t('gate.offline_copy', { time: formatTime(kept.kept_at, tz) }) : t('gate.offline_nothing')]);
      } else quiet(err);
    }
    draw();
  }

  const view = h(
    'section',
    { class: 'page gate', 'aria-labelledby': 'page-title', dataset: { role: ctx.membership.role } },
    gateHead(ctx, t('gate.title'), '/home'),
    h('p', { class: 'muted', text: site.name }),
    afterHours,
    actionTiles(ctx),
    manager
      ? h(
          'p',
          { class: 'export-line' },
          h('a', { class: 'btn btn-block', href: `/api/sites/${site.id}/visits.csv`, download: '', dataset: { action: 'export' }, text: t('gate.export_masked') }),
        )
      : null,
    status.el,
    h('h2', { class: 'subtitle', text: t('gate.pending_title') }),
    pendingList,
    onSiteTitle,
    onSiteList,
    h('h2', { class: 'subtitle', text: t('gate.expected_title') }),
    expectedList,
    carsTitle,
    carsList,
  );

  // What the outbox sent is on the server now: read the summary again (once per burst).
  let again = null;
  const soon = () => {
    clearTimeout(again);
    again = setTimeout(refresh, 400);
  };
  const offSync = onSyncChange(() => {
    draw();
    soon();
  });
  const offMedia = onMediaChange(() => draw());
  const timer = setInterval(() => {
    if (document.visibilityState === 'visible') refresh();
  }, REFRESH_MS);
  const closeLive = manager ? openGateLive(site.id, soon) : () => {};
  view.addEventListener('leave', () => {
    offSync();
    offMedia();
    clearInterval(timer);
    clearTimeout(again);
    closeLive();
  });

  keptSummary(uid, site.id)
    .then((k) => {
      kept = k;
      if (!server) draw();
    })
    .catch(() => {});
  refresh();
  return view;
}
