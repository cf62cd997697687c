// Every error text the client can show, in one table: a failure → a catalog key and its params.
import { ApiError, NetworkError } from './api.js';
import { has, t } from './i18n.js';

/** Failures that do not come from the server's error body. */
export const CLIENT_MESSAGES = {
  network: 'client.network',
  offline_signin: 'client.offline_signin',
  unexpected_response: 'client.unexpected',
  unknown_code: 'client.unknown_code',
  storage: 'client.storage',
};

function fieldText(f) {
  const label = has(`label.${f.field}`) ? t(`label.${f.field}`) : String(f.field ?? '');
  // The catalog's text, unless it needs a value only the server's own message carries
  // (`{min_length}`, say): then the server's, already in the language the request asked for.
  const ours = has(`field.${f.code}`) ? t(`field.${f.code}`, f) : '';
  const message = ours && !/\{\w+\}/.test(ours) ? ours : f.message || ours || t('field.invalid');
  return label ? t('client.field_error', { field: label, message }) : message;
}

/**
 * True for a screen's code that could not be loaded: a lazy chunk the browser could not fetch
 * (offline before the service worker saved it). Each engine words it its own way.
 */
export function isMissingCode(err) {
  const message = String(err?.message ?? '');
  return (
    (err instanceof TypeError && /dynamically imported module|importing a module script failed/i.test(message)) ||
    /^Unable to preload CSS/.test(message) // Vite's own, for a chunk's stylesheet
  );
}

/**
 * The lines to show for `err`: first the message for its code, then one line per bad field.
 * `context` picks a more helpful text for the same cause (e.g. 'signin' when offline).
 */
export function errorLines(err, context = '') {
  if (err instanceof NetworkError) {
    return [t(context === 'signin' ? CLIENT_MESSAGES.offline_signin : CLIENT_MESSAGES.network)];
  }
  if (err instanceof ApiError) {
    if (err.code === 'unexpected_response') {
      return [t(CLIENT_MESSAGES.unexpected_response, { status: err.status })];
    }
    const key = `error.${err.code}`;
    const head = has(key) ? t(key, err.details) : t(CLIENT_MESSAGES.unknown_code, { code: err.code });
    const fields = Array.isArray(err.details.fields) ? err.details.fields.map(fieldText) : [];
    return [head, ...fields];
  }
  console.error(err);
  return [t(CLIENT_MESSAGES.unknown_code, { code: err?.name || 'Error' })];
}
