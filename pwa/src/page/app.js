// The app controller: boot from the cached session, route, and react to sign-in/out.
import { NetworkError, onUnauthorized } from '../utils/api.js';
import { h } from '../utils/dom.js';
import { applyLang, onLangChange, t } from '../utils/i18n.js';
import { isOnline, offConnectivity, onConnectivity } from '../utils/connectivity.js';
import { errorLines, isMissingCode } from '../utils/messages.js';
import { hasUnsent, othersWaiting } from '../utils/outbox.js';
import { createRouter } from '../utils/router.js';
import {
  cachedSession,
  chooseMembership,
  chosenMembership,
  clearLocal,
  refreshSession,
  signOut,
} from '../utils/session.js';
import { pushNow, startSync, stopSync } from '../utils/sync.js';
import { formatClock } from '../utils/format.js';
import { keepTap, pendingTaps, recordPendingTaps } from '../utils/taps.js';
import { applyTheme } from '../utils/theme.js';
import { confirmDialog } from './confirm-dialog.js';
import { createHeader } from './header.js';
import { homeView } from './home.js';
import { loginView } from './login.js';
import { outboxView } from './outbox.js';
import { renderNotice } from './notice.js';
import { sitePickerView } from './site-picker.js';
import { registerServiceWorker } from './sw-register.js';
import { createUpdatePrompt } from './update-prompt.js';

// Views that only some roles use load on demand.
const STAFF = ['guard', 'supervisor', 'admin'];
const MANAGERS = ['supervisor', 'admin'];
const LAZY = {
  '/duty-log': { roles: STAFF, load: () => import('./duty-log.js').then((m) => m.dutyLogView) },
  // In the shell, not a chunk: the screen for what is still unsent must open with no signal even
  // before the service worker has saved the other screens (the first minute after a sign-in).
  '/outbox': { roles: null, load: async () => outboxView },
  '/devices': { roles: ['supervisor', 'admin'], load: () => import('./devices.js').then((m) => m.devicesView) },
  '/sessions': { roles: null, load: () => import('./sessions.js').then((m) => m.sessionsView) },
  '/patrol': { roles: STAFF, load: () => import('./patrol.js').then((m) => m.patrolView) },
  '/board': { roles: MANAGERS, load: () => import('./board.js').then((m) => m.boardView) },
  '/review': { roles: MANAGERS, load: () => import('./board.js').then((m) => m.reviewView) },
  '/equipment': { roles: STAFF, load: () => import('./equipment/list.js').then((m) => m.equipmentView) },
  '/incidents': { roles: STAFF, load: () => import('./incidents/list.js').then((m) => m.incidentsView) },
  '/incidents/new': { roles: STAFF, load: () => import('./incidents/report-form.js').then((m) => m.reportView) },
  '/incidents/:id': { roles: STAFF, load: () => import('./incidents/detail.js').then((m) => m.incidentDetailView) },
  '/parcels': { roles: STAFF, load: () => import('./parcels/room.js').then((m) => m.roomView) },
  '/parcels/intake': { roles: STAFF, load: () => import('./parcels/intake.js').then((m) => m.intakeView) },
  '/parcels/batch': { roles: STAFF, load: () => import('./parcels/batch.js').then((m) => m.batchView) },
  '/parcels/pickup': { roles: STAFF, load: () => import('./parcels/pickup.js').then((m) => m.pickupView) },
  '/parcels/overdue': { roles: STAFF, load: () => import('./parcels/overdue.js').then((m) => m.overdueView) },
  '/parcels/shelf-check': { roles: STAFF, load: () => import('./parcels/shelf-check.js').then((m) => m.shelfCheckView) },
  // A parcel notice opens /parcels/<id>: its resident sees the code, staff its record.
  '/parcels/:id': { roles: null, load: () => import('./parcels/detail.js').then((m) => m.parcelDetailView) },
  '/my-parcels': { roles: ['resident'], load: () => import('./parcels/mine.js').then((m) => m.myParcelsView) },
  '/notifications': { roles: null, load: () => import('./notices/notices.js').then((m) => m.noticesView) },
  // The gate house (gate/), residents' invites (invites/), contractor and goods-out passes (passes/).
  '/gate': { roles: STAFF, load: () => import('./gate/screen.js').then((m) => m.gateView) },
  '/gate/register': { roles: STAFF, load: () => import('./gate/register.js').then((m) => m.registerView) },
  '/gate/scan': { roles: STAFF, load: () => import('./gate/scan.js').then((m) => m.scanView) },
  '/gate/vehicles': { roles: STAFF, load: () => import('./gate/vehicles.js').then((m) => m.vehiclesView) },
  '/gate/vehicle-check': { roles: STAFF, load: () => import('./gate/vehicle-check.js').then((m) => m.vehicleCheckView) },
  '/gate/blocklist': { roles: MANAGERS, load: () => import('./gate/blocklist.js').then((m) => m.blocklistView) },
  '/gate/policy': { roles: MANAGERS, load: () => import('./gate/policy.js').then((m) => m.policyView) },
  '/admin/sites': { roles: ['admin'], load: () => import('./admin/sites.js').then((m) => m.sitesAdminView) },
  '/admin/zones': { roles: ['admin'], load: () => import('./admin/zones.js').then((m) => m.zonesAdminView) },
  '/admin/people': { roles: ['admin'], load: () => import('./admin/people.js').then((m) => m.peopleAdminView) },
  '/invites': { roles: ['resident', ...MANAGERS], load: () => import('./invites/invites.js').then((m) => m.invitesView) },
  '/contractor-passes': { roles: STAFF, load: () => import('./passes/contractors.js').then((m) => m.contractorsView) },
  '/goods-passes': { roles: null, load: () => import('./passes/goods.js').then((m) => m.goodsView) },
  // A guest's pass link (/pass/<code>): shown to anyone, signed in or not.
  '/pass/:code': { roles: null, load: () => import('./invites/guest-pass.js').then((m) => m.guestPassView) },
};
const isGuestPass = (path) => path === '/pass' || path.startsWith('/pass/');
// A path with an id (/incidents/<uuid>) finds its view under ':id'.
const lazyFor = (path) => LAZY[path] || LAZY[path.replace(/\/[0-9a-f-]{36}$/i, '/:id')] || (isGuestPass(path) ? LAZY['/pass/:code'] : undefined);

export function startApp(root) {
  applyTheme();
  applyLang();

  const state = { me: null, membership: null, notice: null, renderId: 0, shown: null };
  const header = createHeader({
    onSignOut: () => signOutFlow(),
    onSwitchSite: () => ctx.go('/sites'),
    onHome: () => ctx.go('/home'),
    onOutbox: () => ctx.go('/outbox'),
  });
  const noticeSlot = h('div', { class: 'notice-slot' });
  const main = h('main', { id: 'main', class: 'main', tabindex: '-1' });
  const update = createUpdatePrompt();
  root.replaceChildren(header.el, noticeSlot, main, update.el);

  const router = createRouter((path, { pop = false } = {}) => {
    if (pop) state.notice = null;
    render(path);
  });
  const ctx = {
    get me() {
      return state.me;
    },
    get membership() {
      return state.membership;
    },
    go: (path, opts = {}) => {
      state.notice = opts.notice || null;
      router.go(path, opts);
    },
    signedIn: async (me) => {
      state.me = me;
      beginSync();
      ctx.go('/home', { replace: true, notice: await othersNotice(me) });
    },
    chooseMembership: (m) => {
      chooseMembership(state.me, m);
      ctx.go('/home');
    },
  };

  /** Which path to show for `path`, given who is signed in. */
  function resolve(path) {
    if (isGuestPass(path)) return path;
    if (!state.me) return '/login';
    state.membership = chosenMembership(state.me);
    if (path === '/login' || path === '/') return '/home';
    if (!state.membership && state.me.memberships.length > 1 && path !== '/sites') return '/sites';
    const lazy = lazyFor(path);
    if (lazy?.roles && !lazy.roles.includes(state.membership?.role)) return '/home';
    if (path === '/sites' || lazyFor(path)) return path;
    // A tag tap (/n?e=…&c=…) is recorded by render(); staff then see their patrol screen.
    if (path === '/n' && STAFF.includes(state.membership?.role)) return '/patrol';
    return '/home';
  }

  /**
   * NTAG 424 taps: /n keeps the tap on the phone; once someone on duty is signed in at a site,
   * every kept tap is recorded (in the outbox) and the patrol screen says so.
   */
  async function handleTaps(path) {
    if (path === '/n') await keepTap(location.search).catch((err) => console.warn('tap', err));
    if (!state.me) {
      if ((await pendingTaps()).length && !state.notice) {
        state.notice = { kind: 'warn', lines: () => [t('tap.sign_in_first')] };
      }
      return null;
    }
    if (!STAFF.includes(state.membership?.role)) return null;
    const recorded = await recordPendingTaps(state.me.user, state.membership.site.id).catch((err) => {
      console.error(err);
      return [];
    });
    if (!recorded.length) return null;
    state.notice = { kind: 'ok', lines: () => recorded.map((tap) => t('tap.recorded', { time: formatClock(tap.at, state.membership?.site?.timezone) })) };
    return '/patrol';
  }

  let keepInput = false; // the next render of the same screen keeps what was typed (language)

  async function render(path) {
    const id = ++state.renderId;
    let target = resolve(path);
    const afterTap = await handleTaps(path);
    if (id !== state.renderId) return;
    if (afterTap) target = afterTap;
    if (target !== path && target !== location.pathname) history.replaceState(null, '', target);
    header.render(state.me, state.membership);
    noticeSlot.replaceChildren(renderNotice(state.notice) || '');
    let view;
    try {
      if (target === '/login') view = loginView(ctx);
      else if (target === '/sites') view = sitePickerView(ctx);
      else if (lazyFor(target)) view = (await lazyFor(target).load())(ctx);
      else view = await homeView(ctx);
    } catch (err) {
      view = isMissingCode(err) ? notSavedYet(target) : h('div', { class: 'notice notice-error', role: 'alert' }, errorLines(err).map((line) => h('p', { text: line })));
    }
    if (id !== state.renderId) return; // a newer navigation won
    const previous = main.firstElementChild;
    const keep = keepInput && previous && state.shown === target ? typedIn(previous) : null;
    keepInput = false;
    main.replaceChildren(view);
    state.shown = target;
    if (keep) keep(view);
    // The view that left stops its timers and live connections.
    previous?.dispatchEvent(new CustomEvent('leave'));
    document.body.dataset.route = target.slice(1);
    update.render();
  }

  /**
   * A screen whose code is not on the phone yet: the service worker saves every screen shortly
   * after the first visit, and a guard who lost the signal before that is told so plainly; the
   * screen opens by itself once the phone is back online. By reloading the page: the browser
   * remembers a failed import() of a chunk and would not fetch it again for this page.
   */
  function notSavedYet(target) {
    const view = h(
      'div',
      { class: 'notice notice-warn', role: 'alert', dataset: { testid: 'screen-not-saved' } },
      h('p', { text: t('app.screen_not_saved') }),
      isOnline() ? null : h('p', { text: t('app.screen_when_online') }),
      h('button', { class: 'btn', type: 'button', dataset: { action: 'retry' }, text: t('common.retry'), onclick: () => location.reload() }),
    );
    const again = (online) => {
      if (!online) return;
      offConnectivity(again);
      if (view.isConnected && location.pathname === target) location.reload();
    };
    onConnectivity(again);
    view.addEventListener('leave', () => offConnectivity(again));
    return view;
  }

  function beginSync() {
    startSync(state.me, {
      // A refused push (stale CSRF token, replaced device id): ask the server who we are again.
      onRefused: async () => {
        if (state.me) state.me = await refreshSession(state.me);
      },
    });
    // Photos kept on the phone (incidents, parcels…) are sent too; their code loads on demand.
    const me = state.me;
    import('../utils/media.js').then((m) => m.startPhotoSync(me)).catch((err) => console.warn('photo sync', err));
  }

  /** Items another user left unsent on this phone are never sent under this user: say so. */
  async function othersNotice(me) {
    const others = await othersWaiting(me.user.id).catch(() => []);
    if (!others.length) return null;
    return {
      kind: 'warn',
      lines: () => others.map((o) => t('sync.others_waiting', { count: o.count, name: o.user_name || `#${o.user_id}` })),
    };
  }

  // A phone is often shared by the shift: the next person must neither see this one's pickup
  // codes nor receive their notices (unsubscribing needs the session, so only on a real sign-out).
  async function forgetPersonalData(userId, { unsubscribe }) {
    const jobs = [
      import('./parcels/store.js').then((m) => m.clearParcelCache()),
      import('../utils/gate-store.js').then((m) => m.clearGateCache()),
    ];
    if (unsubscribe && userId) {
      jobs.push(import('../utils/webpush.js').then((m) => m.unsubscribeThisBrowser(userId)));
    }
    await Promise.allSettled(jobs);
  }

  async function signOutFlow() {
    const unsent = await hasUnsent(state.me?.user?.id).catch(() => 0);
    if (unsent > 0) {
      const leave = await confirmDialog({
        title: t('signout.unsent_title', { count: unsent }),
        body: t('signout.unsent_body'),
        confirm: t('signout.confirm'),
        cancel: t('signout.stay'),
        danger: true,
      });
      if (!leave) {
        ctx.go('/outbox');
        pushNow();
        return;
      }
    }
    stopSync();
    await forgetPersonalData(state.me?.user?.id, { unsubscribe: true });
    await signOut();
    state.me = null;
    const kept = unsent > 0 ? [t('signout.kept', { count: unsent })] : [];
    ctx.go('/login', { replace: true, notice: { kind: 'info', lines: () => [t('login.signed_out'), ...kept] } });
  }

  // Any authenticated request answering 401 (revoked device, expired session) signs us out here;
  // the outbox stays on the phone for when this user signs in again.
  onUnauthorized(async (err) => {
    if (!state.me) return;
    state.me = null;
    stopSync();
    await clearLocal();
    await forgetPersonalData(null, { unsubscribe: false });
    ctx.go('/login', { replace: true, notice: { kind: 'warn', lines: () => errorLines(err) } });
  });
  // The same screen drawn again in the other language keeps what was typed in it.
  onLangChange(() => {
    keepInput = true;
    render(location.pathname);
  });

  async function boot() {
    state.me = await cachedSession();
    await render(location.pathname);
    registerServiceWorker((activate) => update.offer(activate));
    if (state.me) {
      beginSync();
      try {
        state.me = await refreshSession(state.me);
        render(location.pathname);
      } catch (err) {
        // Offline: keep the cached user. A 401 was handled by onUnauthorized.
        if (!(err instanceof NetworkError) && err?.status !== 401) console.warn('refresh failed', err);
      }
    }
  }
  boot();
}

/**
 * What the user typed or picked in a view's fields, and which field had the focus, as a function
 * that puts them into the same fields of the view drawn again in its place (found by id, else by
 * form and name). Fields left as they were drawn are not copied, nor files.
 */
function typedIn(view) {
  const key = (el) => el.id || (el.name ? `${el.form?.id || ''}:${el.name}` : '');
  const typed = [];
  for (const el of view.querySelectorAll('input, textarea, select')) {
    if (!key(el) || el.type === 'file' || el.type === 'hidden') continue;
    let changed;
    if (el.type === 'checkbox' || el.type === 'radio') changed = el.checked !== el.defaultChecked;
    else if (el.tagName === 'SELECT') changed = [...el.options].some((o) => o.selected !== o.defaultSelected);
    else changed = el.value !== el.defaultValue;
    if (changed) typed.push({ key: key(el), el });
  }
  const active = document.activeElement;
  const focused = active && view.contains(active) ? key(active) : '';
  return (fresh) => {
    const twins = new Map();
    for (const el of fresh.querySelectorAll('input, textarea, select')) {
      if (key(el) && !twins.has(key(el))) twins.set(key(el), el);
    }
    for (const { key: k, el } of typed) {
      const twin = twins.get(k);
      if (!twin) continue;
      if (el.type === 'checkbox' || el.type === 'radio') twin.checked = el.checked;
      else twin.value = el.value;
    }
    if (focused) twins.get(focused)?.focus();
  };
}
