// The app controller: boot from the cached session, route, and react to sign-in/out.
import { NetworkError, onUnauthorized } from '../utils/api.js';
import { h } from '../utils/dom.js';
import { applyLang, onLangChange, t } from '../utils/i18n.js';
import { errorLines } from '../utils/messages.js';
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
import { applyTheme } from '../utils/theme.js';
import { confirmDialog } from './confirm-dialog.js';
import { createHeader } from './header.js';
import { homeView } from './home.js';
import { loginView } from './login.js';
import { renderNotice } from './notice.js';
import { sitePickerView } from './site-picker.js';
import { registerServiceWorker } from './sw-register.js';
import { createUpdatePrompt } from './update-prompt.js';

// Views that only some roles use load on demand.
const STAFF = ['guard', 'supervisor', 'admin'];
const LAZY = {
  '/duty-log': { roles: STAFF, load: () => import('./duty-log.js').then((m) => m.dutyLogView) },
  '/outbox': { roles: null, load: () => import('./outbox.js').then((m) => m.outboxView) },
  '/devices': { roles: ['supervisor', 'admin'], load: () => import('./devices.js').then((m) => m.devicesView) },
  '/sessions': { roles: null, load: () => import('./sessions.js').then((m) => m.sessionsView) },
};

export function startApp(root) {
  applyTheme();
  applyLang();

  const state = { me: null, membership: null, notice: null, renderId: 0 };
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
    if (!state.me) return '/login';
    state.membership = chosenMembership(state.me);
    if (path === '/login' || path === '/') return '/home';
    if (!state.membership && state.me.memberships.length > 1 && path !== '/sites') return '/sites';
    const lazy = LAZY[path];
    if (lazy?.roles && !lazy.roles.includes(state.membership?.role)) return '/home';
    if (path === '/sites' || LAZY[path]) return path;
    return '/home'; // '/home', and '/n' (tag taps) until patrol scanning exists
  }

  async function render(path) {
    const id = ++state.renderId;
    const target = resolve(path);
    if (target !== path && target !== location.pathname) history.replaceState(null, '', target);
    header.render(state.me, state.membership);
    noticeSlot.replaceChildren(renderNotice(state.notice) || '');
    let view;
    try {
      if (target === '/login') view = loginView(ctx);
      else if (target === '/sites') view = sitePickerView(ctx);
      else if (LAZY[target]) view = (await LAZY[target].load())(ctx);
      else view = await homeView(ctx);
    } catch (err) {
      view = h('div', { class: 'notice notice-error', role: 'alert' }, errorLines(err).map((line) => h('p', { text: line })));
    }
    if (id !== state.renderId) return; // a newer navigation won
    main.replaceChildren(view);
    document.body.dataset.route = target.slice(1);
    update.render();
  }

  function beginSync() {
    startSync(state.me, {
      // A refused push (stale CSRF token, replaced device id): ask the server who we are again.
      onRefused: async () => {
        if (state.me) state.me = await refreshSession(state.me);
      },
    });
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
    ctx.go('/login', { replace: true, notice: { kind: 'warn', lines: () => errorLines(err) } });
  });
  onLangChange(() => render(location.pathname));

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
