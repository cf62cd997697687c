// The camera scanner: a full-screen dialog showing the back camera until a QR code is read.
// Resolves to {text, decoder}: the code's text (null when the guard closes it or there is no
// camera) and which decoder read it ('native' or 'jsqr').
import { h } from '../utils/dom.js';
import { t } from '../utils/i18n.js';
import { decodeCanvas, drawScaled, prepareDecoder } from '../utils/qr.js';

const EVERY_MS = 150;

function cameraError(err) {
  if (err?.name === 'NotAllowedError' || err?.name === 'SecurityError') return t('scan.camera_denied');
  if (err?.name === 'NotFoundError' || err?.name === 'OverconstrainedError') return t('scan.camera_missing');
  return t('scan.camera_failed');
}

export function scanQr() {
  return new Promise((resolve) => {
    const video = h('video', { class: 'scanner-video', playsinline: true, muted: true, autoplay: true });
    video.muted = true;
    const status = h('p', { class: 'scanner-status', role: 'status', dataset: { testid: 'scanner-status' }, text: t('scan.starting_camera') });
    const dialog = h(
      'dialog',
      { class: 'dialog scanner', 'aria-labelledby': 'scanner-title', dataset: { testid: 'scanner' } },
      h('h2', { id: 'scanner-title', class: 'dialog-title', text: t('scan.camera_title') }),
      h('div', { class: 'scanner-frame' }, video, h('div', { class: 'scanner-aim', 'aria-hidden': 'true' })),
      status,
      h('div', { class: 'dialog-actions' }, h('button', { class: 'btn btn-block', type: 'button', dataset: { action: 'close-scanner' }, text: t('common.cancel'), onclick: () => finish(null) })),
    );
    const canvas = document.createElement('canvas');
    let stream = null;
    let timer = null;
    let done = false;
    let decoder = null;

    function finish(text) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const track of stream?.getTracks() || []) track.stop();
      if (dialog.open) dialog.close();
      dialog.remove();
      resolve({ text, decoder });
    }

    async function tick() {
      if (done) return;
      try {
        if (video.readyState >= 2 && video.videoWidth) {
          const text = await decodeCanvas(drawScaled(canvas, video, video.videoWidth, video.videoHeight, 720));
          if (text) {
            finish(text);
            return;
          }
        }
      } catch (err) {
        console.warn('qr decode', err);
      }
      timer = setTimeout(tick, EVERY_MS);
    }

    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      finish(null);
    });
    document.body.append(dialog);
    dialog.showModal();

    (async () => {
      try {
        const [which, media] = await Promise.all([
          prepareDecoder(),
          navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: 'environment' } }, audio: false }),
        ]);
        stream = media;
        if (done) {
          finish(null);
          return;
        }
        decoder = which;
        dialog.dataset.decoder = which;
        video.srcObject = stream;
        await video.play().catch(() => {});
        status.textContent = t('scan.aim');
        tick();
      } catch (err) {
        status.textContent = cameraError(err);
        status.classList.add('scanner-error');
        dialog.dataset.error = err?.name || 'error';
      }
    })();
  });
}
