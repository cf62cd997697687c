// A stand-in for POST /api/sync/push with the server's rules (docs/sync.md): exactly once by
// mutation id, in order, a batch limit, a body limit, and rejections by name. Installed as
// `fetch`; it answers with real Response objects and remembers every batch it was sent.

export function pushServer({ maxBatch = 1000, maxBodyBytes = Infinity, reject = {}, down = false } = {}) {
  const server = {
    maxBatch,
    maxBodyBytes,
    reject, // mutation name → code
    down, // true: no answer at all (offline); a number: answer with that status
    applied: new Map(), // mutation id → args
    batches: [], // ids of each batch the server was sent, in order
    attempts: 0, // push requests, answered or not
    fetch: async (url, init) => {
      if (server.down === true) {
        if (String(url).endsWith('/api/sync/push')) server.attempts += 1;
        throw new TypeError('Failed to fetch');
      }
      if (String(url).includes('/api/sync/pull')) return json(200, { changes: [], cursor: 'c', more: false, reset_sites: [] });
      if (!String(url).endsWith('/api/sync/push')) return json(404, { error: { code: 'route_not_found' } });
      server.attempts += 1;
      if (typeof server.down === 'number') return json(server.down, { error: { code: 'service_unavailable' } });
      const body = JSON.parse(init.body);
      server.batches.push(body.mutations.map((m) => m.id));
      if (new TextEncoder().encode(init.body).length > server.maxBodyBytes) {
        return json(413, { error: { code: 'body_too_large', message: 'too large', details: { limit: server.maxBodyBytes } } });
      }
      if (body.mutations.length > server.maxBatch) {
        return json(413, { error: { code: 'batch_too_large', message: 'too many', details: { limit: server.maxBatch } } });
      }
      const results = body.mutations.map((m) => {
        if (server.applied.has(m.id)) return { id: m.id, status: 'duplicate', code: '', message: '', details: {}, data: null };
        const code = server.reject[m.name];
        if (code) return { id: m.id, status: 'rejected', code, message: `refused: ${code}`, details: { fields: [{ field: 'text', code: 'missing' }] }, data: null };
        server.applied.set(m.id, m.args);
        return { id: m.id, status: 'applied', code: '', message: '', details: {}, data: { ...m.args } };
      });
      return json(200, { results, server_time: new Date().toISOString(), clock_skew_seconds: 0, clock_skew_flagged: false });
    },
  };
  return server;
}

function json(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}
