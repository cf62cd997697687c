// A site's live board events (server-sent events, GET /api/sites/{id}/events): reconnects on its
// own, with a growing pause when the server refuses or is gone.

const RETRY_MS = [1_000, 2_000, 4_000, 8_000, 10_000];

/**
 * Opens the stream. `onEvent(name, data)` for every event (also 'hello' on each (re)connect and
 * 'reload' when the board fell behind); `onState('live' | 'connecting')`. Returns a closer.
 */
export function openLive(siteId, { onEvent, onState }) {
  let source = null;
  let timer = null;
  let step = 0;
  let closed = false;
  const names = [
    'hello',
    'reload',
    'scan.recorded',
    'scan.reviewed',
    'round.started',
    'round.ended_early',
    'round.closed',
    'round.updated',
    'duty_log.added',
    'equipment.alert',
    'bridge.batch',
    'incident.reported',
    'incident.updated',
  ];

  function connect() {
    if (closed) return;
    onState('connecting');
    source = new EventSource(`/api/sites/${siteId}/events`);
    for (const name of names) {
      source.addEventListener(name, (event) => {
        if (name === 'hello') {
          step = 0;
          onState('live');
        }
        let data = {};
        try {
          data = JSON.parse(event.data || '{}');
        } catch {
          // a comment or an unreadable line: ignore
        }
        onEvent(name, data);
      });
    }
    source.addEventListener('error', () => {
      onState('connecting');
      // The browser retries by itself while the stream is merely interrupted; once it gives up
      // (an error status, a closed stream after `reload`) we open a new one after a pause.
      if (source.readyState === EventSource.CLOSED) retry();
    });
  }

  function retry() {
    source?.close();
    clearTimeout(timer);
    timer = setTimeout(connect, RETRY_MS[Math.min(step, RETRY_MS.length - 1)]);
    step += 1;
  }

  const onOnline = () => {
    if (source?.readyState !== EventSource.OPEN) {
      step = 0;
      retry();
    }
  };
  window.addEventListener('online', onOnline);
  connect();
  return () => {
    closed = true;
    clearTimeout(timer);
    source?.close();
    window.removeEventListener('online', onOnline);
  };
}
