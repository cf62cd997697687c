// The bundled 1D barcode decoder (Code 128, Code 39/93, EAN/UPC, ITF, Codabar) for browsers
// without BarcodeDetector: @zxing/library's readers only, imported by path so the rest of the
// library (QR, PDF417, …) stays out of the chunk. Loaded on first use by barcode.js.
import BarcodeFormat from '@zxing/library/esm/core/BarcodeFormat.js';
import BinaryBitmap from '@zxing/library/esm/core/BinaryBitmap.js';
import DecodeHintType from '@zxing/library/esm/core/DecodeHintType.js';
import RGBLuminanceSource from '@zxing/library/esm/core/RGBLuminanceSource.js';
import HybridBinarizer from '@zxing/library/esm/core/common/HybridBinarizer.js';
import MultiFormatOneDReader from '@zxing/library/esm/core/oned/MultiFormatOneDReader.js';

const FORMATS = [
  BarcodeFormat.CODE_128,
  BarcodeFormat.CODE_39,
  BarcodeFormat.CODE_93,
  BarcodeFormat.EAN_13,
  BarcodeFormat.EAN_8,
  BarcodeFormat.UPC_A,
  BarcodeFormat.ITF,
  BarcodeFormat.CODABAR,
];
const hints = new Map([
  [DecodeHintType.POSSIBLE_FORMATS, FORMATS],
  [DecodeHintType.TRY_HARDER, true], // more rows, and the image turned 90° (a label held sideways)
]);
const reader = new MultiFormatOneDReader(hints);

/** The text of a barcode in RGBA `data` (an ImageData's), or null. */
export function decodeRgba(data, width, height) {
  const luma = new Uint8ClampedArray(width * height);
  for (let i = 0, j = 0; i < luma.length; i += 1, j += 4) {
    luma[i] = (data[j] * 306 + data[j + 1] * 601 + data[j + 2] * 117) >> 10;
  }
  const bitmap = new BinaryBitmap(new HybridBinarizer(new RGBLuminanceSource(luma, width, height)));
  try {
    return reader.decode(bitmap, hints).getText() || null;
  } catch {
    return null; // NotFound, Checksum, Format: nothing readable in this picture
  } finally {
    reader.reset();
  }
}
