// The checkpoint's short checklist, answered at the scan: yes/no items, a free note, and a photo
// (the photo on a failed item: asked for, highlighted, once a yes/no item is answered "no").
// Resolves to {answers: {key: true|false|"text"|sha256}, photos: [sha256]} (unanswered items
// left out) or null (cancel).
//
// A photo is asked for, never required: a broken camera must not stop a guard recording a scan.
// Saving with a failed item and no photo asks once more, then saves without one.
import { h, icon } from '../utils/dom.js';
import { t } from '../utils/i18n.js';
import { PhotoError, addPhoto, forgetPhoto } from '../utils/media.js';
import { ICONS } from './icons.js';

const NOTE_MAX = 500;
const KINDS = new Set(['check', 'note', 'photo']);

/** Whether the phone asks anything at this checkpoint. */
export const hasChecklist = (checkpoint) => Boolean(checkpoint?.checklist?.some((item) => KINDS.has(item.kind || 'check')));

export function checklistDialog(checkpoint) {
  const items = checkpoint.checklist.filter((item) => KINDS.has(item.kind || 'check'));
  return new Promise((resolve) => {
    const readers = [];
    const photoFields = [];
    let warned = false;

    const failed = () => Boolean(dialog.querySelector('input[data-answer="no"]:checked'));
    const photoTaken = () => photoFields.some((f) => f.sha256());

    /** The photo items are highlighted, with a prompt, while something failed and none is taken. */
    function askForPhoto() {
      const asking = failed() && !photoTaken();
      for (const f of photoFields) f.ask(asking);
      if (!asking) warned = false;
    }

    const fields = items.map((item, i) => {
      const id = `check-${i}`;
      if (item.kind === 'note') {
        const area = h('textarea', { id, class: 'input textarea', rows: 2, maxlength: NOTE_MAX, dataset: { item: item.key } });
        readers.push(() => [item.key, area.value.trim() || null]);
        return h('div', { class: 'field' }, h('label', { class: 'label', for: id, text: item.label }), area);
      }
      if (item.kind === 'photo') {
        const field = photoField(id, item, askForPhoto);
        photoFields.push(field);
        readers.push(() => [item.key, field.sha256()]);
        return field.el;
      }
      const choice = (value, key) =>
        h(
          'label',
          { class: 'choice-toggle' },
          h('input', { type: 'radio', name: id, value, dataset: { item: item.key, answer: value }, onchange: askForPhoto }),
          h('span', { text: t(key) }),
        );
      const group = h('fieldset', { class: 'check-item' }, h('legend', { class: 'label', text: item.label }), h('div', { class: 'toggle-pair' }, choice('yes', 'common.yes'), choice('no', 'common.no')));
      readers.push(() => {
        const picked = group.querySelector('input:checked')?.value;
        return [item.key, picked == null ? null : picked === 'yes'];
      });
      return group;
    });

    const form = h(
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
    );
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'checklist-title', dataset: { testid: 'checklist' } }, form);

    form.addEventListener('submit', (event) => {
      if (event.submitter?.value !== 'save') return;
      if (photoFields.some((f) => f.busy())) {
        event.preventDefault();
        return;
      }
      // Once: the guard is told the photo is missing; saving again records the scan without it.
      if (photoFields.length && failed() && !photoTaken() && !warned) {
        event.preventDefault();
        warned = true;
        for (const f of photoFields) f.warn();
        photoFields[0].focus();
      }
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (dialog.returnValue !== 'save') {
        for (const f of photoFields) f.discard();
        resolve(null);
        return;
      }
      const answers = {};
      for (const read of readers) {
        const [key, value] = read();
        if (value !== null) answers[key] = value;
      }
      resolve({ answers, photos: [...new Set(photoFields.map((f) => f.sha256()).filter(Boolean))] });
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/**
 * One photo item: a camera button, then the thumbnail with retake and remove. The photo is
 * prepared and kept on the phone at once (utils/media.js), so it survives going offline.
 */
function photoField(id, item, changed) {
  let photo = null; // {sha256, url} once taken
  let busy = false;
  const input = h('input', { id, type: 'file', accept: 'image/*', capture: 'environment', class: 'file-input', dataset: { testid: 'checklist-photo', item: item.key } });
  const hint = h('p', { class: 'checklist-photo-hint', role: 'status', dataset: { testid: 'photo-hint' } });
  const slot = h('div', { class: 'checklist-photo-slot' });
  const takeLabel = h('label', { class: 'btn photo-btn', for: id, dataset: { action: 'take-photo' } }, icon(ICONS.photo), h('span', { text: t('checklist.take_photo') }));
  const el = h('div', { class: 'field checklist-photo', dataset: { item: item.key } }, h('p', { class: 'label', text: item.label }), hint, slot, input);

  function draw() {
    if (busy) {
      slot.replaceChildren(h('p', { class: 'muted', text: t('checklist.photo_preparing') }));
      return;
    }
    if (!photo) {
      slot.replaceChildren(takeLabel);
      return;
    }
    slot.replaceChildren(
      h('img', { class: 'checklist-photo-img', src: photo.url, alt: t('checklist.photo_alt', { label: item.label }), dataset: { testid: 'checklist-thumb', sha256: photo.sha256 } }),
      h(
        'div',
        { class: 'checklist-photo-actions' },
        h('label', { class: 'btn', for: id, dataset: { action: 'retake-photo' }, text: t('checklist.retake_photo') }),
        h('button', { class: 'btn', type: 'button', dataset: { action: 'remove-photo' }, text: t('media.remove'), onclick: () => replace(null) }),
      ),
    );
  }

  function replace(next) {
    const old = photo;
    photo = next;
    if (old && old.sha256 !== next?.sha256) forgetPhoto(old.sha256).catch(() => {});
    draw();
    changed();
  }

  input.addEventListener('change', async () => {
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    busy = true;
    hint.textContent = '';
    draw();
    try {
      const taken = await addPhoto(file);
      busy = false;
      replace({ sha256: taken.sha256, url: taken.url });
    } catch (err) {
      busy = false;
      draw();
      if (!(err instanceof PhotoError)) console.error(err);
      el.classList.add('checklist-photo-asked');
      hint.textContent = err instanceof PhotoError ? t(`media.${err.code}`, { name: file.name || '' }) : t('client.storage');
    }
  });
  draw();

  return {
    el,
    sha256: () => photo?.sha256 ?? null,
    busy: () => busy,
    ask(asking) {
      el.classList.toggle('checklist-photo-asked', asking);
      hint.textContent = asking ? t('checklist.photo_asked') : '';
    },
    warn() {
      hint.textContent = t('checklist.photo_missing');
    },
    focus() {
      el.scrollIntoView?.({ block: 'nearest' });
      input.focus();
    },
    discard() {
      if (photo) forgetPhoto(photo.sha256).catch(() => {});
    },
  };
}
