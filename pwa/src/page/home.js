// The home of the chosen role: a grid of big tiles; each role's tile list loads on demand.
import { h, icon } from '../utils/dom.js';
import { t } from '../utils/i18n.js';
import { ICONS } from './icons.js';

const ROLE_HOMES = {
  guard: () => import('./homes/guard.js'),
  supervisor: () => import('./homes/supervisor.js'),
  resident: () => import('./homes/resident.js'),
  admin: () => import('./homes/admin.js'),
};

// Every role can see and end its own sessions.
const COMMON_TILES = [{ id: 'sessions', icon: ICONS.sessions, route: '/sessions' }];

function tile(ctx, { id, icon: paths, route, href }) {
  if (href) {
    // A file the server makes (the labels PDF): opened beside the app, not routed.
    return h(
      'li',
      null,
      h(
        'a',
        { class: 'tile', href: href(ctx), target: '_blank', rel: 'noopener', dataset: { tile: id } },
        icon(paths, 'icon tile-icon'),
        h('span', { class: 'tile-label', text: t(`tile.${id}`) }),
      ),
    );
  }
  const ready = Boolean(route);
  return h(
    'li',
    null,
    h(
      'button',
      {
        class: `tile${ready ? '' : ' tile-soon'}`,
        type: 'button',
        disabled: !ready,
        dataset: { tile: id },
        onclick: ready ? () => ctx.go(route) : null,
      },
      icon(paths, 'icon tile-icon'),
      h('span', { class: 'tile-label', text: t(`tile.${id}`) }),
      ready ? null : h('span', { class: 'tile-badge', text: t('tile.coming_soon') }),
    ),
  );
}

export async function homeView(ctx) {
  const role = ctx.membership?.role;
  const load = ROLE_HOMES[role];
  const roleTiles = load ? (await load()).tiles : [];
  const user = ctx.me.user;
  return h(
    'section',
    { class: 'page home', dataset: { role: role || 'none' }, 'aria-labelledby': 'home-title' },
    h('h1', { id: 'home-title', class: 'title', text: t('home.greeting', { name: user.display_name || user.username }) }),
    ctx.membership
      ? h('p', {
          class: 'muted',
          text: t('home.role_at_site', { role: t(`role.${role}`), site: ctx.membership.site.name }),
        })
      : h('p', { class: 'muted', text: t('picker.none') }),
    h('ul', { class: 'tiles' }, [...roleTiles, ...COMMON_TILES].map((x) => tile(ctx, x))),
  );
}
