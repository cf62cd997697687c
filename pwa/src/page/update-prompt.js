// "A new version is available — reload", shown while a new service worker waits.
import { h } from '../utils/dom.js';
import { t } from '../utils/i18n.js';

export function createUpdatePrompt() {
  const el = h('div', { class: 'update', hidden: true, role: 'status' });
  let activate = null;

  function render() {
    if (!activate) return;
    el.hidden = false;
    el.replaceChildren(
      h('span', { class: 'update-text', text: t('update.available') }),
      h('button', {
        class: 'btn btn-primary',
        type: 'button',
        dataset: { action: 'update' },
        text: t('update.reload'),
        onclick: () => activate(),
      }),
    );
  }

  return {
    el,
    render,
    /** `fn` makes the waiting worker take over; the page reloads when it has. */
    offer(fn) {
      activate = fn;
      render();
    },
  };
}
