// Fire equipment as its beacon reports it: what needs a person, and the lines every equipment
// screen shows (the board's panel, the staff list).
import { h } from '../../utils/dom.js';
import { formatTime } from '../../utils/format.js';
import { t } from '../../utils/i18n.js';

export const TYPES = ['extinguisher', 'hydrant', 'hose_reel', 'alarm_panel', 'emergency_light', 'other'];
// Equipment is watched with a fixed beacon id; a rotating Eddystone-EID is refused by the server.
export const BEACON_KINDS = ['ibeacon', 'eddystone_uid', 'address'];

/** What needs a person about `item`, most urgent first: [{kind, at}]. */
export function alertsOf(item) {
  const out = [];
  if (item.missing) out.push({ kind: 'missing', at: item.missing_since });
  if (item.tamper_at) out.push({ kind: 'tamper', at: item.tamper_at });
  if (item.battery_low) out.push({ kind: 'low_battery', at: null });
  if (item.moved_at) out.push({ kind: 'motion', at: item.moved_at });
  return out;
}

/** Tamper and motion marks are cleared by a supervisor who has looked (the server keeps them). */
export const canAcknowledge = (item) => Boolean(item.tamper_at || item.moved_at);

/** One badge per alert (or "OK" / "no beacon"). */
export function stateBadges(item, tz) {
  const alerts = alertsOf(item);
  if (!alerts.length) {
    const key = item.beacon_kind ? 'equipment.state.ok' : 'equipment.state.no_beacon';
    return h('p', { class: 'badges' }, h('span', { class: `badge${item.beacon_kind ? ' badge-ok' : ''}`, dataset: { state: item.beacon_kind ? 'ok' : 'no_beacon' }, text: t(key) }));
  }
  return h(
    'p',
    { class: 'badges' },
    alerts.map((a) =>
      h('span', {
        class: `badge ${a.kind === 'low_battery' || a.kind === 'motion' ? 'badge-accent' : 'badge-danger'}`,
        dataset: { alert: a.kind },
        text: a.at ? t('equipment.alert_since', { what: t(`equipment.alert.${a.kind}`), time: formatTime(a.at, tz) }) : t(`equipment.alert.${a.kind}`),
      }),
    ),
  );
}

/** "Last seen … · signal … dBm · battery …%" for what the beacon reports. */
export function beaconLine(item, tz) {
  if (!item.beacon_kind) return t('equipment.no_beacon_line');
  const parts = [t('equipment.last_seen', { time: formatTime(item.last_seen_at, tz) })];
  if (item.last_rssi != null) parts.push(t('equipment.signal', { rssi: item.last_rssi }));
  if (item.battery_percent != null) parts.push(t('equipment.battery', { percent: item.battery_percent }));
  return parts.join(' · ');
}

/** "Extinguisher · B1 car park · by the lift" */
export function whereLine(item, zones) {
  const zone = zones.find((z) => z.id === item.zone_id)?.name;
  return [t(`equipment.type.${item.type}`), zone, item.location].filter(Boolean).join(' · ');
}
