// The top bar: brand, site and role, the sync status (online/offline, what waits to be sent),
// language, theme, sign-out.
import { h, icon } from '../utils/dom.js';
import { isOnline, onConnectivity } from '../utils/connectivity.js';
import { getLang, setLang, t } from '../utils/i18n.js';
import { onSyncChange, syncStatus } from '../utils/sync.js';
import { getTheme, toggleTheme } from '../utils/theme.js';
import { ICONS } from './icons.js';

export function createHeader({ onSignOut, onSwitchSite, onHome, onOutbox }) {
  const el = h('header', { class: 'bar' });
  let last = { me: null, membership: null };

  function netBadge() {
    const online = isOnline();
    return h(
      'span',
      { class: `net ${online ? 'net-online' : 'net-offline'}`, dataset: { net: online ? 'online' : 'offline' } },
      h('span', { class: 'net-dot', 'aria-hidden': 'true' }),
      t(online ? 'header.online' : 'header.offline'),
    );
  }

  /** Online/offline and the outbox counts; a tap opens the outbox screen. */
  function syncBar() {
    const { waiting, rejected, counted } = syncStatus();
    const parts = [];
    if (waiting) parts.push(h('span', { class: 'sync-waiting', dataset: { testid: 'sync-waiting' }, text: t('sync.waiting', { count: waiting }) }));
    if (rejected) parts.push(h('span', { class: 'sync-rejected', dataset: { testid: 'sync-rejected' }, text: t('sync.rejected', { count: rejected }) }));
    // Not yet counted (start-up, another user): never "all sent" before the outbox was read.
    if (!parts.length) parts.push(counted ? h('span', { class: 'sync-done', text: t('sync.all_sent') }) : h('span', { class: 'sync-counting', text: t('sync.counting') }));
    return h(
      'button',
      {
        class: `sync-bar${rejected ? ' sync-bar-problem' : ''}`,
        type: 'button',
        dataset: { testid: 'sync-status', action: 'outbox', waiting: counted ? String(waiting) : '', rejected: counted ? String(rejected) : '' },
        'aria-label': `${t(isOnline() ? 'header.online' : 'header.offline')} · ${parts.map((p) => p.textContent).join(' · ')} — ${t('sync.open_outbox')}`,
        onclick: onOutbox,
      },
      netBadge(),
      h('span', { class: 'sync-counts' }, parts),
      icon(ICONS.chevron, 'icon icon-sm'),
    );
  }

  function render(me = last.me, membership = last.membership) {
    last = { me, membership };
    const theme = getTheme();
    const site = membership?.site;
    const manySites = (me?.memberships?.length || 0) > 1;
    const siteLabel = site ? `${site.name} · ${t(`role.${membership.role}`)}` : '';
    el.replaceChildren(
      h(
        'div',
        { class: 'bar-row' },
        h(
          me ? 'button' : 'span',
          { class: 'brand', type: me ? 'button' : null, onclick: me ? onHome : null },
          h('img', { class: 'brand-logo', src: '/icons/icon-192.png', alt: '', width: 28, height: 28 }),
          h('span', { class: 'brand-name', text: t('app.name') }),
        ),
        me && site
          ? h(
              manySites ? 'button' : 'span',
              {
                class: manySites ? 'site site-switch' : 'site',
                type: manySites ? 'button' : null,
                title: manySites ? t('header.switch_site') : null,
                'aria-label': manySites ? `${t('header.switch_site')}: ${siteLabel}` : null,
                onclick: manySites ? onSwitchSite : null,
                dataset: { testid: 'header-site' },
              },
              h('span', { class: 'site-name', text: siteLabel }),
              manySites ? icon(ICONS.swap, 'icon icon-sm') : null,
            )
          : h('span', { class: 'spacer' }),
        me ? null : netBadge(),
      ),
      me ? h('div', { class: 'bar-row bar-sync' }, syncBar()) : null,
      h(
        'div',
        { class: 'bar-row' },
        me
          ? h('span', { class: 'user-name', dataset: { testid: 'header-user' }, text: me.user.display_name || me.user.username })
          : h('span', { class: 'spacer' }),
        h('button', {
          class: 'btn btn-icon btn-lang',
          type: 'button',
          'aria-label': t('header.lang_label'),
          title: t('header.lang_label'),
          dataset: { action: 'lang' },
          text: t('header.lang_button'),
          onclick: () => setLang(getLang() === 'en' ? 'zh-CN' : 'en'),
        }),
        h(
          'button',
          {
            class: 'btn btn-icon',
            type: 'button',
            'aria-label': t(theme === 'dark' ? 'header.theme_to_light' : 'header.theme_to_dark'),
            title: t(theme === 'dark' ? 'header.theme_to_light' : 'header.theme_to_dark'),
            dataset: { action: 'theme' },
            onclick: () => {
              toggleTheme();
              render();
            },
          },
          icon(theme === 'dark' ? ICONS.sun : ICONS.moon),
        ),
        me
          ? h(
              'button',
              { class: 'btn btn-signout', type: 'button', dataset: { action: 'sign-out' }, onclick: onSignOut },
              icon(ICONS.sign_out),
              h('span', { text: t('header.sign_out') }),
            )
          : null,
      ),
    );
  }

  const refresh = () => {
    const bar = el.querySelector('.sync-bar');
    if (bar) bar.replaceWith(syncBar());
    else el.querySelector('.net')?.replaceWith(netBadge());
  };
  onConnectivity(refresh);
  onSyncChange((_, what) => {
    if (what === 'count') refresh();
  });
  return { el, render };
}
