// Receiving one parcel at the guard room: photo of the label (its barcode fills the tracking
// number), the recipient (one tap on a suggestion for someone this phone has seen), and save.
// Carrier and shelf are remembered from the last parcel, so after the photo a known recipient
// takes two taps. Saved on the phone first and sent through the outbox (`parcel.receive`).
import { h, icon } from '../../utils/dom.js';
import { isOnline } from '../../utils/connectivity.js';
import { t } from '../../utils/i18n.js';
import { addPhoto } from '../../utils/media.js';
import { REJECTED, addMutation, listMutations } from '../../utils/outbox.js';
import { getPref, setPref } from '../../utils/prefs.js';
import { onSyncChange, queued } from '../../utils/sync.js';
import { ICONS } from '../icons.js';
import { reasonLines } from '../reasons.js';
import { cleanNumber, decodeBarcodeCanvas, decodeBarcodeFile, prepareBarcode } from './barcode.js';
import { scanCamera } from './camera.js';
import { parcelCard } from './card.js';
import { CARRIERS, carrierOf } from './carriers.js';
import { parcelHead, statusLine } from './head.js';
import { keepSiteUnits, recipientArgs, recipientPicker, recipientText } from './recipient-picker.js';

export const MUTATION = 'parcel.receive';
const FLAG_NAMES = ['perishable', 'fragile', 'oversized'];
const SHELVES_KEPT = 12;

/** The carrier and shelf a guard used last at a site (and the shelves used before). */
export function remembered(siteId) {
  let shelves;
  try {
    shelves = JSON.parse(getPref(`parcels.shelves.${siteId}`) || '[]');
  } catch {
    shelves = [];
  }
  return { carrier: getPref(`parcels.carrier.${siteId}`) || '', shelf: getPref(`parcels.shelf.${siteId}`) || '', shelves };
}

export function remember(siteId, { carrier, shelf }) {
  if (carrier != null) setPref(`parcels.carrier.${siteId}`, carrier);
  if (shelf != null) {
    setPref(`parcels.shelf.${siteId}`, shelf);
    const { shelves } = remembered(siteId);
    if (shelf) setPref(`parcels.shelves.${siteId}`, JSON.stringify([shelf, ...shelves.filter((s) => s !== shelf)].slice(0, SHELVES_KEPT)));
  }
}

let serial = 0;

/** The carrier field (free text, the usual carriers offered) and the shelf field. */
export function carrierShelfFields(siteId) {
  const n = ++serial;
  const kept = remembered(siteId);
  const carrier = h('input', { id: `carrier-${n}`, class: 'input', name: 'carrier', list: `carriers-${n}`, maxlength: 40, autocomplete: 'off' });
  carrier.value = kept.carrier;
  const shelf = h('input', { id: `shelf-${n}`, class: 'input', name: 'shelf', list: `shelves-${n}`, maxlength: 32, autocomplete: 'off', autocapitalize: 'characters' });
  shelf.value = kept.shelf;
  const el = h(
    'div',
    { class: 'field-pair' },
    h(
      'div',
      { class: 'field' },
      h('label', { class: 'label', for: carrier.id, text: t('parcels.carrier') }),
      carrier,
      h('datalist', { id: `carriers-${n}` }, CARRIERS.map((c) => h('option', { value: c }))),
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { class: 'label', for: shelf.id, text: t('parcels.shelf') }),
      shelf,
      h('datalist', { id: `shelves-${n}` }, kept.shelves.map((s) => h('option', { value: s }))),
    ),
  );
  return { el, carrier, shelf };
}

/** Scans a label's barcode with the camera; resolves to the number or null. */
export function scanLabel(options = {}) {
  return scanCamera({ title: t('parcels.scan_title'), decode: decodeBarcodeCanvas, prepare: prepareBarcode, ...options });
}

export function intakeView(ctx) {
  const site = ctx.membership.site;
  const me = ctx.me.user;
  const sender = { id: me.id, name: me.display_name || me.username };
  const status = statusLine('intake-status');
  let photo = null; // {sha256, url} of the label photo
  let photoReady = Promise.resolve(); // a photo just taken is still being read and kept
  const recent = []; // parcels saved from this screen: {args, seq}

  const photoInput = h('input', { type: 'file', accept: 'image/*', capture: 'environment', hidden: true, dataset: { testid: 'label-photo' } });
  const preview = h('img', { class: 'label-preview', hidden: true, alt: t('parcels.label_photo'), dataset: { testid: 'label-preview' } });
  const photoButton = h(
    'button',
    { class: 'btn btn-primary btn-block scan-btn', type: 'button', dataset: { action: 'take-photo' }, onclick: () => photoInput.click() },
    icon(ICONS.photo),
    h('span', { text: t('parcels.take_photo') }),
  );

  const tracking = h('input', {
    id: 'parcel-tracking',
    class: 'input',
    name: 'tracking_number',
    maxlength: 64,
    autocomplete: 'off',
    autocapitalize: 'characters',
    spellcheck: 'false',
    enterkeyhint: 'next',
  });
  const fields = carrierShelfFields(site.id);
  const picker = recipientPicker({ userId: me.id, siteId: site.id });
  const flags = FLAG_NAMES.map((name) =>
    h('label', { class: 'choice-toggle toggle-fill' }, h('input', { type: 'checkbox', name, dataset: { flag: name } }), h('span', { text: t(`parcels.flag.${name}`) })),
  );
  const note = h('input', { id: 'parcel-note', class: 'input', name: 'note', maxlength: 500, autocomplete: 'off' });
  const save = h('button', { class: 'btn btn-primary btn-block', type: 'submit', dataset: { action: 'save-parcel' }, text: t('parcels.save') });
  const list = h('ul', { class: 'cards', dataset: { testid: 'intake-recent' } });

  function setNumber(text) {
    const number = cleanNumber(text);
    if (!number) return;
    tracking.value = number;
    const carrier = carrierOf(number);
    if (carrier) fields.carrier.value = carrier;
  }

  photoInput.addEventListener('change', () => {
    const file = photoInput.files?.[0];
    photoInput.value = '';
    if (file) photoReady = readPhoto(file);
  });

  async function readPhoto(file) {
    status.say('info', [t('parcels.reading_photo')]);
    const [kept, number] = await Promise.all([
      addPhoto(file).catch((err) => {
        console.warn('label photo', err);
        return null;
      }),
      decodeBarcodeFile(file).catch((err) => {
        console.warn('label barcode', err);
        return null;
      }),
    ]);
    if (!kept) {
      status.say('error', [t('parcels.photo_unreadable')]);
      return;
    }
    photo = { sha256: kept.sha256, url: kept.url };
    preview.src = kept.url;
    preview.hidden = false;
    if (number) setNumber(number);
    status.say(number ? 'ok' : 'info', [number ? t('parcels.number_read', { number }) : t('parcels.number_not_read')]);
    if (!picker.value()) picker.focus();
  }

  async function scan() {
    const number = await scanLabel();
    if (number) {
      setNumber(number);
      status.say('ok', [t('parcels.number_read', { number: tracking.value })]);
    }
  }

  function reset() {
    photo = null;
    preview.hidden = true;
    preview.removeAttribute('src');
    tracking.value = '';
    note.value = '';
    for (const f of flags) f.querySelector('input').checked = false;
    picker.clear();
  }

  async function onSubmit(event) {
    event.preventDefault();
    await photoReady;
    const recipient = picker.value();
    if (!recipient) {
      picker.markInvalid();
      status.say('error', [t('parcels.recipient_required')]);
      return;
    }
    const args = {
      id: crypto.randomUUID(),
      site_id: site.id,
      ...recipientArgs(recipient),
      carrier: fields.carrier.value.trim(),
      tracking_number: cleanNumber(tracking.value),
      shelf: fields.shelf.value.trim(),
      note: note.value.trim(),
    };
    for (const f of flags) {
      const input = f.querySelector('input');
      args[input.name] = input.checked;
    }
    // The resident's notice must not wait for the photo: it is sent on its own (utils/media.js)
    // and the parcel only names it.
    if (photo) args.label_sha256 = photo.sha256;
    save.disabled = true;
    try {
      await addMutation(sender, MUTATION, args);
      remember(site.id, { carrier: args.carrier, shelf: args.shelf });
      await picker.remember();
      recent.unshift({ args, recipient: recipientText(recipient) });
      reset();
      status.say('ok', [isOnline() ? t('parcels.saved_sending') : t('parcels.saved_offline')]);
      await draw();
      queued();
    } catch (err) {
      console.error(err);
      status.say('error', [t('client.storage')]);
    } finally {
      save.disabled = false;
    }
  }

  async function draw() {
    const queuedRows = await listMutations(me.id).catch(() => []);
    const byId = new Map(queuedRows.filter((m) => m.name === MUTATION).map((m) => [m.args?.id, m]));
    list.replaceChildren(
      ...recent.map(({ args, recipient }) => {
        const m = byId.get(args.id);
        const state = m ? (m.status === REJECTED ? 'rejected' : 'waiting') : 'sent';
        const card = parcelCard(
          { ...args, unit_label: recipient, state: state === 'sent' ? null : state, status: state === 'sent' ? 'received' : state, client_time: m?.client_time },
          { timeZone: site.timezone },
        );
        card.dataset.state = state;
        if (m?.status === REJECTED) {
          card.querySelector('.card-main').append(h('div', { class: 'reason', dataset: { testid: 'reason' } }, reasonLines(m).map((line) => h('p', { text: line }))));
          card.append(h('button', { class: 'btn', type: 'button', dataset: { action: 'open-outbox' }, text: t('parcels.fix_in_outbox'), onclick: () => ctx.go('/outbox') }));
        }
        return card;
      }),
    );
  }

  const view = h(
    'section',
    { class: 'page parcels-intake', 'aria-labelledby': 'page-title' },
    parcelHead(ctx, t('parcels.intake_title')),
    h(
      'form',
      { class: 'form parcel-form', novalidate: true, onsubmit: onSubmit },
      photoButton,
      photoInput,
      preview,
      h('label', { class: 'label', for: tracking.id, text: t('parcels.tracking_number') }),
      h(
        'div',
        { class: 'input-row' },
        tracking,
        h('button', { class: 'btn', type: 'button', dataset: { action: 'scan-barcode' }, onclick: scan }, icon(ICONS.qr), h('span', { text: t('parcels.scan') })),
      ),
      picker.el,
      fields.el,
      h('fieldset', { class: 'check-item' }, h('legend', { class: 'label', text: t('parcels.handling') }), h('div', { class: 'toggle-row' }, flags)),
      h('label', { class: 'label', for: note.id, text: t('parcels.note') }),
      note,
      save,
    ),
    status.el,
    h('h2', { class: 'subtitle', text: t('parcels.saved_here') }),
    list,
  );

  tracking.addEventListener('change', () => setNumber(tracking.value));
  const off = onSyncChange(() => {
    if (!view.isConnected) {
      off();
      return;
    }
    draw();
  });
  keepSiteUnits(me.id, site.id).then(() => picker.refresh());
  return view;
}
