// The camera for the parcel room: a full-screen dialog on the back camera that reads a code with
// the decoder it is given (barcodes of labels, the resident's pickup QR). One code closes it; in
// `continuous` mode (a courier's drop, a shelf) it keeps reading until the guard is done.
import { h } from '../../utils/dom.js';
import { t } from '../../utils/i18n.js';
import { drawScaled } from '../../utils/qr.js';

const EVERY_MS = 150;

function cameraError(err) {
  if (err?.name === 'NotAllowedError' || err?.name === 'SecurityError') return t('parcels.camera_denied');
  if (err?.name === 'NotFoundError' || err?.name === 'OverconstrainedError') return t('parcels.camera_missing');
  return t('parcels.camera_failed');
}

/**
 * `decode(canvas)` → text or null; `prepare()` loads the decoder (answers its name). Resolves to
 * the text read (null when closed), or in continuous mode to every new text, in order; each one
 * is also given to `onCode(text)` as it is read.
 */
export function scanCamera({ title, decode, prepare, continuous = false, onCode = () => {} }) {
  return new Promise((resolve) => {
    const seen = [];
    const video = h('video', { class: 'scanner-video', playsinline: true, muted: true, autoplay: true });
    video.muted = true;
    const status = h('p', { class: 'scanner-status', role: 'status', dataset: { testid: 'camera-status' }, text: t('parcels.camera_starting') });
    const list = continuous ? h('ol', { class: 'camera-codes', dataset: { testid: 'camera-codes' } }) : null;
    const dialog = h(
      'dialog',
      { class: 'dialog scanner', 'aria-labelledby': 'camera-title', dataset: { testid: 'parcel-camera' } },
      h('h2', { id: 'camera-title', class: 'dialog-title', text: title }),
      h('div', { class: 'scanner-frame' }, video, h('div', { class: 'scanner-aim scanner-aim-wide', 'aria-hidden': 'true' })),
      status,
      list,
      h(
        'div',
        { class: 'dialog-actions' },
        h('button', {
          class: continuous ? 'btn btn-primary btn-block' : 'btn btn-block',
          type: 'button',
          dataset: { action: 'close-camera' },
          text: continuous ? t('parcels.camera_done') : t('common.cancel'),
          onclick: () => finish(),
        }),
      ),
    );
    const canvas = document.createElement('canvas');
    let stream = null;
    let timer = null;
    let done = false;

    function finish(text = null) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const track of stream?.getTracks() || []) track.stop();
      if (dialog.open) dialog.close();
      dialog.remove();
      resolve(continuous ? seen : text);
    }

    function got(text) {
      if (!continuous) {
        onCode(text);
        finish(text);
        return;
      }
      if (seen.includes(text)) {
        status.textContent = t('parcels.camera_again', { code: text });
        return;
      }
      seen.push(text);
      navigator.vibrate?.(60);
      onCode(text);
      list.prepend(h('li', { class: 'camera-code', text }));
      status.textContent = t('parcels.camera_count', { count: seen.length });
    }

    async function tick() {
      if (done) return;
      try {
        if (video.readyState >= 2 && video.videoWidth) {
          const text = await decode(drawScaled(canvas, video, video.videoWidth, video.videoHeight, 1280));
          if (text) got(text);
        }
      } catch (err) {
        console.warn('camera decode', err);
      }
      if (!done) timer = setTimeout(tick, EVERY_MS);
    }

    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      finish();
    });
    document.body.append(dialog);
    dialog.showModal();

    (async () => {
      try {
        const [decoder, media] = await Promise.all([
          prepare(),
          navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: 'environment' } }, audio: false }),
        ]);
        stream = media;
        if (done) {
          for (const track of stream.getTracks()) track.stop();
          return;
        }
        dialog.dataset.decoder = decoder;
        video.srcObject = stream;
        await video.play().catch(() => {});
        status.textContent = t('parcels.camera_aim');
        tick();
      } catch (err) {
        status.textContent = cameraError(err);
        status.classList.add('scanner-error');
        dialog.dataset.error = err?.name || 'error';
      }
    })();
  });
}
