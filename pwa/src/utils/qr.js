// Reads a QR code from a canvas: the browser's BarcodeDetector where it has one, else jsQR,
// bundled and loaded on first use (a lazy chunk, precached like the shell: works offline).
// The camera and "scan from a photo" both come through here.

let native; // undefined: not asked yet; null: none here
let jsqr = null;

async function nativeDetector() {
  if (native !== undefined) return native;
  native = null;
  try {
    if ('BarcodeDetector' in globalThis) {
      const formats = await globalThis.BarcodeDetector.getSupportedFormats();
      if (formats.includes('qr_code')) native = new globalThis.BarcodeDetector({ formats: ['qr_code'] });
    }
  } catch {
    native = null;
  }
  return native;
}

/** Which decoder reads codes here: 'native' or 'jsqr' (loads it, so the first scan is quick). */
export async function prepareDecoder() {
  if (await nativeDetector()) return 'native';
  jsqr ??= (await import('jsqr')).default;
  return 'jsqr';
}

/** The text of the first QR code on `canvas`, or null. */
export async function decodeCanvas(canvas) {
  const detector = await nativeDetector();
  if (detector) {
    const found = await detector.detect(canvas);
    return found[0]?.rawValue ?? null;
  }
  jsqr ??= (await import('jsqr')).default;
  const image = canvas.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, canvas.width, canvas.height);
  // Printed labels are dark on light; 'attemptBoth' also reads a code shown on a dark screen.
  const found = jsqr(image.data, image.width, image.height, { inversionAttempts: 'attemptBoth' });
  return found?.data || null;
}

/** Draws `source` (video, image, bitmap) onto `canvas`, scaled so its longer side is ≤ `max`. */
export function drawScaled(canvas, source, width, height, max = 960) {
  const scale = Math.min(1, max / Math.max(width, height));
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  canvas.getContext('2d', { willReadFrequently: true }).drawImage(source, 0, 0, canvas.width, canvas.height);
  return canvas;
}

/** Reads a QR code from an image file (a photo of the label); null when none is found. */
export async function decodeFile(file) {
  const bitmap = await createImageBitmap(file);
  try {
    return await decodeCanvas(drawScaled(document.createElement('canvas'), bitmap, bitmap.width, bitmap.height, 1280));
  } finally {
    bitmap.close?.();
  }
}
