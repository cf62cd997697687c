// The ways a guard records a checkpoint, best first: the camera (QR), an NFC tap, a photo of the
// label, and typing the code (the last resort, marked manual). Every one ends in the outbox.
import { h, icon } from '../utils/dom.js';
import { positionForScan } from '../utils/geo.js';
import { t } from '../utils/i18n.js';
import { nfcAvailable, readTag } from '../utils/nfc.js';
import { checkpointFor } from '../utils/plan.js';
import { decodeFile } from '../utils/qr.js';
import { lookupKey, recordScan } from '../utils/scans.js';
import { checklistDialog, hasChecklist } from './checklist-dialog.js';
import { ICONS } from './icons.js';
import { scanQr } from './scanner.js';
import { textDialog } from './text-dialog.js';

const MAX_CODE = 128;

/**
 * `opts`: {plan(): the cached plan, roundId(): the round being walked or null,
 * onRecorded(local, checkpoint, reading), say(kind, lines)}. Returns the element.
 */
export function scanActions(ctx, { plan, roundId, onRecorded, say }) {
  const site = ctx.membership.site;
  const me = ctx.me.user;
  let nfcAbort = null;

  async function record(reading) {
    const key = lookupKey(reading);
    const checkpoint = key ? await checkpointFor(plan(), ...key) : null;
    let answers = {};
    let photos = [];
    if (hasChecklist(checkpoint)) {
      const answered = await checklistDialog(checkpoint);
      if (answered === null) {
        say('info', [t('scan.cancelled')]);
        return;
      }
      ({ answers, photos } = answered);
    }
    try {
      const position = await positionForScan();
      const local = await recordScan({ id: me.id, name: me.display_name || me.username }, site.id, reading, {
        round_id: roundId(),
        answers,
        photos,
        position,
        checkpoint_id: checkpoint?.id ?? null,
      });
      navigator.vibrate?.(60);
      onRecorded(local, checkpoint, reading);
    } catch (err) {
      console.error(err);
      say('error', [t('client.storage')]);
    }
  }

  async function camera() {
    const { text, decoder } = await scanQr();
    if (decoder) el.dataset.decoder = decoder;
    if (text) await record({ method: 'qr', code: text.trim().slice(0, MAX_CODE) });
  }

  async function nfc() {
    if (nfcAbort) {
      nfcAbort.abort();
      return;
    }
    nfcAbort = new AbortController();
    nfcButton.classList.add('btn-waiting');
    nfcButton.querySelector('span').textContent = t('scan.nfc_waiting');
    try {
      await record(await readTag(nfcAbort.signal));
    } catch (err) {
      if (err?.name !== 'AbortError') say('error', [err?.name === 'NotAllowedError' ? t('scan.nfc_denied') : t('scan.nfc_failed')]);
    } finally {
      nfcAbort = null;
      nfcButton.classList.remove('btn-waiting');
      nfcButton.querySelector('span').textContent = t('scan.nfc');
    }
  }

  async function photo(event) {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (!file) return;
    say('info', [t('scan.reading_photo')]);
    let text = null;
    try {
      text = await decodeFile(file);
    } catch (err) {
      console.warn('photo decode', err);
    }
    if (!text) {
      say('error', [t('scan.no_code_in_photo')]);
      return;
    }
    await record({ method: 'qr', code: text.trim().slice(0, MAX_CODE) });
  }

  async function manual() {
    const code = await textDialog({
      title: t('scan.manual_title'),
      body: t('scan.manual_body'),
      label: t('scan.manual_label'),
      confirm: t('scan.manual_confirm'),
      maxlength: MAX_CODE,
      testid: 'manual-entry',
      attrs: { autocapitalize: 'characters', spellcheck: 'false', enterkeyhint: 'done', name: 'code' },
    });
    if (code) await record({ method: 'manual', code });
  }

  const button = (action, paths, key, onclick, cls = 'btn') =>
    h('button', { class: `${cls} scan-btn`, type: 'button', dataset: { action }, onclick }, icon(paths), h('span', { text: t(key) }));
  const nfcButton = nfcAvailable() ? button('scan-nfc', ICONS.nfc, 'scan.nfc', nfc) : null;
  const fileInput = h('input', { hidden: true, type: 'file', accept: 'image/*', dataset: { testid: 'scan-photo' }, onchange: photo });
  const el = h(
    'div',
    { class: 'scan-actions', dataset: { testid: 'scan-actions' } },
    button('scan-camera', ICONS.qr, 'scan.camera', camera, 'btn btn-primary scan-main'),
    nfcButton,
    h(
      'div',
      { class: 'scan-more' },
      button('scan-photo', ICONS.photo, 'scan.photo', () => fileInput.click()),
      fileInput,
      button('scan-manual', ICONS.keyboard, 'scan.manual', manual),
    ),
  );
  return el;
}
