// An incident's timeline: who did what when (the server's time; the phone's too when it came from
// one), with this phone's comments and photos that wait to be sent at the end.
import { h } from '../../utils/dom.js';
import { formatTime } from '../../utils/format.js';
import { t } from '../../utils/i18n.js';

function what(entry) {
  const data = entry.data || {};
  switch (entry.kind) {
    case 'assigned':
      return t('incident.timeline.assigned', { name: data.assignee_name || `#${data.assignee_id}` });
    case 'photos_added':
      return t('incident.timeline.photos_added', { count: (data.photos || []).length });
    case 'reported':
      return (data.photos || []).length
        ? `${t('incident.timeline.reported')} · ${t('incidents.with_photos', { count: data.photos.length })}`
        : t('incident.timeline.reported');
    default:
      return t(`incident.timeline.${entry.kind}`);
  }
}

/** `entries` from the server; `waiting` [{kind, text, client_time, count}] still on this phone. */
export function timelineList(entries, waiting, tz) {
  const items = entries.map((e) =>
    h(
      'li',
      { class: `timeline-item timeline-${e.kind}`, dataset: { kind: e.kind, entry: String(e.id) } },
      h('p', { class: 'timeline-head' }, h('strong', { text: what(e) }), ` · ${e.actor_name}`),
      e.text ? h('p', { class: 'entry-text timeline-text', text: e.text }) : null,
      h(
        'p',
        { class: 'card-line' },
        formatTime(e.at, tz),
        e.client_time && Math.abs(Date.parse(e.client_time) - Date.parse(e.at)) > 60_000 ? ` · ${t('incidents.phone_time', { time: formatTime(e.client_time, tz) })}` : '',
      ),
    ),
  );
  for (const w of waiting) {
    items.push(
      h(
        'li',
        { class: `timeline-item timeline-waiting timeline-${w.kind}`, dataset: { kind: w.kind, state: w.state } },
        h(
          'p',
          { class: 'timeline-head' },
          h('strong', { text: w.kind === 'comment' ? t('incident.timeline.comment') : t('incident.timeline.photos_added', { count: w.count }) }),
          ' ',
          h('span', { class: `badge ${w.state === 'rejected' ? 'badge-danger' : 'badge-accent'}`, text: t(w.state === 'rejected' ? 'incidents.refused' : w.state === 'photos' ? 'incidents.photos_to_upload' : 'incidents.waiting_to_send', { count: w.pending ?? 0 }) }),
        ),
        w.text ? h('p', { class: 'entry-text timeline-text', text: w.text }) : null,
        h('p', { class: 'card-line', text: formatTime(w.client_time, tz) }),
      ),
    );
  }
  return h('ol', { class: 'timeline', dataset: { testid: 'timeline' } }, items);
}
