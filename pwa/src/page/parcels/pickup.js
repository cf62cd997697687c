// Handing parcels over: scan the resident's pickup pass (QR, the same decoder as checkpoints) or
// type the 6-character code; the server says which waiting parcels it opens (wrong and reused
// codes are refused and counted, too many and it locks). Someone collecting for the resident
// leaves their name and a photo; a proof photo or a signature may be added. Needs a connection:
// only the server can check a code.
import { ApiError, NetworkError, api } from '../../utils/api.js';
import { h, icon } from '../../utils/dom.js';
import { t } from '../../utils/i18n.js';
import { addPhoto, whenUploaded } from '../../utils/media.js';
import { errorLines } from '../../utils/messages.js';
import { decodeCanvas, prepareDecoder } from '../../utils/qr.js';
import { ICONS } from '../icons.js';
import { scanCamera } from './camera.js';
import { parcelCard } from './card.js';
import { parcelHead, statusLine } from './head.js';
import { signaturePad } from './signature-pad.js';
import { keepParcel } from './store.js';

const CODE_LENGTH = 6;
const UPLOAD_WAIT_MS = 60_000;

/** As typed or read aloud: case, spaces, dashes and full-width characters do not matter. */
export function normalizeCode(text) {
  return String(text || '')
    .normalize('NFKC')
    .toUpperCase()
    .replace(/[^0-9A-Z]/g, '');
}

/** The lines for a refused code: the reason, then how many tries are left before the lock. */
export function pickupErrorLines(err) {
  const lines = errorLines(err);
  const left = err instanceof ApiError ? err.details?.attempts_left : null;
  if (left != null) lines.push(t('pickup.attempts_left', { count: left }));
  return lines;
}

function photoField(testid, labelKey, onPhoto) {
  let sha = null;
  let preparing = Promise.resolve(); // a photo just taken is still being made ready
  const input = h('input', { type: 'file', accept: 'image/*', capture: 'environment', hidden: true, dataset: { testid } });
  const preview = h('img', { class: 'label-preview', hidden: true, alt: t(labelKey), dataset: { testid: `${testid}-preview` } });
  const button = h(
    'button',
    { class: 'btn btn-block scan-btn', type: 'button', dataset: { action: testid }, onclick: () => input.click() },
    icon(ICONS.photo),
    h('span', { text: t(labelKey) }),
  );
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    preparing = (async () => {
      try {
        const kept = await addPhoto(file);
        sha = kept.sha256;
        preview.src = kept.url;
        preview.hidden = false;
        onPhoto?.(null);
      } catch (err) {
        console.warn('photo', err);
        onPhoto?.(t('parcels.photo_unreadable'));
      }
    })();
  });
  return {
    el: h('div', { class: 'photo-field' }, button, input, preview),
    /** The photo's SHA-256 once it is kept on the phone (null when none was taken). */
    sha: async () => {
      await preparing;
      return sha;
    },
    reset() {
      sha = null;
      preview.hidden = true;
      preview.removeAttribute('src');
    },
  };
}

export function pickupView(ctx) {
  const site = ctx.membership.site;
  const me = ctx.me.user;
  const status = statusLine('pickup-status');
  let found = null; // {method, proof: {code} | {token}, resident_name, parcels}

  const code = h('input', {
    id: 'pickup-code',
    class: 'input input-code',
    name: 'code',
    maxlength: 16,
    autocomplete: 'off',
    autocapitalize: 'characters',
    spellcheck: 'false',
    inputmode: 'text',
    enterkeyhint: 'go',
  });
  const find = h('button', { class: 'btn btn-primary', type: 'submit', dataset: { action: 'find-code' }, text: t('pickup.find') });
  const result = h('div', { class: 'pickup-result', dataset: { testid: 'pickup-result' } });

  async function lookUp(proof) {
    status.clear();
    result.replaceChildren();
    found = null;
    find.disabled = true;
    try {
      const answer = await api.post(`/api/sites/${site.id}/parcels/find`, proof);
      found = { ...answer, proof };
      if (!answer.parcels.length) status.say('warn', [t('pickup.none_waiting', { name: answer.resident_name })]);
      else showFound();
    } catch (err) {
      status.say('error', err instanceof NetworkError ? [t('pickup.needs_network')] : pickupErrorLines(err));
      if (proof.code) code.select();
    } finally {
      find.disabled = false;
    }
  }

  function onCode(event) {
    event.preventDefault();
    const typed = normalizeCode(code.value);
    if (typed.length !== CODE_LENGTH) {
      code.setAttribute('aria-invalid', 'true');
      status.say('error', [t('pickup.code_length', { length: CODE_LENGTH })]);
      code.focus();
      return;
    }
    code.removeAttribute('aria-invalid');
    lookUp({ code: typed });
  }

  async function scanPass() {
    const text = await scanCamera({ title: t('pickup.scan_title'), decode: decodeCanvas, prepare: prepareDecoder });
    if (text) lookUp({ token: text.trim() });
  }

  function showFound() {
    const boxes = new Map();
    const cards = found.parcels.map((p) => {
      const box = h('input', { type: 'checkbox', checked: true, dataset: { pick: String(p.id) }, 'aria-label': t('pickup.hand_this') });
      boxes.set(String(p.id), box);
      return parcelCard(p, {
        timeZone: site.timezone,
        extra: h('label', { class: 'choice-toggle toggle-fill pick-toggle' }, box, h('span', { text: t('pickup.hand_this') })),
      });
    });
    const list = h('ul', { class: 'cards', dataset: { testid: 'pickup-parcels' } }, cards);

    // Someone else collecting: their name and a photo of them (the server requires both).
    const behalf = h('input', { type: 'checkbox', name: 'behalf', dataset: { testid: 'behalf' } });
    const name = h('input', { id: 'collector-name', class: 'input', name: 'collected_by_name', maxlength: 120, autocomplete: 'off' });
    const collectorPhoto = photoField('collector-photo', 'pickup.collector_photo', (problem) => problem && status.say('error', [problem]));
    const behalfFields = h(
      'div',
      { class: 'fields', hidden: true },
      h('label', { class: 'label', for: name.id, text: t('pickup.collector_name') }),
      name,
      collectorPhoto.el,
    );
    behalf.addEventListener('change', () => {
      behalfFields.hidden = !behalf.checked;
      if (behalf.checked) name.focus();
    });

    // Proof: none, a photo of the handover, or the resident's signature.
    const proofPhoto = photoField('proof-photo', 'pickup.proof_photo_take', (problem) => problem && status.say('error', [problem]));
    const pad = signaturePad();
    const proofPanels = { none: null, photo: proofPhoto.el, signature: pad.el };
    for (const panel of Object.values(proofPanels)) if (panel) panel.hidden = true;
    const proofChoice = (value) =>
      h(
        'label',
        { class: 'choice-toggle toggle-fill' },
        h('input', { type: 'radio', name: 'proof', value, checked: value === 'none', dataset: { proof: value } }),
        h('span', { text: t(`pickup.proof_${value}`) }),
      );
    const proofGroup = h(
      'fieldset',
      { class: 'check-item' },
      h('legend', { class: 'label', text: t('pickup.proof') }),
      h('div', { class: 'toggle-row' }, proofChoice('none'), proofChoice('photo'), proofChoice('signature')),
    );
    proofGroup.addEventListener('change', () => {
      const chosen = proofGroup.querySelector('input:checked').value;
      for (const [value, panel] of Object.entries(proofPanels)) if (panel) panel.hidden = value !== chosen;
    });

    const handOver = h('button', { class: 'btn btn-primary btn-block', type: 'button', dataset: { action: 'hand-over' }, text: t('pickup.hand_over') });

    async function proofOf() {
      const chosen = proofGroup.querySelector('input:checked').value;
      if (chosen === 'photo') {
        const sha = await proofPhoto.sha();
        if (!sha) throw new Error(t('pickup.proof_photo_missing'));
        return { proof_sha256: sha, proof_kind: 'photo' };
      }
      if (chosen === 'signature') {
        if (pad.isEmpty()) throw new Error(t('pickup.signature_missing'));
        const kept = await addPhoto(await pad.toBlob());
        return { proof_sha256: kept.sha256, proof_kind: 'signature' };
      }
      return {};
    }

    const handed = new Set(); // parcels handed over already (a retry after a failure skips them)
    handOver.addEventListener('click', async () => {
      const chosen = found.parcels.filter((p) => boxes.get(String(p.id)).checked && !handed.has(String(p.id)));
      if (!chosen.length) {
        status.say('error', [t('pickup.choose_one')]);
        return;
      }
      const body = { ...found.proof };
      if (behalf.checked) {
        if (!name.value.trim()) {
          name.setAttribute('aria-invalid', 'true');
          name.focus();
          status.say('error', [t('pickup.collector_name_missing')]);
          return;
        }
      }
      handOver.disabled = true;
      try {
        if (behalf.checked) {
          const sha = await collectorPhoto.sha();
          if (!sha) throw new Error(t('pickup.collector_photo_missing'));
          body.collected_by_name = name.value.trim();
          body.collector_photo_sha256 = sha;
        }
        Object.assign(body, await proofOf());
        const photos = [body.collector_photo_sha256, body.proof_sha256].filter(Boolean);
        if (photos.length) {
          status.say('info', [t('pickup.uploading')]);
          await Promise.race([
            whenUploaded(photos),
            new Promise((_, reject) => setTimeout(() => reject(new Error(t('pickup.upload_slow'))), UPLOAD_WAIT_MS)),
          ]).catch((err) => {
            throw err?.refused ? new Error(t('pickup.photo_refused')) : err;
          });
        }
        const done = [];
        for (const p of chosen) {
          const after = await api.post(`/api/parcels/${p.id}/pickup`, body);
          await keepParcel(me.id, after).catch(() => {});
          handed.add(String(p.id));
          done.push(after);
          const card = list.querySelector(`[data-parcel="${p.id}"]`);
          card?.replaceWith(parcelCard(after, { timeZone: site.timezone }));
        }
        status.say('ok', [t('pickup.done', { count: done.length })]);
        handOver.hidden = true;
        code.value = '';
      } catch (err) {
        const lines = err instanceof ApiError || err instanceof NetworkError ? pickupErrorLines(err) : [err.message];
        status.say('error', err instanceof NetworkError ? [t('pickup.needs_network')] : lines);
      } finally {
        handOver.disabled = false;
      }
    });

    result.replaceChildren(
      found.resident_name ? h('p', { class: 'card-title', dataset: { testid: 'pass-holder' }, text: t('pickup.pass_of', { name: found.resident_name }) }) : null,
      list,
      h('label', { class: 'choice-toggle toggle-fill' }, behalf, h('span', { text: t('pickup.on_behalf') })),
      behalfFields,
      proofGroup,
      proofPhoto.el,
      pad.el,
      handOver,
    );
  }

  return h(
    'section',
    { class: 'page parcels-pickup', 'aria-labelledby': 'page-title' },
    parcelHead(ctx, t('pickup.title')),
    h(
      'button',
      { class: 'btn btn-primary btn-block scan-btn', type: 'button', dataset: { action: 'scan-pass' }, onclick: scanPass },
      icon(ICONS.qr),
      h('span', { text: t('pickup.scan_pass') }),
    ),
    h(
      'form',
      { class: 'form', novalidate: true, onsubmit: onCode },
      h('label', { class: 'label', for: code.id, text: t('pickup.code') }),
      h('div', { class: 'input-row' }, code, find),
    ),
    status.el,
    result,
  );
}
