// A modal asking for one piece of text (a code typed by hand, a reason); resolves to the trimmed
// text, or null when cancelled. An empty answer is not accepted.
import { h } from '../utils/dom.js';
import { t } from '../utils/i18n.js';

export function textDialog({ title, body, label, confirm, maxlength = 500, multiline = false, testid, attrs = {} }) {
  return new Promise((resolve) => {
    const input = h(multiline ? 'textarea' : 'input', {
      id: 'text-dialog-input',
      class: multiline ? 'input textarea' : 'input',
      maxlength,
      rows: multiline ? 3 : null,
      autocomplete: 'off',
      ...attrs,
    });
    const error = h('p', { class: 'form-error', hidden: true, text: t('common.required') });
    const dialog = h(
      'dialog',
      { class: 'dialog', 'aria-labelledby': 'text-dialog-title', dataset: { testid: testid || 'text-dialog' } },
      h(
        'form',
        { method: 'dialog', class: 'dialog-form' },
        h('h2', { id: 'text-dialog-title', class: 'dialog-title', text: title }),
        [].concat(body || []).map((line) => h('p', { class: 'dialog-body', text: line })),
        h('label', { class: 'label', for: 'text-dialog-input', text: label }),
        input,
        error,
        h(
          'div',
          { class: 'dialog-actions' },
          h('button', { class: 'btn', value: 'cancel', type: 'submit', formnovalidate: true, dataset: { action: 'cancel' }, text: t('common.cancel') }),
          h('button', { class: 'btn btn-primary', value: 'confirm', type: 'submit', dataset: { action: 'confirm' }, text: confirm }),
        ),
      ),
    );
    dialog.querySelector('form').addEventListener('submit', (event) => {
      if (event.submitter?.value === 'confirm' && !input.value.trim()) {
        event.preventDefault();
        error.hidden = false;
        input.setAttribute('aria-invalid', 'true');
        input.focus();
      }
    });
    // Enter means "confirm" (the implicit default would be the first button, Cancel).
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !multiline) {
        event.preventDefault();
        dialog.querySelector('[data-action=confirm]').click();
      }
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'confirm' ? input.value.trim() : null);
    });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}
