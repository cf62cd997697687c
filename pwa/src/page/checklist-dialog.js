// The checkpoint's short checklist, answered at the scan: yes/no items and a free note.
// Resolves to the answers ({key: true|false|"text"}, unanswered items left out) or null (cancel).
import { h } from '../utils/dom.js';
import { t } from '../utils/i18n.js';

const NOTE_MAX = 500;

export function checklistDialog(checkpoint) {
  const items = checkpoint.checklist.filter((item) => item.kind === 'check' || item.kind === 'note');
  return new Promise((resolve) => {
    const readers = [];
    const fields = items.map((item, i) => {
      const id = `check-${i}`;
      if (item.kind === 'note') {
        const area = h('textarea', { id, class: 'input textarea', rows: 2, maxlength: NOTE_MAX, dataset: { item: item.key } });
        readers.push(() => [item.key, area.value.trim() || null]);
        return h('div', { class: 'field' }, h('label', { class: 'label', for: id, text: item.label }), area);
      }
      const choice = (value, key) =>
        h(
          'label',
          { class: 'choice-toggle' },
          h('input', { type: 'radio', name: id, value, dataset: { item: item.key, answer: value } }),
          h('span', { text: t(key) }),
        );
      const group = h('fieldset', { class: 'check-item' }, h('legend', { class: 'label', text: item.label }), h('div', { class: 'toggle-pair' }, choice('yes', 'common.yes'), choice('no', 'common.no')));
      readers.push(() => {
        const picked = group.querySelector('input:checked')?.value;
        return [item.key, picked == null ? null : picked === 'yes'];
      });
      return group;
    });

    const dialog = h(
      'dialog',
      { class: 'dialog', 'aria-labelledby': 'checklist-title', dataset: { testid: 'checklist' } },
      h(
        'form',
        { method: 'dialog', class: 'dialog-form' },
        h('h2', { id: 'checklist-title', class: 'dialog-title', text: checkpoint.name }),
        h('p', { class: 'dialog-body', text: t('checklist.intro') }),
        h('div', { class: 'fields' }, fields),
        h(
          'div',
          { class: 'dialog-actions' },
          h('button', { class: 'btn', value: 'cancel', type: 'submit', dataset: { action: 'cancel' }, text: t('common.cancel') }),
          h('button', { class: 'btn btn-primary', value: 'save', type: 'submit', dataset: { action: 'save-checklist' }, text: t('checklist.save') }),
        ),
      ),
    );
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (dialog.returnValue !== 'save') {
        resolve(null);
        return;
      }
      const answers = {};
      for (const read of readers) {
        const [key, value] = read();
        if (value !== null) answers[key] = value;
      }
      resolve(answers);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
