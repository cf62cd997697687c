// A small signature pad: the resident signs with a finger on a canvas; the PNG (on white, so it
// survives the photo pipeline's JPEG) goes up like any photo and is the pickup's proof.
import { h } from '../../utils/dom.js';
import { t } from '../../utils/i18n.js';

export function signaturePad() {
  const canvas = h('canvas', { class: 'signature', dataset: { testid: 'signature' }, 'aria-label': t('pickup.signature_area'), role: 'img' });
  let drawn = 0;
  let last = null;
  let sized = false;

  function size() {
    const ratio = globalThis.devicePixelRatio || 1;
    const { width, height } = canvas.getBoundingClientRect();
    if (!width || !height) return false;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, width, height);
    ctx.lineWidth = 2.5;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.strokeStyle = '#111111';
    sized = true;
    drawn = 0;
    return true;
  }

  const point = (event) => {
    const r = canvas.getBoundingClientRect();
    return { x: event.clientX - r.left, y: event.clientY - r.top };
  };

  canvas.addEventListener('pointerdown', (event) => {
    if (!sized && !size()) return;
    event.preventDefault();
    canvas.setPointerCapture?.(event.pointerId);
    last = point(event);
  });
  canvas.addEventListener('pointermove', (event) => {
    if (!last) return;
    event.preventDefault();
    const next = point(event);
    const ctx = canvas.getContext('2d');
    ctx.beginPath();
    ctx.moveTo(last.x, last.y);
    ctx.lineTo(next.x, next.y);
    ctx.stroke();
    drawn += Math.hypot(next.x - last.x, next.y - last.y);
    last = next;
    canvas.dataset.drawn = String(Math.round(drawn));
  });
  const stop = () => {
    last = null;
  };
  canvas.addEventListener('pointerup', stop);
  canvas.addEventListener('pointercancel', stop);

  const clear = h('button', {
    class: 'btn',
    type: 'button',
    dataset: { action: 'clear-signature' },
    text: t('pickup.signature_clear'),
    onclick: () => {
      size();
      delete canvas.dataset.drawn;
    },
  });

  return {
    el: h('div', { class: 'signature-pad' }, h('p', { class: 'muted', text: t('pickup.signature_hint') }), canvas, clear),
    // A tap or a dot is no signature.
    isEmpty: () => drawn < 30,
    toBlob: () =>
      new Promise((resolve, reject) =>
        canvas.toBlob((blob) => (blob ? resolve(new File([blob], 'signature.png', { type: 'image/png' })) : reject(new Error('signature'))), 'image/png'),
      ),
    reset: () => {
      if (sized) size();
      delete canvas.dataset.drawn;
    },
  };
}
