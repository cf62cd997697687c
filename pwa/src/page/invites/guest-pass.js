// The page a guest opens from the link a resident sent (/pass/<code>): the pass as a big QR code
// to show at the gate, and its window. Needs no account and no network once loaded: the code
// itself carries the window; the gate's scan asks the server whether it is still good.
import { h } from '../../utils/dom.js';
import { readPassCode } from '../../utils/gate-codes.js';
import { getLang, t } from '../../utils/i18n.js';
import { drawQr } from '../parcels/pass-qr.js';
import '../gate/gate.css';

function when(date) {
  return new Intl.DateTimeFormat(getLang(), { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}

export function guestPassView() {
  const claims = readPassCode(new URLSearchParams(location.search).get('code') || location.pathname);
  const title = h('h1', { class: 'title', id: 'page-title', text: t('pass.title') });
  if (!claims) {
    return h('section', { class: 'page guest-pass', 'aria-labelledby': 'page-title' }, title, h('p', { class: 'notice notice-error', role: 'alert', dataset: { testid: 'pass-invalid' }, text: t('pass.invalid') }));
  }
  const now = Date.now();
  const state = now > claims.valid_until.getTime() ? 'expired' : now < claims.valid_from.getTime() ? 'not_yet' : 'valid';
  const canvas = h('canvas', { class: 'pass-qr pass-qr-big', dataset: { testid: 'guest-qr' }, 'aria-label': t('invites.qr_label') });
  drawQr(canvas, claims.code, 320).catch((err) => console.warn('qr', err));
  return h(
    'section',
    { class: 'page guest-pass', 'aria-labelledby': 'page-title', dataset: { kind: claims.kind, state } },
    title,
    h('p', { class: 'muted', text: t(`pass.kind.${claims.kind}`) }),
    h('div', { class: 'pass' }, canvas),
    h('p', { class: 'card-line', dataset: { testid: 'guest-window' }, text: t('pass.window', { from: when(claims.valid_from), until: when(claims.valid_until) }) }),
    state === 'valid'
      ? h('p', { class: 'notice notice-ok', text: t('pass.show_at_gate') })
      : h('p', { class: 'notice notice-warn', dataset: { testid: 'guest-pass-state' }, text: t(state === 'expired' ? 'pass.expired' : 'pass.not_yet') }),
  );
}
