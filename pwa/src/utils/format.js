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

/** The time of day ("21:05") in the site's time zone. */
export function formatClock(iso, timeZone) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso ?? '');
  try {
    return new Intl.DateTimeFormat(getLang(), { hour: '2-digit', minute: '2-digit', timeZone: timeZone || undefined }).format(d);
  } catch {
    return d.toLocaleTimeString(getLang(), { hour: '2-digit', minute: '2-digit' });
  }
}

/** A span of time for people: "45 min", "2 h 5 min", "40 s". */
export function formatSpan(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return t('time.seconds', { n: s });
  const m = Math.round(s / 60);
  if (m < 60) return t('time.minutes', { n: m });
  return t('time.hours_minutes', { h: Math.floor(m / 60), m: m % 60 });
}
