// Draws the app icons (a shield on a dark ground) as PNGs with no dependencies and no network,
// so the manifest never points at a file that was not built from this repository.
import { deflateSync } from 'node:zlib';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'public', 'icons');
const BG = [0x0f, 0x14, 0x19];
const SHIELD = [0xf5, 0xa5, 0x24];
const INNER = [0x1a, 0x22, 0x2c];

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

function png(size, rgbAt) {
  const raw = Buffer.alloc(size * (size * 3 + 1));
  for (let y = 0; y < size; y++) {
    const row = y * (size * 3 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < size; x++) raw.set(rgbAt(x, y), row + 1 + x * 3);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// Shield in unit coordinates (0..1 across its box): straight top half, elliptic bottom half.
function inShield(u, v, inset) {
  const top = 0.06 + inset;
  const mid = 0.45;
  const bottom = 0.98 - inset * 1.6;
  const half = 0.44 - inset;
  if (v < top || v > bottom) return false;
  const dx = Math.abs(u - 0.5);
  if (v <= mid) return dx <= half;
  const t = (v - mid) / (bottom - mid);
  return dx <= half * Math.sqrt(Math.max(0, 1 - t * t));
}

// A check mark: two thick segments.
function onCheck(u, v) {
  const seg = (ax, ay, bx, by) => {
    const px = u - ax, py = v - ay, dx = bx - ax, dy = by - ay;
    const t = Math.max(0, Math.min(1, (px * dx + py * dy) / (dx * dx + dy * dy)));
    return Math.hypot(px - t * dx, py - t * dy);
  };
  return Math.min(seg(0.3, 0.5, 0.45, 0.66), seg(0.45, 0.66, 0.72, 0.34)) < 0.055;
}

function draw(size, scale) {
  const SS = 4; // supersampling per axis
  const box = size * scale;
  const off = (size - box) / 2;
  return png(size, (x, y) => {
    const acc = [0, 0, 0];
    for (let sy = 0; sy < SS; sy++) {
      for (let sx = 0; sx < SS; sx++) {
        const u = (x + (sx + 0.5) / SS - off) / box;
        const v = (y + (sy + 0.5) / SS - off) / box;
        let c = BG;
        if (inShield(u, v, 0)) c = SHIELD;
        if (inShield(u, v, 0.06)) c = INNER;
        if (inShield(u, v, 0.06) && onCheck(u, v)) c = SHIELD;
        acc[0] += c[0]; acc[1] += c[1]; acc[2] += c[2];
      }
    }
    return acc.map((s) => Math.round(s / (SS * SS)));
  });
}

mkdirSync(OUT, { recursive: true });
const icons = [
  ['icon-192.png', 192, 0.78],
  ['icon-512.png', 512, 0.78],
  ['maskable-512.png', 512, 0.56], // maskable: keep the glyph inside the 80 % safe circle
  ['apple-touch-icon.png', 180, 0.7],
];
for (const [name, size, scale] of icons) {
  const file = join(OUT, name);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, draw(size, scale));
}
console.log(`icons written: ${icons.map((i) => i[0]).join(', ')}`);
