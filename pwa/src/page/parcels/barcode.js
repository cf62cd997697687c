// Reads a parcel label's barcode (the tracking number): the browser's BarcodeDetector where it
// reads 1D codes, else the bundled zxing readers (a lazy chunk, precached with the app: works
// offline). The camera and the label photo both come through here.
import { drawScaled } from '../../utils/qr.js';

const WANTED = ['code_128', 'code_39', 'code_93', 'ean_13', 'ean_8', 'upc_a', 'itf', 'codabar'];
let native; // undefined: not asked yet; null: none here
let zxing = null;

async function nativeDetector() {
  if (native !== undefined) return native;
  native = null;
  try {
    if ('BarcodeDetector' in globalThis) {
      const supported = await globalThis.BarcodeDetector.getSupportedFormats();
      const formats = WANTED.filter((f) => supported.includes(f));
      if (formats.includes('code_128')) native = new globalThis.BarcodeDetector({ formats });
    }
  } catch {
    native = null;
  }
  return native;
}

const loadZxing = async () => (zxing ??= await import('./zxing-oned.js'));

/** Which decoder reads barcodes here: 'native' or 'zxing' (loads it, so the first scan is quick). */
export async function prepareBarcode() {
  if (await nativeDetector()) return 'native';
  await loadZxing();
  return 'zxing';
}

/** Tracking numbers are printed in capitals and digits; scanners sometimes add spaces. */
export function cleanNumber(text) {
  return String(text || '')
    .normalize('NFKC')
    .replace(/\s+/g, '')
    .toUpperCase()
    .slice(0, 64);
}

/** The text of the first barcode on `canvas`, or null. */
export async function decodeBarcodeCanvas(canvas) {
  const detector = await nativeDetector();
  if (detector) {
    const found = await detector.detect(canvas);
    return found[0]?.rawValue ? cleanNumber(found[0].rawValue) : null;
  }
  const { decodeRgba } = await loadZxing();
  const image = canvas.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, canvas.width, canvas.height);
  const text = decodeRgba(image.data, image.width, image.height);
  return text ? cleanNumber(text) : null;
}

/** Reads a barcode from a photo (the label); null when none is found. */
export async function decodeBarcodeFile(file) {
  const bitmap = await createImageBitmap(file);
  try {
    // Bars need resolution: a label photographed whole still has a few pixels per bar at 1600.
    return await decodeBarcodeCanvas(drawScaled(document.createElement('canvas'), bitmap, bitmap.width, bitmap.height, 1600));
  } finally {
    bitmap.close?.();
  }
}
