// Choosing whom a parcel is for: search by unit number or name (the server's recipient search,
// kept on the phone for offline use), with the recipients this phone used most offered before
// anything is typed: for a known recipient, one tap.
import { NetworkError, api } from '../../utils/api.js';
import { h } from '../../utils/dom.js';
import { t } from '../../utils/i18n.js';
import { frequentRecipients, keepRecipients, noteRecipientUsed, searchKeptRecipients } from './store.js';

const SEARCH_DELAY_MS = 200;
let serial = 0;

/** Keeps every unit of the site on the phone (offline search); quietly does nothing offline. */
export async function keepSiteUnits(userId, siteId) {
  try {
    for (let offset = 0; offset < 5000; offset += 200) {
      const page = await api.get(`/api/sites/${siteId}/units?limit=200&offset=${offset}`);
      const rows = (page?.items || []).map((u) => ({ unit_id: u.id, unit_label: u.label, user_id: null, display_name: '' }));
      await keepRecipients(userId, siteId, rows);
      if (offset + 200 >= (page?.total ?? 0)) break;
    }
  } catch (err) {
    if (!(err instanceof NetworkError) && err?.status !== 401) console.warn('units', err);
  }
}

export const recipientText = (r) => (r.user_id != null ? `${r.unit_label} · ${r.display_name}` : r.unit_label || r.unit || '');

/**
 * `opts`: {userId, siteId, compact, onChange(value)}. Returns {el, value(), set(r), clear(),
 * focus(), refresh()}. value(): {unit_id, user_id, unit_label, display_name} or {unit} (a unit
 * number typed while nothing matched: the server resolves it) or null.
 */
export function recipientPicker({ userId, siteId, compact = false, onChange = () => {} }) {
  const id = `recipient-${++serial}`;
  let chosen = null;
  let timer = null;
  let asked = 0;
  const input = h('input', {
    id,
    class: 'input',
    type: 'search',
    name: 'recipient',
    autocomplete: 'off',
    enterkeyhint: 'search',
    placeholder: t('parcels.recipient_placeholder'),
    'aria-describedby': `${id}-hint`,
  });
  const list = h('ul', { class: 'picks', dataset: { testid: 'recipient-options' } });
  const chosenLine = h('div', { class: 'picked', hidden: true, dataset: { testid: 'recipient-chosen' } });
  const hint = h('p', { id: `${id}-hint`, class: 'muted small', text: '' });

  function pick(r) {
    chosen = r;
    input.value = '';
    input.hidden = true;
    list.replaceChildren();
    hint.textContent = '';
    chosenLine.hidden = false;
    chosenLine.replaceChildren(
      h('span', { class: 'picked-text', text: r.unit != null && r.unit_id == null ? t('parcels.unit_as_typed', { unit: r.unit }) : recipientText(r) }),
      h('button', { class: 'btn', type: 'button', dataset: { action: 'change-recipient' }, text: t('parcels.change'), onclick: () => clear(true) }),
    );
    input.removeAttribute('aria-invalid');
    onChange(chosen);
  }

  function clear(focus = false) {
    chosen = null;
    chosenLine.hidden = true;
    input.hidden = false;
    onChange(null);
    show();
    if (focus) input.focus();
  }

  const option = (r, cls = '') =>
    h(
      'li',
      null,
      h(
        'button',
        {
          class: `pick ${cls}`.trim(),
          type: 'button',
          dataset: { action: 'pick-recipient', unit: r.unit_label || r.unit || '', user: r.user_id ?? '' },
          onclick: () => pick(r),
        },
        h('span', { class: 'pick-unit', text: r.unit_label || r.unit }),
        r.display_name ? h('span', { class: 'pick-name', text: r.display_name }) : null,
      ),
    );

  function render(rows, typed) {
    const items = rows.map((r) => option(r));
    // Nothing known matches (offline, a new unit): the unit number as typed; the server checks it.
    if (typed && !rows.some((r) => r.unit_label?.toLowerCase() === typed.toLowerCase())) {
      items.push(option({ unit: typed, unit_label: t('parcels.unit_as_typed', { unit: typed }), unit_id: null, user_id: null }, 'pick-typed'));
    }
    list.replaceChildren(...items);
  }

  async function show() {
    if (chosen) return;
    const typed = input.value.trim();
    const n = ++asked;
    if (!typed) {
      const frequent = await frequentRecipients(userId, siteId).catch(() => []);
      if (n !== asked || chosen) return;
      hint.textContent = frequent.length ? t('parcels.recipient_suggested') : '';
      render(frequent, '');
      return;
    }
    const kept = await searchKeptRecipients(userId, siteId, typed).catch(() => []);
    if (n !== asked || chosen) return;
    hint.textContent = '';
    render(kept, typed);
    try {
      const rows = await api.get(`/api/sites/${siteId}/parcel-recipients?q=${encodeURIComponent(typed)}&limit=20`);
      await keepRecipients(userId, siteId, rows).catch(() => {});
      if (n !== asked || chosen) return;
      render(rows, typed);
      if (!rows.length) hint.textContent = t('parcels.recipient_none');
    } catch (err) {
      if (n !== asked || chosen) return;
      if (err instanceof NetworkError) hint.textContent = t('parcels.recipient_offline');
      else if (err?.status !== 401) console.warn('recipients', err);
    }
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(show, SEARCH_DELAY_MS);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter') return;
    event.preventDefault(); // not the form's submit: Enter takes the first match
    list.querySelector('button')?.click();
  });

  const el = h(
    'div',
    { class: `picker${compact ? ' picker-compact' : ''}`, dataset: { testid: 'recipient-picker' } },
    compact ? null : h('label', { class: 'label', for: id, text: t('parcels.recipient') }),
    input,
    chosenLine,
    hint,
    list,
  );
  show();
  return {
    el,
    value: () => chosen,
    set: pick,
    clear,
    focus: () => input.focus(),
    refresh: show,
    markInvalid() {
      input.setAttribute('aria-invalid', 'true');
      hint.textContent = t('parcels.recipient_required');
      if (!input.hidden) input.focus();
    },
    /** The chosen recipient counts for the suggestions (after a save). */
    remember: () => (chosen && chosen.unit_id != null ? noteRecipientUsed(userId, siteId, chosen).catch(() => {}) : null),
  };
}

/** The parcel args naming the recipient `r` (a picker's value). */
export function recipientArgs(r) {
  if (!r) return null;
  if (r.unit_id == null) return { unit: r.unit };
  const out = { unit_id: r.unit_id };
  if (r.user_id != null) out.recipient_id = r.user_id;
  return out;
}
