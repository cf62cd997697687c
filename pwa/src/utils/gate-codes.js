// Signed pass codes (`p1.<payload>.<mac>`: an invite, a contractor's pass, a goods-out pass) read
// on the phone. The payload is plain base64url JSON {k, id, s, f, u}, so the gate knows the kind,
// the site and the window even offline; only the server can tell whether the signature is ours
// and the record still good (revoked, used, approved), which it does when the scan is sent.

const KINDS = { i: 'invite', c: 'contractor', g: 'goods' };
const MAX_LENGTH = 400;

function b64urlDecode(text) {
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** The code in `text` (a bare code, or a link ending in /pass/<code> or ?code=<code>), or ''. */
export function extractCode(text) {
  let code = String(text ?? '').trim();
  try {
    const url = new URL(code);
    code = url.searchParams.get('code') || url.hash.replace(/^#/, '') || url.pathname;
  } catch {
    // not a link: the code itself
  }
  if (code.includes('/')) code = code.replace(/\/+$/, '').split('/').pop();
  return code;
}

/**
 * {code, kind, id, site_id, valid_from, valid_until} (Dates) read from a scanned text, or null
 * when it is no pass code at all. Nothing here proves the code genuine.
 */
export function readPassCode(text) {
  const code = extractCode(text);
  const parts = code.split('.');
  if (code.length > MAX_LENGTH || parts.length !== 3 || parts[0] !== 'p1') return null;
  try {
    const data = JSON.parse(b64urlDecode(parts[1]));
    const kind = KINDS[data.k];
    if (!kind || typeof data.id !== 'string') return null;
    return {
      code,
      kind,
      id: data.id,
      site_id: Number(data.s),
      valid_from: new Date(Number(data.f) * 1000),
      valid_until: new Date(Number(data.u) * 1000),
    };
  } catch {
    return null;
  }
}

/** What the phone alone can refuse: another site, or outside the window ('' when none). */
export function localRefusal(claims, siteId, now = new Date()) {
  if (claims.site_id !== siteId) return 'pass_wrong_site';
  if (now < claims.valid_from) return 'pass_not_yet_valid';
  if (now > claims.valid_until) return 'pass_expired';
  return '';
}
