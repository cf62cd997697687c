// The gate's live events for the control room (the site's server-sent events, which supervisors
// and admins may read): `onChange()` whenever a visit, a vehicle or a pass changed at the gate,
// so a held visitor shows up on the supervisor's screen without a reload. Reconnects on its own.

const NAMES = [
  'hello',
  'reload',
  'visit.registered',
  'visit.checked_out',
  'visit.decided',
  'vehicle.entered',
  'vehicle.exited',
  'vehicle.checked',
  'contractor.entered',
  'goods_pass.exited',
];
const RETRY_MS = [1_000, 2_000, 4_000, 8_000, 10_000];

/** Returns a closer. */
export function openGateLive(siteId, onChange) {
  let source = null;
  let timer = null;
  let step = 0;
  let closed = false;

  function connect() {
    if (closed || typeof EventSource === 'undefined') return;
    source = new EventSource(`/api/sites/${siteId}/events`);
    for (const name of NAMES) {
      source.addEventListener(name, () => {
        if (name === 'hello') step = 0;
        onChange(name);
      });
    }
    source.addEventListener('error', () => {
      if (source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
      source.close();
      clearTimeout(timer);
      timer = setTimeout(connect, RETRY_MS[Math.min(step, RETRY_MS.length - 1)]);
      step += 1;
    });
  }

  connect();
  return () => {
    closed = true;
    clearTimeout(timer);
    source?.close();
  };
}
