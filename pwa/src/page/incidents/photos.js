// Photos on a form: take one with the camera or pick from the gallery (prepared and kept on the
// phone at once), and the grid of photos with where each stands (on the phone, uploaded, refused).
import { h, icon } from '../../utils/dom.js';
import { t } from '../../utils/i18n.js';
import { MAX_PHOTOS, PhotoError, addPhoto } from '../../utils/media.js';
import { errorLines } from '../../utils/messages.js';
import { ApiError } from '../../utils/api.js';
import { ICONS } from '../icons.js';

let serial = 0;

/**
 * The camera and gallery buttons. `count()` says how many photos the form has; `onAdded(photo)`
 * gets each prepared photo ({sha256, url, status, ...}); `say(kind, lines)` reports problems.
 */
export function photoPicker({ count, onAdded, say }) {
  const n = ++serial;
  const busy = h('p', { class: 'muted photo-busy', role: 'status', hidden: true, dataset: { testid: 'photo-busy' } });
  const camera = h('input', { id: `photo-camera-${n}`, type: 'file', accept: 'image/*', capture: 'environment', class: 'file-input', dataset: { testid: 'photo-camera' } });
  const gallery = h('input', { id: `photo-gallery-${n}`, type: 'file', accept: 'image/*', multiple: true, class: 'file-input', dataset: { testid: 'photo-gallery' } });

  async function take(input) {
    const files = [...(input.files || [])];
    input.value = '';
    if (!files.length) return;
    const room = MAX_PHOTOS - count();
    const lines = [];
    if (files.length > room) lines.push(t('media.too_many', { max: MAX_PHOTOS }));
    const chosen = files.slice(0, Math.max(0, room));
    camera.disabled = gallery.disabled = true;
    busy.hidden = false;
    try {
      for (const [i, file] of chosen.entries()) {
        busy.textContent = t('media.preparing', { n: i + 1, total: chosen.length });
        try {
          onAdded(await addPhoto(file));
        } catch (err) {
          if (err instanceof PhotoError) lines.push(t(`media.${err.code}`, { name: file.name || '' }));
          else if (err instanceof ApiError) lines.push(...errorLines(err));
          else {
            console.error(err);
            lines.push(t('client.storage'));
          }
        }
      }
    } finally {
      busy.hidden = true;
      camera.disabled = gallery.disabled = false;
    }
    if (lines.length) say('error', lines);
  }
  camera.addEventListener('change', () => take(camera));
  gallery.addEventListener('change', () => take(gallery));

  const el = h(
    'div',
    { class: 'photo-picker' },
    h('label', { class: 'btn photo-btn', for: camera.id, dataset: { action: 'camera' } }, icon(ICONS.photo), h('span', { text: t('media.camera') })),
    camera,
    h('label', { class: 'btn photo-btn', for: gallery.id, dataset: { action: 'gallery' } }, icon(ICONS.zones_units), h('span', { text: t('media.gallery') })),
    gallery,
    busy,
  );
  return { el };
}

/** Why the server refused a photo, in the user's language. */
export function refusalLines(photo) {
  const err = new ApiError(photo.details?.status || 0, photo.code || 'unexpected_response', photo.message, photo.details);
  return errorLines(err);
}

function stateBadge(photo) {
  const key = { pending: 'media.state.pending', uploaded: 'media.state.uploaded', refused: 'media.state.refused' }[photo.status];
  if (!key) return null;
  const cls = photo.status === 'refused' ? ' badge-danger' : photo.status === 'uploaded' ? ' badge-ok' : ' badge-accent';
  return h('span', { class: `badge photo-state${cls}`, dataset: { state: photo.status }, text: t(key) });
}

/**
 * The photos as a grid of thumbnails. `onRemove(photo)` / `onRetry(photo)` add buttons; `open`
 * makes each thumbnail open its display image; `showHash` prints each SHA-256.
 */
export function photoGrid(photos, { onRemove, onRetry, onOpen, showHash = false } = {}) {
  if (!photos.length) return null;
  return h(
    'ul',
    { class: 'photo-grid', dataset: { testid: 'photos' } },
    photos.map((photo, i) =>
      h(
        'li',
        { class: `photo photo-${photo.status || 'server'}`, dataset: { sha256: photo.sha256, state: photo.status || 'server' } },
        h(
          onOpen ? 'button' : 'span',
          {
            class: 'photo-frame',
            type: onOpen ? 'button' : null,
            'aria-label': onOpen ? t('media.open', { n: i + 1 }) : null,
            onclick: onOpen ? () => onOpen(photo, i) : null,
          },
          h('img', { class: 'photo-img', src: photo.url, alt: t('media.photo_n', { n: i + 1 }), loading: 'lazy', decoding: 'async' }),
        ),
        stateBadge(photo),
        photo.status === 'refused'
          ? h('div', { class: 'reason', dataset: { testid: 'photo-reason' } }, refusalLines(photo).map((line) => h('p', { text: line })))
          : null,
        showHash ? h('p', { class: 'sha', dataset: { testid: 'sha256' } }, h('span', { class: 'sha-label', text: t('media.sha256') }), h('code', { text: photo.sha256 })) : null,
        onRetry && photo.status === 'refused'
          ? h('button', { class: 'btn', type: 'button', dataset: { action: 'retry-photo' }, text: t('common.retry'), onclick: () => onRetry(photo) })
          : null,
        onRemove
          ? h('button', { class: 'btn', type: 'button', dataset: { action: 'remove-photo' }, 'aria-label': t('media.remove_n', { n: i + 1 }), text: t('media.remove'), onclick: () => onRemove(photo) })
          : null,
      ),
    ),
  );
}

/** A photo at display size in a modal, with its SHA-256 and (for managers) the original. */
export function photoDialog(photo, { original = null } = {}) {
  const dialog = h(
    'dialog',
    { class: 'dialog photo-dialog', dataset: { testid: 'photo-dialog' } },
    h(
      'form',
      { method: 'dialog', class: 'dialog-form' },
      h('img', { class: 'photo-display', src: photo.display_url || photo.url, alt: t('media.display'), dataset: { testid: 'photo-display' } }),
      h('p', { class: 'sha' }, h('span', { class: 'sha-label', text: t('media.sha256') }), h('code', { text: photo.sha256 })),
      h(
        'div',
        { class: 'dialog-actions' },
        original ? h('a', { class: 'btn', href: original, target: '_blank', rel: 'noopener', dataset: { action: 'original' }, text: t('media.original') }) : null,
        h('button', { class: 'btn btn-primary', value: 'close', type: 'submit', dataset: { action: 'close' }, text: t('media.close') }),
      ),
    ),
  );
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}
