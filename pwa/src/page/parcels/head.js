// A parcel screen's title with a back button (to the parcel room, or home).
import { h, icon } from '../../utils/dom.js';
import { t } from '../../utils/i18n.js';
import { ICONS } from '../icons.js';

export function parcelHead(ctx, title, back = '/parcels') {
  return h(
    'div',
    { class: 'page-head' },
    h(
      'button',
      {
        class: 'btn btn-icon',
        type: 'button',
        'aria-label': t('common.back'),
        title: t('common.back'),
        dataset: { action: 'back' },
        onclick: () => ctx.go(back),
      },
      icon(ICONS.back),
    ),
    h('h1', { class: 'title', id: 'page-title', text: title }),
  );
}

/** A status line under a form: `say('ok' | 'info' | 'warn' | 'error', lines)`. */
export function statusLine(testid) {
  const el = h('div', { class: 'status', role: 'status', 'aria-live': 'polite', dataset: { testid } });
  const say = (kind, lines) => {
    el.className = `status notice notice-${kind}`;
    el.replaceChildren(...[].concat(lines).map((line) => h('p', { text: line })));
  };
  const clear = () => {
    el.className = 'status';
    el.replaceChildren();
  };
  return { el, say, clear };
}
