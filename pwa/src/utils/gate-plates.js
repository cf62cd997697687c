// Mainland plate numbers checked on the phone (the rules and codes of backend/services/plates.py,
// GA 36-2018): ordinary, 8-character new-energy, trailer, coach, police, Hong Kong and Macao
// plates. Anything else (foreign, temporary, embassy, military) goes through the manual override,
// which the record then shows.

const PROVINCES = '京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼';
const AUTHORITY = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const SERIAL = '[A-HJ-NP-Z0-9]';
const ORDINARY = new RegExp(`^${SERIAL}{5}$`);
const NEW_ENERGY_SMALL = new RegExp(`^[DABCEFGHJK]${SERIAL}[0-9]{4}$`);
const NEW_ENERGY_LARGE = /^[0-9]{5}[DF]$/;
const WITH_SUFFIX = new RegExp(`^${SERIAL}{4}[挂学警港澳]$`);
const MILITARY = /^(WJ.*|[A-Z]{2}[0-9]{5})$/;
// Middle-dot look-alikes and the separators phone keyboards offer instead of `·`.
const SEPARATORS = /[·・•‧∙⋅.\-‐–—]/g;

export class PlateError extends Error {
  constructor(code) {
    super(code);
    this.name = 'PlateError';
    this.code = code;
  }
}

/** One spelling per plate: no spaces or separators, ASCII, upper case. */
export function normalisePlate(text) {
  return String(text ?? '')
    .normalize('NFKC')
    .replace(/\s+/g, '')
    .replace(SEPARATORS, '')
    .toUpperCase();
}

/** {number, kind} of a valid mainland plate, or a PlateError (`field.plate_<code>`). */
export function validatePlate(text) {
  const number = normalisePlate(text);
  if (!number) throw new PlateError('empty');
  if (/[使领]/.test(number) || MILITARY.test(number)) throw new PlateError('unsupported_kind');
  if (!PROVINCES.includes(number[0])) throw new PlateError('bad_province');
  if (number.length < 2) throw new PlateError('bad_format');
  if (!AUTHORITY.includes(number[1])) throw new PlateError('bad_authority');
  const serial = number.slice(2);
  if (ORDINARY.test(serial)) return { number, kind: 'ordinary' };
  if (NEW_ENERGY_SMALL.test(serial)) return { number, kind: 'new_energy_small' };
  if (NEW_ENERGY_LARGE.test(serial)) return { number, kind: 'new_energy_large' };
  if (WITH_SUFFIX.test(serial)) {
    const crossBorder = /[港澳]$/.test(serial);
    if (crossBorder && !number.startsWith('粤Z')) throw new PlateError('bad_format');
    return { number, kind: crossBorder ? 'cross_border' : 'special' };
  }
  throw new PlateError('bad_format');
}

/** A plate the guard records as typed (foreign, temporary…): 2 to 12 printable characters. */
export function overridePlate(text) {
  const number = normalisePlate(text);
  // eslint-disable-next-line no-control-regex
  if (number.length < 2 || number.length > 12 || /[\u0000-\u001f\u007f]/.test(number)) throw new PlateError('bad_format');
  return number;
}

/** The plate to send: null when empty, else checked (or overridden); throws PlateError. */
export function checkPlate(text, override = false) {
  if (!normalisePlate(text)) return null;
  return override ? overridePlate(text) : validatePlate(text).number;
}
