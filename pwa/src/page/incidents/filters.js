// The supervisor's incident filters: zone, type, severity, status, and a date range (days at the
// site). `read()` answers the query parameters of GET /api/incidents.
import { h } from '../../utils/dom.js';
import { t } from '../../utils/i18n.js';
import { SEVERITIES, STATUSES, TYPES, dayStart } from './common.js';

export function filterBar(ctx, { onChange }) {
  const tz = ctx.membership.site.timezone;
  const select = (name, options) =>
    h(
      'select',
      { id: `filter-${name}`, name, class: 'input select', dataset: { filter: name } },
      h('option', { value: '', text: t('incidents.filter_any') }),
      options.map(([value, text]) => h('option', { value, text })),
    );
  const zone = select('zone_id', []);
  const type = select('type', TYPES.map((v) => [v, t(`incident.type.${v}`)]));
  const severity = select('severity', [['high,critical', t('incidents.filter_high_up')], ...SEVERITIES.map((v) => [v, t(`incident.severity.${v}`)])]);
  const status = select('status', [['open,assigned', t('incidents.filter_not_done')], ...STATUSES.map((v) => [v, t(`incident.status.${v}`)])]);
  const since = h('input', { id: 'filter-since', name: 'since', type: 'date', class: 'input', dataset: { filter: 'since' } });
  const until = h('input', { id: 'filter-until', name: 'until', type: 'date', class: 'input', dataset: { filter: 'until' } });
  const field = (control, key) => h('div', { class: 'field' }, h('label', { class: 'label', for: control.id, text: t(key) }), control);

  const el = h(
    'form',
    { class: 'filters', dataset: { testid: 'incident-filters' }, onchange: () => onChange(), onsubmit: (e) => e.preventDefault() },
    field(zone, 'incidents.zone'),
    field(type, 'incidents.type'),
    field(severity, 'incidents.severity'),
    field(status, 'incidents.status'),
    field(since, 'incidents.since'),
    field(until, 'incidents.until'),
  );

  return {
    el,
    setNames(names) {
      const keep = zone.value;
      zone.replaceChildren(h('option', { value: '', text: t('incidents.filter_any') }), ...names.zones.map((z) => h('option', { value: String(z.id), text: z.name })));
      zone.value = keep;
    },
    read() {
      return {
        zone_id: zone.value,
        type: type.value,
        severity: severity.value,
        status: status.value,
        since: since.value ? dayStart(since.value, tz) : '',
        until: until.value ? dayStart(until.value, tz, 1) : '', // through the whole day
      };
    },
  };
}
