// The resident's parcels: the ones waiting with their pickup codes (kept on the phone, so the code
// shows in a basement too), the pickup pass as a QR code for the guard to scan, the history, and
// an offer to turn on notices. A notice arriving while this page is open refreshes it.
import { NetworkError, api } from '../../utils/api.js';
import { h } from '../../utils/dom.js';
import { formatClock } from '../../utils/format.js';
import { t } from '../../utils/i18n.js';
import { errorLines } from '../../utils/messages.js';
import { onNotice, pushBlocker, thisDevice } from '../../utils/webpush.js';
import { parcelCard } from './card.js';
import { codeBlock } from './detail.js';
import { parcelHead, statusLine } from './head.js';
import { drawQr } from './pass-qr.js';
import { keepMine, keptMine } from './store.js';

// A new pass is fetched this long before the shown one expires.
const PASS_RENEW_MS = 30_000;

export function myParcelsView(ctx) {
  const me = ctx.me.user;
  const tz = ctx.membership?.site?.timezone;
  const status = statusLine('mine-status');
  const banner = h('div', { class: 'notice-banner', dataset: { testid: 'notice-banner' }, 'aria-live': 'assertive' });
  const waitingList = h('ul', { class: 'cards', dataset: { testid: 'my-parcels' } });
  const historyList = h('ul', { class: 'cards', dataset: { testid: 'my-history' } });
  const passCanvas = h('canvas', { class: 'pass-qr', dataset: { testid: 'pass-qr' }, role: 'img', 'aria-label': t('mine.pass_label') });
  const passInfo = h('p', { class: 'muted', dataset: { testid: 'pass-info' } });
  const passBox = h('div', { class: 'pass', hidden: true }, passCanvas, passInfo);
  let passTimer = null;

  function card(p) {
    const el = parcelCard(p, { timeZone: tz, showRecipient: false, onOpen: () => ctx.go(`/parcels/${p.id}`) });
    if (p.pickup_code && (p.status === 'received' || p.status === 'notified')) {
      el.querySelector('.card-main').prepend(codeBlock(p.pickup_code));
    }
    return el;
  }

  function show(rows) {
    waitingList.replaceChildren(...(rows.length ? rows.map(card) : [h('li', { class: 'empty muted', text: t('mine.none_waiting') })]));
  }

  async function load() {
    const kept = await keptMine(me.id).catch(() => []);
    if (kept.length) show(kept);
    try {
      const page = await api.get('/api/me/parcels?state=waiting&limit=100');
      const rows = page?.items || [];
      await keepMine(me.id, rows).catch(() => {});
      show(rows);
      status.clear();
    } catch (err) {
      if (err instanceof NetworkError) {
        show(kept);
        if (kept.length) status.say('info', [t('mine.offline_codes')]);
      } else if (err?.status !== 401) status.say('error', errorLines(err));
    }
  }

  async function loadHistory() {
    try {
      const page = await api.get('/api/me/parcels?state=history&limit=50');
      const rows = page?.items || [];
      historyList.replaceChildren(...(rows.length ? rows.map(card) : [h('li', { class: 'empty muted', text: t('mine.no_history') })]));
    } catch (err) {
      historyList.replaceChildren(h('li', { class: 'empty muted', text: err instanceof NetworkError ? t('parcels.needs_network') : errorLines(err)[0] }));
    }
  }

  async function showPass() {
    clearTimeout(passTimer);
    try {
      const pass = await api.get('/api/me/pickup-pass');
      await drawQr(passCanvas, pass.token);
      passCanvas.dataset.token = pass.token;
      passInfo.textContent = t('mine.pass_valid_until', { time: formatClock(pass.expires_at, tz), count: pass.codes.length });
      passBox.hidden = false;
      const renewIn = Date.parse(pass.expires_at) - Date.now() - PASS_RENEW_MS;
      passTimer = setTimeout(() => {
        if (view.isConnected && document.visibilityState === 'visible') showPass();
      }, Math.max(renewIn, 5_000));
    } catch (err) {
      passBox.hidden = true;
      status.say(err instanceof NetworkError ? 'warn' : 'error', err instanceof NetworkError ? [t('mine.pass_offline')] : errorLines(err));
    }
  }

  function onArrived(notice) {
    if (!String(notice.kind || '').startsWith('parcel')) return;
    const code = notice.data?.pickup_code || '';
    banner.className = 'notice-banner notice notice-ok';
    banner.dataset.code = code;
    banner.replaceChildren(
      h('p', { class: 'card-title', text: notice.title || t('mine.arrived') }),
      h('p', { text: code ? t('mine.arrived_code', { code }) : notice.body || '' }),
    );
    load();
  }

  const blocked = pushBlocker();
  const offer =
    !thisDevice(me.id) && !blocked
      ? h(
          'div',
          { class: 'card push-offer', dataset: { testid: 'push-offer' } },
          h('div', { class: 'card-main' }, h('p', { class: 'card-title', text: t('mine.push_offer_title') }), h('p', { class: 'card-line', text: t('mine.push_offer') })),
          h('button', { class: 'btn', type: 'button', dataset: { action: 'open-notices' }, text: t('mine.push_offer_button'), onclick: () => ctx.go('/notifications') }),
        )
      : null;

  const history = h('details', { class: 'history' }, h('summary', { class: 'subtitle', text: t('mine.history') }), historyList);
  history.addEventListener('toggle', () => {
    if (history.open) loadHistory();
  });

  const view = h(
    'section',
    { class: 'page my-parcels', 'aria-labelledby': 'page-title' },
    parcelHead(ctx, t('mine.title'), '/home'),
    banner,
    offer,
    h('button', { class: 'btn btn-primary btn-block', type: 'button', dataset: { action: 'show-pass' }, text: t('mine.show_pass'), onclick: showPass }),
    passBox,
    status.el,
    h('h2', { class: 'subtitle', text: t('mine.waiting') }),
    waitingList,
    history,
  );

  const off = onNotice((notice) => {
    if (!view.isConnected) {
      off();
      return;
    }
    onArrived(notice);
  });
  view.addEventListener('leave', () => {
    off();
    clearTimeout(passTimer);
  });
  load();
  return view;
}
