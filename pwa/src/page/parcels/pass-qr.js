// Draws the resident's pickup pass as a QR code on a canvas (qrcode-generator, loaded on first
// use); black on white with the quiet zone, whatever the theme, so any scanner reads it.
const QUIET = 4;

export async function drawQr(canvas, text, size = 264) {
  const { default: qrcode } = await import('qrcode-generator');
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const modules = qr.getModuleCount();
  const cell = Math.max(2, Math.floor(size / (modules + QUIET * 2)));
  const side = cell * (modules + QUIET * 2);
  canvas.width = side;
  canvas.height = side;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, side, side);
  ctx.fillStyle = '#000000';
  for (let r = 0; r < modules; r += 1) {
    for (let c = 0; c < modules; c += 1) {
      if (qr.isDark(r, c)) ctx.fillRect((c + QUIET) * cell, (r + QUIET) * cell, cell, cell);
    }
  }
  canvas.dataset.modules = String(modules);
  return canvas;
}
