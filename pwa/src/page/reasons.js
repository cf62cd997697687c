// Why the server refused a queued mutation, in the user's language (its `code` mapped through
// the catalogs, then one line per bad field); the server's own text when the code is unknown here.
import { ApiError } from '../utils/api.js';
import { has } from '../utils/i18n.js';
import { errorLines } from '../utils/messages.js';

export function reasonLines(mutation) {
  const code = mutation?.code || 'unexpected_response';
  if (!has(`error.${code}`) && mutation?.message) return [mutation.message];
  return errorLines(new ApiError(mutation?.details?.status || 0, code, mutation?.message, mutation?.details));
}
