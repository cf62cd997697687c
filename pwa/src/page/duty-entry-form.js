// The fields of a duty log entry (text, category, zone): writing one, or fixing a rejected one.
import { h } from '../utils/dom.js';
import { t } from '../utils/i18n.js';

export const CATEGORIES = ['routine', 'patrol', 'visitor', 'incident', 'maintenance', 'handover', 'other'];
export const MAX_TEXT = 2000;

let serial = 0;

/**
 * Builds the fields, filled from `value` ({text, category, zone_id}); `zones` are the site's
 * zones (only active ones are offered; a zone the entry already names stays selectable).
 * Returns {el, read, reset, setZones, focus}; `read()` answers the args or null when invalid.
 */
export function dutyEntryFields(value = {}, zones = []) {
  const n = ++serial;
  const ids = { text: `duty-text-${n}`, category: `duty-category-${n}`, zone: `duty-zone-${n}` };
  const text = h('textarea', {
    id: ids.text,
    name: 'text',
    class: 'input textarea',
    rows: 4,
    maxlength: MAX_TEXT,
    enterkeyhint: 'done',
    placeholder: t('duty.text_placeholder'),
  });
  text.value = value.text || '';
  const counter = h('span', { class: 'char-count', 'aria-live': 'polite' });
  const showCount = () => {
    counter.textContent = t('duty.char_count', { count: text.value.length, max: MAX_TEXT });
  };
  text.addEventListener('input', () => {
    text.removeAttribute('aria-invalid');
    showCount();
  });
  showCount();

  const category = h(
    'select',
    { id: ids.category, name: 'category', class: 'input select' },
    CATEGORIES.map((c) => h('option', { value: c, text: t(`duty.category.${c}`) })),
  );
  category.value = CATEGORIES.includes(value.category) ? value.category : 'routine';

  const zone = h('select', { id: ids.zone, name: 'zone_id', class: 'input select' });
  function setZones(list, keep = zone.value || (value.zone_id != null ? String(value.zone_id) : '')) {
    const offered = list.filter((z) => z.is_active !== false || String(z.id) === keep);
    offered.sort((a, b) => String(a.name).localeCompare(String(b.name)));
    zone.replaceChildren(
      h('option', { value: '', text: t('duty.no_zone') }),
      ...offered.map((z) => h('option', { value: String(z.id), text: z.name })),
    );
    if (keep && !offered.some((z) => String(z.id) === keep)) {
      // Named by the entry but unknown here (not cached): still shown, so nothing changes silently.
      zone.append(h('option', { value: keep, text: t('duty.zone_unknown', { id: keep }) }));
    }
    zone.value = keep;
  }
  setZones(zones);

  const el = h(
    'div',
    { class: 'fields' },
    h('label', { class: 'label', for: ids.text, text: t('duty.text') }),
    text,
    counter,
    h(
      'div',
      { class: 'field-pair' },
      h('div', { class: 'field' }, h('label', { class: 'label', for: ids.category, text: t('duty.category') }), category),
      h('div', { class: 'field' }, h('label', { class: 'label', for: ids.zone, text: t('duty.zone') }), zone),
    ),
  );

  return {
    el,
    setZones,
    focus: () => text.focus(),
    reset() {
      text.value = '';
      showCount();
    },
    /** The args to send ({text, category, zone_id?}), or null (and the text marked) when empty. */
    read() {
      const body = text.value.trim();
      if (!body || body.length > MAX_TEXT) {
        text.setAttribute('aria-invalid', 'true');
        text.focus();
        return null;
      }
      const out = { text: body, category: category.value };
      if (zone.value) out.zone_id = Number(zone.value);
      return out;
    },
  };
}
