// The shelf inventory: count (or scan) what is on each shelf without seeing what the system
// expects, then compare with the waiting parcels on record and list every difference.
import { NetworkError, api } from '../../utils/api.js';
import { h, icon } from '../../utils/dom.js';
import { t } from '../../utils/i18n.js';
import { errorLines } from '../../utils/messages.js';
import { ICONS } from '../icons.js';
import { parcelHead, statusLine } from './head.js';
import { remembered, scanLabel } from './intake.js';
import { fetchWaiting } from './room.js';
import { keptRoom } from './store.js';

let serial = 0;

export function shelfCheckView(ctx) {
  const site = ctx.membership.site;
  const me = ctx.me.user;
  const status = statusLine('shelf-status');
  const shelves = new Map(); // name → {count input, numbers[], el}
  const list = h('div', { class: 'shelves', dataset: { testid: 'shelves' } });
  const result = h('div', { class: 'shelf-result', dataset: { testid: 'shelf-result' } });
  const another = h('input', { id: 'shelf-new', class: 'input', maxlength: 32, autocomplete: 'off', autocapitalize: 'characters' });

  function addShelf(name) {
    const shelf = String(name || '').trim();
    if (!shelf || shelves.has(shelf)) return;
    const id = `shelf-count-${++serial}`;
    const count = h('input', { id, class: 'input input-count', type: 'number', min: 0, max: 10000, inputmode: 'numeric', name: 'count', dataset: { shelf } });
    const scanned = h('p', { class: 'muted', dataset: { testid: 'scanned' } });
    const entry = { count, numbers: [] };
    const showScanned = () => {
      scanned.textContent = entry.numbers.length ? t('parcels.shelf_scanned', { count: entry.numbers.length, numbers: entry.numbers.join(', ') }) : '';
    };
    entry.el = h(
      'div',
      { class: 'card shelf', dataset: { shelf } },
      h(
        'div',
        { class: 'card-main' },
        h('label', { class: 'card-title', for: id, text: t('parcels.shelf_badge', { shelf: shelf || '—' }) }),
        h(
          'div',
          { class: 'input-row' },
          count,
          h(
            'button',
            {
              class: 'btn',
              type: 'button',
              dataset: { action: 'scan-shelf' },
              onclick: async () => {
                await scanLabel({
                  continuous: true,
                  onCode: (number) => {
                    if (!entry.numbers.includes(number)) entry.numbers.push(number);
                    count.value = String(entry.numbers.length);
                    showScanned();
                  },
                });
              },
            },
            icon(ICONS.qr),
            h('span', { text: t('parcels.scan') }),
          ),
        ),
        scanned,
      ),
    );
    shelves.set(shelf, entry);
    list.append(entry.el);
  }

  function addTyped(event) {
    event.preventDefault();
    addShelf(another.value);
    another.value = '';
  }

  function line(text, cls = 'card-line') {
    return h('p', { class: cls, text });
  }

  function showResult(answer) {
    const parts = [];
    parts.push(
      h('p', {
        class: `notice ${answer.matches ? 'notice-ok' : 'notice-warn'}`,
        dataset: { testid: 'shelf-verdict', matches: String(answer.matches) },
        text: answer.matches ? t('parcels.shelf_match') : t('parcels.shelf_differences'),
      }),
    );
    for (const d of answer.shelves) {
      const ok = d.difference === 0 && !d.missing.length && !d.unexpected.length && !d.misplaced.length;
      parts.push(
        h(
          'div',
          { class: `card shelf-diff${ok ? '' : ' card-problem'}`, dataset: { shelf: d.shelf, difference: String(d.difference) } },
          h(
            'div',
            { class: 'card-main' },
            h('p', { class: 'card-title', text: t('parcels.shelf_badge', { shelf: d.shelf || '—' }) }),
            line(t('parcels.shelf_counts', { expected: d.expected, counted: d.counted, difference: d.difference > 0 ? `+${d.difference}` : String(d.difference) })),
            d.missing.map((p) =>
              line(t('parcels.shelf_missing', { number: p.tracking_number || '—', unit: p.unit_label }), 'card-line shelf-missing'),
            ),
            d.unexpected.map((n) => line(t('parcels.shelf_unexpected', { number: n }), 'card-line shelf-unexpected')),
            d.misplaced.map((m) => line(t('parcels.shelf_misplaced', { number: m.tracking_number, shelf: m.shelf_on_record || '—' }), 'card-line shelf-misplaced')),
          ),
        ),
      );
    }
    for (const [shelf, count] of Object.entries(answer.not_counted || {})) {
      parts.push(h('div', { class: 'card card-problem', dataset: { notCounted: shelf } }, h('div', { class: 'card-main' }, line(t('parcels.shelf_not_counted', { shelf: shelf || '—', count })))));
    }
    result.replaceChildren(...parts);
  }

  async function compare() {
    const body = [];
    for (const [shelf, entry] of shelves) {
      const typed = entry.count.value.trim();
      if (!typed && !entry.numbers.length) continue;
      const row = { shelf };
      if (entry.numbers.length) row.tracking_numbers = entry.numbers;
      if (typed) row.count = Number(typed);
      body.push(row);
    }
    if (!body.length) {
      status.say('error', [t('parcels.shelf_nothing_counted')]);
      return;
    }
    status.clear();
    try {
      showResult(await api.post(`/api/sites/${site.id}/parcels/shelf-check`, { shelves: body }));
    } catch (err) {
      status.say('error', err instanceof NetworkError ? [t('parcels.needs_network')] : errorLines(err));
    }
  }

  // The shelves to count: every shelf with a waiting parcel, and the ones used on this phone.
  async function loadShelves() {
    let rows;
    try {
      rows = await fetchWaiting(me.id, site.id);
    } catch {
      rows = await keptRoom(me.id, site.id).catch(() => []);
    }
    const names = new Set([...rows.map((p) => p.shelf), ...remembered(site.id).shelves]);
    for (const name of [...names].filter(Boolean).sort()) addShelf(name);
  }

  loadShelves();
  return h(
    'section',
    { class: 'page parcels-shelf-check', 'aria-labelledby': 'page-title' },
    parcelHead(ctx, t('parcels.shelf_title')),
    h('p', { class: 'muted', text: t('parcels.shelf_intro') }),
    list,
    h(
      'form',
      { class: 'input-row', novalidate: true, onsubmit: addTyped },
      h('label', { class: 'visually-hidden', for: another.id, text: t('parcels.shelf_add') }),
      another,
      h('button', { class: 'btn', type: 'submit', dataset: { action: 'add-shelf' }, text: t('parcels.shelf_add') }),
    ),
    h('button', { class: 'btn btn-primary btn-block', type: 'button', dataset: { action: 'compare-shelves' }, text: t('parcels.shelf_compare'), onclick: compare }),
    status.el,
    result,
  );
}
