// The caller's own sessions; any but the current one can be ended here.
import { api } from '../utils/api.js';
import { h } from '../utils/dom.js';
import { formatTime } from '../utils/format.js';
import { t } from '../utils/i18n.js';
import { errorLines } from '../utils/messages.js';
import { confirmDialog } from './confirm-dialog.js';
import { pageHead } from './page-head.js';

function sessionLabel(s) {
  const d = s.device;
  if (d && typeof d === 'object' && d.name) return d.name;
  return s.device_name || s.user_agent || t('sessions.unknown_device');
}

export function sessionsView(ctx) {
  const tz = ctx.membership?.site?.timezone;
  const status = h('div', { class: 'status', role: 'status' });
  const list = h('ul', { class: 'cards', dataset: { testid: 'sessions' } });

  function say(kind, lines) {
    status.className = `status notice notice-${kind}`;
    status.replaceChildren(...lines.map((line) => h('p', { text: line })));
  }

  const isCurrent = (s) => Boolean(s.current ?? s.is_current ?? (ctx.me.session_id != null && s.id === ctx.me.session_id));

  async function revoke(s) {
    const ok = await confirmDialog({
      title: t('sessions.confirm_title'),
      body: t('sessions.confirm_body', { name: sessionLabel(s) }),
      confirm: t('sessions.confirm'),
      danger: true,
    });
    if (!ok) return;
    try {
      await api.del(`/api/auth/sessions/${s.id}`);
      say('ok', [t('sessions.done')]);
      await load();
    } catch (err) {
      say('error', errorLines(err));
    }
  }

  function card(s) {
    const current = isCurrent(s);
    return h(
      'li',
      { class: 'card', dataset: { session: s.id, current: current ? 'true' : 'false' } },
      h(
        'div',
        { class: 'card-main' },
        h('p', { class: 'card-title', text: sessionLabel(s) }),
        current ? h('p', { class: 'badges' }, h('span', { class: 'badge badge-accent', text: t('sessions.current') })) : null,
        h('p', { class: 'card-line', text: t('sessions.started', { time: formatTime(s.created_at, tz) }) }),
        h('p', { class: 'card-line', text: t('sessions.last_seen', { time: formatTime(s.last_seen_at, tz) }) }),
        s.expires_at ? h('p', { class: 'card-line', text: t('sessions.expires', { time: formatTime(s.expires_at, tz) }) }) : null,
      ),
      current
        ? null
        : h('button', { class: 'btn btn-danger', type: 'button', dataset: { action: 'revoke' }, text: t('sessions.revoke'), onclick: () => revoke(s) }),
    );
  }

  async function load() {
    list.setAttribute('aria-busy', 'true');
    try {
      const answer = await api.get('/api/auth/sessions');
      const items = (Array.isArray(answer) ? answer : answer?.items || []).filter((s) => !s.revoked_at);
      items.sort((a, b) => Number(isCurrent(b)) - Number(isCurrent(a)));
      list.replaceChildren(...(items.length ? items.map(card) : [h('li', { class: 'empty muted', text: t('sessions.empty') })]));
    } catch (err) {
      say('error', errorLines(err));
    } finally {
      list.removeAttribute('aria-busy');
    }
  }

  load();
  return h('section', { class: 'page', 'aria-labelledby': 'page-title' }, pageHead(ctx, 'sessions.title', 'sessions.subtitle'), status, list);
}
