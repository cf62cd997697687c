// NFC tags: Web NFC (NDEFReader, Chrome on Android) where the browser has it, and the link an
// NTAG 424 DNA tag opens when tapped with any phone: /n?e=<PICCData hex>&c=<CMAC hex>.

export const nfcAvailable = () => 'NDEFReader' in globalThis;

/** {e, c} from a SUN link (absolute or relative URL, or a query string); null when it is not one. */
export function sunParams(link) {
  let url;
  try {
    url = new URL(link, location.origin);
  } catch {
    return null;
  }
  const e = url.searchParams.get('e');
  const c = url.searchParams.get('c');
  if (url.pathname !== '/n' || e == null || c == null) return null;
  // Kept as read: a malformed one is still evidence, and the server says what is wrong with it.
  return { e: e.trim().slice(0, 64), c: c.trim().slice(0, 64) };
}

/**
 * Waits for one tag: an NTAG 424 whose URL record is a SUN link gives {method: 'nfc_sun', e, c};
 * any other tag gives its serial number {method: 'nfc', uid}. Abort with `signal`.
 */
export async function readTag(signal) {
  const reader = new globalThis.NDEFReader();
  await reader.scan({ signal });
  return new Promise((resolve, reject) => {
    signal?.addEventListener('abort', () => reject(signal.reason || new DOMException('aborted', 'AbortError')));
    reader.addEventListener('readingerror', () => {
      // The tag moved away mid-read: keep listening for the next tap.
    });
    reader.addEventListener('reading', (event) => {
      for (const record of event.message?.records || []) {
        if (record.recordType !== 'url' && record.recordType !== 'absolute-url') continue;
        const sun = sunParams(new TextDecoder().decode(record.data));
        if (sun) {
          resolve({ method: 'nfc_sun', ...sun });
          return;
        }
      }
      if (event.serialNumber) resolve({ method: 'nfc', uid: event.serialNumber });
    });
  });
}
