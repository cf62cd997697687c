// The site's devices; a supervisor or admin signs a lost phone out (after a confirmation).
import { api } from '../utils/api.js';
import { deviceUid } from '../utils/device.js';
import { h } from '../utils/dom.js';
import { formatTime } from '../utils/format.js';
import { t } from '../utils/i18n.js';
import { errorLines } from '../utils/messages.js';
import { confirmDialog } from './confirm-dialog.js';
import { pageHead } from './page-head.js';

/** The owner's name: embedded by the server, or looked up in the site's people. */
function ownerName(d, people) {
  const u = d.user && typeof d.user === 'object' ? d.user : people.get(d.user_id);
  return u ? u.display_name || u.username || '' : '';
}

async function sitePeople(siteId) {
  try {
    const answer = await api.get(`/api/users?site_id=${siteId}&limit=200`);
    return new Map((answer?.items || []).map((u) => [u.id, u]));
  } catch {
    return new Map(); // names are a help, not a requirement: the list still works
  }
}

function deviceLabel(d) {
  return d.name || String(d.uid || d.id).slice(0, 8);
}

export function devicesView(ctx) {
  const site = ctx.membership.site;
  const status = h('div', { class: 'status', role: 'status', dataset: { testid: 'devices-status' } });
  const list = h('ul', { class: 'cards', dataset: { testid: 'devices' } });

  function say(kind, lines) {
    status.className = `status notice notice-${kind}`;
    status.replaceChildren(...lines.map((line) => h('p', { text: line })));
  }

  async function revoke(d) {
    const self = ctx.me.device?.id === d.id || String(d.uid) === deviceUid();
    const ok = await confirmDialog({
      title: t('devices.confirm_title'),
      body: [t('devices.confirm_body', { name: deviceLabel(d) }), self ? t('devices.confirm_self') : null].filter(Boolean),
      confirm: t('devices.confirm'),
      danger: true,
    });
    if (!ok) return;
    try {
      await api.post(`/api/devices/${d.id}/revoke`);
      say('ok', [t('devices.done', { name: deviceLabel(d) })]);
      await load();
    } catch (err) {
      say('error', errorLines(err));
    }
  }

  function card(d, people) {
    const revoked = Boolean(d.revoked_at);
    const self = ctx.me.device?.id === d.id || String(d.uid) === deviceUid();
    const owner = ownerName(d, people);
    return h(
      'li',
      { class: `card${revoked ? ' card-muted' : ''}`, dataset: { device: d.id } },
      h(
        'div',
        { class: 'card-main' },
        h('p', { class: 'card-title', text: deviceLabel(d) }),
        h(
          'p',
          { class: 'badges' },
          d.kind ? h('span', { class: 'badge', text: t(`devices.kind.${d.kind}`) }) : null,
          self ? h('span', { class: 'badge badge-accent', text: t('devices.this_device') }) : null,
          h('span', {
            class: `badge ${revoked ? 'badge-danger' : 'badge-ok'}`,
            text: t(revoked ? 'devices.revoked' : 'devices.active'),
          }),
        ),
        owner ? h('p', { class: 'card-line', text: t('devices.owner', { name: owner }) }) : null,
        h('p', {
          class: 'card-line',
          text: revoked
            ? t('devices.revoked_at', { time: formatTime(d.revoked_at, site.timezone) })
            : t('devices.last_seen', { time: formatTime(d.last_seen_at, site.timezone) }),
        }),
      ),
      revoked
        ? null
        : h('button', {
            class: 'btn btn-danger',
            type: 'button',
            dataset: { action: 'revoke' },
            text: t('devices.revoke'),
            onclick: () => revoke(d),
          }),
    );
  }

  async function load() {
    list.setAttribute('aria-busy', 'true');
    try {
      // Revoked devices stay listed (greyed out) so the supervisor sees the revocation took.
      const [answer, people] = await Promise.all([
        api.get(`/api/sites/${site.id}/devices?limit=200&include_inactive=true`),
        sitePeople(site.id),
      ]);
      const items = Array.isArray(answer) ? answer : answer?.items || [];
      list.replaceChildren(
        ...(items.length
          ? items.map((d) => card(d, people))
          : [h('li', { class: 'empty muted', text: t('devices.empty') })]),
      );
    } catch (err) {
      say('error', errorLines(err));
    } finally {
      list.removeAttribute('aria-busy');
    }
  }

  load();
  return h('section', { class: 'page', 'aria-labelledby': 'page-title' }, pageHead(ctx, 'devices.title', 'devices.subtitle'), status, list);
}
