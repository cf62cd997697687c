// A sub-page title with a back-to-home button.
import { h, icon } from '../utils/dom.js';
import { t } from '../utils/i18n.js';
import { ICONS } from './icons.js';

export function pageHead(ctx, titleKey, subtitleKey) {
  return [
    h(
      'div',
      { class: 'page-head' },
      h(
        'button',
        { class: 'btn btn-icon', type: 'button', 'aria-label': t('common.back'), title: t('common.back'), onclick: () => ctx.go('/home') },
        icon(ICONS.back),
      ),
      h('h1', { class: 'title', id: 'page-title', text: t(titleKey) }),
    ),
    subtitleKey ? h('p', { class: 'muted', text: t(subtitleKey) }) : null,
  ];
}
