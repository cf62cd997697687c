// A modal yes/no question (native <dialog>); resolves true when confirmed.
import { h } from '../utils/dom.js';
import { t } from '../utils/i18n.js';

export function confirmDialog({ title, body, confirm, cancel, danger = false }) {
  return new Promise((resolve) => {
    const dialog = h(
      'dialog',
      { class: 'dialog', 'aria-labelledby': 'dialog-title' },
      h(
        'form',
        { method: 'dialog', class: 'dialog-form' },
        h('h2', { id: 'dialog-title', class: 'dialog-title', text: title }),
        [].concat(body || []).map((line) => h('p', { class: 'dialog-body', text: line })),
        h(
          'div',
          { class: 'dialog-actions' },
          h('button', { class: 'btn', value: 'cancel', type: 'submit', dataset: { action: 'cancel' }, text: cancel || t('common.cancel') }),
          h('button', {
            class: danger ? 'btn btn-danger' : 'btn btn-primary',
            value: 'confirm',
            type: 'submit',
            dataset: { action: 'confirm' },
            text: confirm,
          }),
        ),
      ),
    );
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'confirm');
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
