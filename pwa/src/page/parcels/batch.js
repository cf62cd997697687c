// A courier's drop (30 parcels at once): carrier and shelf fixed for the lot, the camera keeps
// reading barcodes (scan, scan, scan), each number becomes a row that needs only its recipient.
// Every parcel is its own `parcel.receive` in the outbox: saved offline, and one refused parcel
// (an unknown unit) never holds back the others.
import { h, icon } from '../../utils/dom.js';
import { isOnline } from '../../utils/connectivity.js';
import { t } from '../../utils/i18n.js';
import { addMutation } from '../../utils/outbox.js';
import { queued } from '../../utils/sync.js';
import { ICONS } from '../icons.js';
import { cleanNumber } from './barcode.js';
import { carrierOf } from './carriers.js';
import { parcelHead, statusLine } from './head.js';
import { MUTATION, carrierShelfFields, remember, scanLabel } from './intake.js';
import { keepSiteUnits, recipientArgs, recipientPicker } from './recipient-picker.js';

export const MAX_BATCH = 100;

export function batchView(ctx) {
  const site = ctx.membership.site;
  const me = ctx.me.user;
  const sender = { id: me.id, name: me.display_name || me.username };
  const status = statusLine('batch-status');
  const fields = carrierShelfFields(site.id);
  const rows = []; // {number, picker, el}
  const list = h('ol', { class: 'batch-rows', dataset: { testid: 'batch-rows' } });
  const count = h('p', { class: 'muted', dataset: { testid: 'batch-count' } });
  const typed = h('input', {
    id: 'batch-number',
    class: 'input',
    name: 'tracking_number',
    maxlength: 64,
    autocomplete: 'off',
    autocapitalize: 'characters',
    spellcheck: 'false',
    enterkeyhint: 'done',
  });
  const save = h('button', { class: 'btn btn-primary btn-block', type: 'button', dataset: { action: 'save-batch' }, onclick: saveAll });

  function showCount() {
    count.textContent = t('parcels.batch_count', { count: rows.length });
    save.textContent = t('parcels.batch_save', { count: rows.length });
    save.disabled = rows.length === 0;
  }

  function add(text) {
    const number = cleanNumber(text);
    if (!number) return false;
    if (rows.some((r) => r.number === number)) {
      status.say('warn', [t('parcels.batch_duplicate', { number })]);
      return false;
    }
    if (rows.length >= MAX_BATCH) {
      status.say('error', [t('parcels.batch_full', { max: MAX_BATCH })]);
      return false;
    }
    if (!fields.carrier.value.trim() && carrierOf(number)) fields.carrier.value = carrierOf(number);
    const picker = recipientPicker({ userId: me.id, siteId: site.id, compact: true });
    const row = { number, picker };
    row.el = h(
      'li',
      { class: 'card batch-row', dataset: { tracking: number } },
      h(
        'div',
        { class: 'card-main' },
        h('p', { class: 'card-title', text: number }),
        picker.el,
      ),
      h(
        'button',
        {
          class: 'btn btn-icon',
          type: 'button',
          'aria-label': t('parcels.batch_remove', { number }),
          title: t('parcels.batch_remove', { number }),
          dataset: { action: 'remove-row' },
          onclick: () => {
            rows.splice(rows.indexOf(row), 1);
            row.el.remove();
            showCount();
          },
        },
        h('span', { 'aria-hidden': 'true', text: '×' }),
      ),
    );
    rows.push(row);
    list.prepend(row.el);
    showCount();
    return true;
  }

  async function scan() {
    status.clear();
    await scanLabel({ continuous: true, onCode: add });
    rows[rows.length - 1]?.picker.focus();
  }

  function addTyped(event) {
    event?.preventDefault();
    if (add(typed.value)) {
      typed.value = '';
      rows[rows.length - 1].picker.focus();
    } else typed.focus();
  }

  async function saveAll() {
    const missing = rows.filter((r) => !r.picker.value());
    if (missing.length) {
      for (const r of missing) r.picker.markInvalid();
      missing[0].picker.focus();
      status.say('error', [t('parcels.batch_recipients_missing', { count: missing.length })]);
      return;
    }
    const carrier = fields.carrier.value.trim();
    const shelf = fields.shelf.value.trim();
    save.disabled = true;
    let saved = 0;
    try {
      // Oldest scan first: the outbox sends in this order.
      for (const r of [...rows]) {
        await addMutation(sender, MUTATION, {
          id: crypto.randomUUID(),
          site_id: site.id,
          ...recipientArgs(r.picker.value()),
          carrier,
          tracking_number: r.number,
          shelf,
          perishable: false,
          fragile: false,
          oversized: false,
          note: '',
        });
        await r.picker.remember();
        rows.splice(rows.indexOf(r), 1);
        r.el.remove();
        saved += 1;
      }
      remember(site.id, { carrier, shelf });
      status.say('ok', [t(isOnline() ? 'parcels.batch_saved_sending' : 'parcels.batch_saved_offline', { count: saved })]);
      queued();
    } catch (err) {
      console.error(err);
      status.say('error', [t('client.storage')]);
    } finally {
      showCount();
    }
  }

  const view = h(
    'section',
    { class: 'page parcels-batch', 'aria-labelledby': 'page-title' },
    parcelHead(ctx, t('parcels.batch_title')),
    h('p', { class: 'muted', text: t('parcels.batch_intro') }),
    h(
      'div',
      { class: 'form' },
      fields.el,
      h(
        'button',
        { class: 'btn btn-primary btn-block scan-btn', type: 'button', dataset: { action: 'scan-batch' }, onclick: scan },
        icon(ICONS.qr),
        h('span', { text: t('parcels.batch_scan') }),
      ),
      h(
        'form',
        { class: 'input-row', novalidate: true, onsubmit: addTyped },
        h('label', { class: 'visually-hidden', for: typed.id, text: t('parcels.tracking_number') }),
        typed,
        h('button', { class: 'btn', type: 'submit', dataset: { action: 'add-number' }, text: t('parcels.batch_add') }),
      ),
    ),
    count,
    list,
    status.el,
    save,
  );
  showCount();
  keepSiteUnits(me.id, site.id);
  return view;
}
