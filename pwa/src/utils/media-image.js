// A photo made ready on the phone before it is queued: upright (EXIF orientation applied),
// long side at most 1600 px, JPEG, named by the SHA-256 of the bytes that will be sent.
export const MAX_SIDE = 1600;
export const QUALITY = 0.85;
// A JPEG already this small is sent as taken: nothing to gain, and its metadata is evidence.
const KEEP_AS_TAKEN_BYTES = 2 * 1024 * 1024;

/** A file the phone cannot use as a photo; `code` is a catalog key under `media.`. */
export class PhotoError extends Error {
  constructor(code) {
    super(code);
    this.name = 'PhotoError';
    this.code = code;
  }
}

export async function sha256Hex(buffer) {
  const digest = await crypto.subtle.digest('SHA-256', buffer);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function startsWith(bytes, ...sig) {
  return sig.every((b, i) => bytes[i] === b);
}

function isHeic(file, bytes) {
  const brand = String.fromCharCode(...bytes.subarray(8, 12));
  return /image\/hei[cf]/.test(file.type) || (String.fromCharCode(...bytes.subarray(4, 8)) === 'ftyp' && /^(heic|heix|hevc|heim|heis|mif1|msf1)$/.test(brand));
}

// JPEG has no transparency: a transparent area (a signature drawn on a pad) becomes white, not black.
function paint(ctx, bitmap, width, height) {
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, 0, 0, width, height);
}

async function encode(bitmap, width, height) {
  if (typeof OffscreenCanvas !== 'undefined') {
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d');
    paint(ctx, bitmap, width, height);
    return canvas.convertToBlob({ type: 'image/jpeg', quality: QUALITY });
  }
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  paint(canvas.getContext('2d'), bitmap, width, height);
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new PhotoError('photo_unreadable'))), 'image/jpeg', QUALITY));
}

async function named(bytes, type, width, height) {
  const buffer = bytes instanceof ArrayBuffer ? bytes : await bytes.arrayBuffer();
  return {
    sha256: await sha256Hex(buffer),
    blob: new Blob([buffer], { type }),
    type,
    size: buffer.byteLength,
    width,
    height,
  };
}

/**
 * The photo to keep and send for `file` (camera or gallery): {sha256, blob, type, size, width,
 * height}. Decoding and scaling leave the page responsive (the browser decodes off the main
 * thread). HEIC, which Chromium cannot decode, is kept as taken: the server reads it.
 */
export async function preparePhoto(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (!bytes.length) throw new PhotoError('photo_unreadable');
  let bitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes]), { imageOrientation: 'from-image' });
  } catch {
    if (isHeic(file, bytes)) return named(bytes.buffer, 'image/heic', 0, 0);
    throw new PhotoError('photo_unreadable');
  }
  try {
    const { width, height } = bitmap;
    const long = Math.max(width, height);
    const jpeg = startsWith(bytes, 0xff, 0xd8, 0xff);
    if (jpeg && long <= MAX_SIDE && bytes.length <= KEEP_AS_TAKEN_BYTES) return named(bytes.buffer, 'image/jpeg', width, height);
    const scale = Math.min(1, MAX_SIDE / long);
    const w = Math.max(1, Math.round(width * scale));
    const h = Math.max(1, Math.round(height * scale));
    return named(await encode(bitmap, w, h), 'image/jpeg', w, h);
  } finally {
    bitmap.close();
  }
}
