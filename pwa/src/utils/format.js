// Dates shown in the site's time zone and the user's language.
import { getLang, t } from './i18n.js';

export function formatTime(iso, timeZone) {
  if (!iso) return t('common.never');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  try {
    return new Intl.DateTimeFormat(getLang(), {
      dateStyle: 'medium',
      timeStyle: 'short',
      timeZone: timeZone || undefined,
    }).format(d);
  } catch {
    return d.toLocaleString(getLang());
  }
}
