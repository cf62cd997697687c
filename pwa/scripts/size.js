// Prints the gzipped size of what index.html loads before any lazy chunk (budget: 80 KB).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUDGET = 80 * 1024;
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const refs = [...html.matchAll(/<(?:script|link)\b[^>]*?(?:src|href)="\/([^"]+\.(?:js|css))"/g)].map((m) => m[1]);
let total = 0;
for (const ref of refs) {
  const size = gzipSync(readFileSync(join(dist, ref)), { level: 9 }).length;
  total += size;
  console.log(`${(size / 1024).toFixed(2).padStart(8)} KB  ${ref}`);
}
console.log(`${(total / 1024).toFixed(2).padStart(8)} KB  initial JS+CSS gzipped (budget ${BUDGET / 1024} KB)`);
if (total > BUDGET) {
  console.error('over budget');
  process.exit(1);
}
