// The HTTP client for /api: same-origin cookies, the CSRF header on writes, one error shape.
import { reportReachable } from './connectivity.js';
import { getLang } from './i18n.js';

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** An answer in the backend's error shape: {error: {code, message, details}}. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message || code);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

/** The server could not be reached at all (offline, DNS, connection refused). */
export class NetworkError extends Error {
  constructor(cause) {
    super('network');
    this.name = 'NetworkError';
    this.cause = cause;
  }
}

let csrfToken = null;
let unauthorizedHandler = null;

export function setCsrfToken(token) {
  csrfToken = token || null;
}

/** Called with the ApiError whenever an authenticated request answers 401. */
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

/** For 401s seen outside `request` (the outbox push): same handling as any other. */
export function reportUnauthorized(err) {
  unauthorizedHandler?.(err);
}

function readCookie(name) {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return null;
}

export function currentCsrfToken() {
  return readCookie('anbao_csrf') || csrfToken;
}

/**
 * Sends one request. `auth: false` for sign-in, whose 401 is a wrong password, not a lost session.
 * Resolves to the parsed JSON (or null for an empty answer); rejects with ApiError/NetworkError.
 */
export async function request(method, path, { body, auth = true, signal } = {}) {
  const headers = { Accept: 'application/json', 'Accept-Language': getLang() };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (WRITES.has(method)) {
    const token = currentCsrfToken();
    if (token) headers['X-CSRF-Token'] = token;
  }
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal,
    });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    reportReachable(false);
    throw new NetworkError(err);
  }
  reportReachable(true);
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      throw new ApiError(res.status, 'unexpected_response', '', { status: res.status });
    }
  }
  if (!res.ok) {
    const e = data?.error;
    const err = e?.code
      ? new ApiError(res.status, e.code, e.message, e.details)
      : new ApiError(res.status, 'unexpected_response', '', { status: res.status });
    if (res.status === 401 && auth && unauthorizedHandler) unauthorizedHandler(err);
    throw err;
  }
  return data;
}

export const api = {
  get: (path, opts) => request('GET', path, opts),
  post: (path, body, opts) => request('POST', path, { ...opts, body }),
  del: (path, opts) => request('DELETE', path, opts),
};
