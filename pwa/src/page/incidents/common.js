// What the incident screens share: the vocabulary, badges, the site's zone and checkpoint names
// (cached for offline use), reports still on this phone, and dates in the site's time zone.
import { NetworkError, api } from '../../utils/api.js';
import { h } from '../../utils/dom.js';
import { t } from '../../utils/i18n.js';
import { cached, keepCached, listHeld, photoStates } from '../../utils/media.js';
import { REJECTED, listMutations } from '../../utils/outbox.js';
import { cachedPlan } from '../../utils/plan.js';
import { cacheZones, cachedZones } from '../../utils/replica.js';
import './incidents.css';

export const REPORT = 'incident.report';
export const COMMENT = 'incident.comment';
export const ADD_PHOTOS = 'incident.add_photos';

export const TYPES = ['suspicious_person', 'theft', 'damage', 'fire_hazard', 'facility_fault', 'noise_complaint', 'medical', 'other'];
export const SEVERITIES = ['low', 'medium', 'high', 'critical'];
export const STATUSES = ['open', 'assigned', 'resolved', 'closed'];
export const MANAGERS = ['supervisor', 'admin'];

export const isManager = (ctx) => MANAGERS.includes(ctx.membership?.role);
export const me = (ctx) => ({ id: ctx.me.user.id, name: ctx.me.user.display_name || ctx.me.user.username });

export const typeText = (type) => t(`incident.type.${type}`);

export function severityBadge(severity) {
  const strong = severity === 'high' || severity === 'critical';
  return h('span', {
    class: `badge sev sev-${severity}${strong ? ' badge-danger' : ''}`,
    dataset: { severity },
    text: t(`incident.severity.${severity}`),
  });
}

export function statusBadge(status) {
  return h('span', { class: `badge status-badge status-${status}`, dataset: { status }, text: t(`incident.status.${status}`) });
}

export function notice(kind, lines) {
  return h(
    'div',
    { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    lines.map((line) => h('p', { text: line })),
  );
}

function quiet(err) {
  if (!(err instanceof NetworkError) && err?.status !== 401) console.warn('incidents', err);
}

/**
 * The site's zone and checkpoint names: cached copies at once, the server's when it answers
 * (then `onFresh()`). Returns {zones, checkpoints, zoneName(id), checkpointName(id)}.
 */
export async function siteNames(ctx, onFresh) {
  const siteId = ctx.membership.site.id;
  const uid = ctx.me.user.id;
  const names = {
    zones: await cachedZones(siteId).catch(() => []),
    checkpoints: [],
    zoneName(id) {
      return id == null ? '' : this.zones.find((z) => z.id === id)?.name || `#${id}`;
    },
    checkpointName(id) {
      return id == null ? '' : this.checkpoints.find((c) => c.id === id)?.name || `#${id}`;
    },
  };
  const plan = await cachedPlan(siteId);
  const kept = await cached(uid, `checkpoints:${siteId}`).catch(() => null);
  names.checkpoints = kept?.value || (plan?.checkpoints || []).map((c) => ({ id: c.id, name: c.name, zone_id: c.zone_id }));
  Promise.all([
    api.get(`/api/sites/${siteId}/zones?limit=200&include_inactive=true`),
    api.get(`/api/sites/${siteId}/checkpoints?limit=200`),
  ])
    .then(async ([zones, cps]) => {
      names.zones = (zones?.items || []).map((z) => ({ id: z.id, name: z.name, is_active: z.is_active }));
      names.checkpoints = (cps?.items || []).map((c) => ({ id: c.id, name: c.name, zone_id: c.zone_id, is_active: c.is_active }));
      await cacheZones(siteId, names.zones).catch(() => {});
      await keepCached(uid, `checkpoints:${siteId}`, names.checkpoints).catch(() => {});
      onFresh?.();
    })
    .catch(quiet);
  return names;
}

/** Where an incident happened, in words: zone · checkpoint · place · position. */
export function placeLine(incident, names) {
  const parts = [];
  if (incident.zone_id != null) parts.push(names ? names.zoneName(incident.zone_id) : `#${incident.zone_id}`);
  if (incident.checkpoint_id != null) parts.push(names ? names.checkpointName(incident.checkpoint_id) : `#${incident.checkpoint_id}`);
  if (incident.place) parts.push(incident.place);
  if (incident.latitude != null && incident.longitude != null) {
    parts.push(t('incidents.position_value', { lat: incident.latitude.toFixed(5), lon: incident.longitude.toFixed(5) }));
  }
  return parts.join(' · ');
}

/**
 * This user's reports at the site that the server does not have yet, newest first:
 * {id, ...args, state: 'photos' | 'sending' | 'rejected', photos: [states], held, mutation}.
 */
export async function localReports(ctx) {
  const uid = ctx.me.user.id;
  const siteId = ctx.membership.site.id;
  const [held, outbox] = await Promise.all([listHeld(uid), listMutations(uid)]);
  const rows = [];
  for (const entry of held) {
    if (entry.name !== REPORT || entry.args?.site_id !== siteId) continue;
    rows.push({ ...entry.args, state: 'photos', photos: await photoStates(entry.photos), held: entry, mutation: null });
  }
  for (const m of outbox) {
    if (m.name !== REPORT || m.args?.site_id !== siteId) continue;
    if (rows.some((r) => r.id === m.args.id)) continue;
    rows.push({
      ...m.args,
      state: m.status === REJECTED ? 'rejected' : 'sending',
      photos: await photoStates(m.args.photos || []),
      held: null,
      mutation: m,
    });
  }
  return rows.sort((a, b) => String(b.client_time).localeCompare(String(a.client_time)));
}

/** How many of these photo states still wait for the server. */
export const toUpload = (photos) => photos.filter((p) => p.status === 'pending' || p.status === 'refused').length;

// --- dates in the site's time zone -----------------------------------------------------------

function offsetMs(instant, timeZone) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(instant)
      .map((p) => [p.type, p.value]),
  );
  const asUtc = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
  return asUtc - Math.floor(instant.getTime() / 1000) * 1000;
}

/** The instant (ISO, UTC) a day ('2026-11-24', plus `days`) begins at the site. */
export function dayStart(date, timeZone, days = 0) {
  const [y, m, d] = date.split('-').map(Number);
  const guess = Date.UTC(y, m - 1, d + days);
  let at = guess - offsetMs(new Date(guess), timeZone);
  at = guess - offsetMs(new Date(at), timeZone); // the offset on that day (summer time)
  return new Date(at).toISOString();
}
