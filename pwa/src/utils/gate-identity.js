// Identity document numbers at the gate, checked on the phone for instant feedback: the same
// rules and error codes as backend/services/identity.py (GB 11643 resident ID: length, digits,
// ISO 7064 MOD 11-2 check character, region, birth date; passports and permits by shape). The
// server checks again; this only saves the guard a round trip. Numbers are personal
// information: show them through `maskId`, never log them.

export const ID_KINDS = ['resident_id', 'passport', 'hk_macao_permit', 'taiwan_permit', 'other'];

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARACTERS = '10X98765432';
const MAINLAND = new Set(
  '11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65'.split(' '),
);
const REGIONS = new Set([...MAINLAND, '71', '81', '82', '83']);
const EARLIEST_BIRTH_YEAR = 1900;

/** A code from the backend's list (`field.id_<code>` in the catalogs). */
export class IdError extends Error {
  constructor(code) {
    super(code);
    this.name = 'IdError';
    this.code = code;
  }
}

const compact = (text) => String(text ?? '').normalize('NFKC').replace(/\s+/g, '');

/** The check character of 17 ASCII digits. */
export function checkCharacter(body) {
  let total = 0;
  for (let i = 0; i < 17; i += 1) total += Number(body[i]) * WEIGHTS[i];
  return CHECK_CHARACTERS[total % 11];
}

/** Today's date in China (UTC+8 all year), as YYYYMMDD. */
function chinaToday(now = new Date()) {
  const d = new Date(now.getTime() + 8 * 3_600_000);
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
}

function checkBirthDate(yyyymmdd, now) {
  const y = Number(yyyymmdd.slice(0, 4));
  const m = Number(yyyymmdd.slice(4, 6));
  const d = Number(yyyymmdd.slice(6, 8));
  const date = new Date(Date.UTC(y, m - 1, d));
  if (m < 1 || m > 12 || date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) {
    throw new IdError('bad_birth_date');
  }
  if (y < EARLIEST_BIRTH_YEAR || yyyymmdd > chinaToday(now)) throw new IdError('bad_birth_date');
}

/** An 18-character resident ID normalised (upper-case X), or an IdError. */
export function validateResidentId(text, now = new Date()) {
  const number = compact(text).toUpperCase();
  if (number.length !== 18) {
    if (number.length === 15 && /^[0-9]{15}$/.test(number)) throw new IdError('old_format');
    throw new IdError('bad_length');
  }
  if (!/^[0-9]{17}[0-9X]$/.test(number)) throw new IdError('bad_characters');
  // The checksum first: a typo says "mistyped", not "no such region".
  if (checkCharacter(number.slice(0, 17)) !== number[17]) throw new IdError('bad_checksum');
  if (number.startsWith('9')) {
    if (!MAINLAND.has(number.slice(1, 3))) throw new IdError('bad_region');
  } else if (!REGIONS.has(number.slice(0, 2))) {
    throw new IdError('bad_region');
  }
  checkBirthDate(number.slice(6, 14), now);
  return number;
}

function shaped(number, lengths, pattern) {
  if (!lengths.includes(number.length)) throw new IdError('bad_length');
  if (!pattern.test(number)) throw new IdError('bad_characters');
  return number;
}

const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

/** A document number of `kind` normalised as the server will store it, or an IdError. */
export function validateDocument(kind, text, now = new Date()) {
  switch (kind) {
    case 'resident_id':
      return validateResidentId(text, now);
    case 'passport':
      return shaped(compact(text).toUpperCase(), range(5, 20), /^[A-Z0-9]+$/);
    case 'hk_macao_permit': {
      const number = shaped(compact(text).toUpperCase(), [9, 11], /^[A-Z0-9]+$/);
      if (!/^[HM][0-9]{8}([0-9]{2})?$/.test(number)) throw new IdError('bad_format');
      return number;
    }
    case 'taiwan_permit':
      return shaped(compact(text), [8], /^[0-9]+$/);
    default: {
      const number = String(text ?? '').normalize('NFKC').trim();
      if (number.length < 1 || number.length > 40) throw new IdError('bad_length');
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f]/.test(number)) throw new IdError('bad_characters');
      return number;
    }
  }
}

/** `110105********002X`, `E1*****78`: as the server masks (first 6 and last 4, or 2 and 2). */
export function maskId(number) {
  const c = String(number ?? '').replace(/\s+/g, '');
  let head;
  let tail;
  if (c.length >= 15) [head, tail] = [6, 4];
  else if (c.length >= 8) [head, tail] = [2, 2];
  else return '*'.repeat(c.length);
  return c.slice(0, head) + '*'.repeat(c.length - head - tail) + c.slice(-tail);
}
