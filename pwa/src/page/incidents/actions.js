// The supervisor's steps on an incident (online): assign, resolve, close, reopen — each offered
// only from the statuses it starts from (backend: services/incidents.TRANSITIONS) — and the PDF.
import { api } from '../../utils/api.js';
import { h, icon } from '../../utils/dom.js';
import { t } from '../../utils/i18n.js';
import { ICONS } from '../icons.js';

const STARTS = {
  assign: ['open', 'assigned'],
  resolve: ['open', 'assigned'],
  close: ['resolved'],
  reopen: ['resolved', 'closed'],
};
const STAFF = ['guard', 'supervisor', 'admin'];

/** The site's active staff as [{id, name}] (supervisors and admins may list them). */
async function staffOf(siteId) {
  const [memberships, users] = await Promise.all([
    api.get(`/api/sites/${siteId}/memberships?limit=200`),
    api.get(`/api/users?site_id=${siteId}&limit=200`),
  ]);
  const names = new Map(users.items.map((u) => [u.id, u.display_name || u.username]));
  const ids = [...new Set(memberships.items.filter((m) => m.is_active && STAFF.includes(m.role)).map((m) => m.user_id))];
  return ids.filter((id) => names.has(id)).map((id) => ({ id, name: names.get(id) }));
}

/**
 * A modal with an optional person to choose and a note; resolves {assignee_id?, text} or null.
 * `required` refuses an empty note (a reopening needs its reason).
 */
function stepDialog({ title, label, confirm, required = false, people = null, current = null }) {
  return new Promise((resolve) => {
    const who = people
      ? h(
          'select',
          { id: 'step-person', name: 'assignee_id', class: 'input select' },
          people.map((p) => h('option', { value: String(p.id), text: p.name })),
        )
      : null;
    if (who && current != null) who.value = String(current);
    const note = h('textarea', { id: 'step-note', name: 'note', class: 'input textarea', rows: 3, maxlength: 2000 });
    const error = h('p', { class: 'form-error', hidden: true, text: t('common.required') });
    const dialog = h(
      'dialog',
      { class: 'dialog', 'aria-labelledby': 'step-title', dataset: { testid: 'step-dialog' } },
      h(
        'form',
        { method: 'dialog', class: 'dialog-form' },
        h('h2', { id: 'step-title', class: 'dialog-title', text: title }),
        who ? [h('label', { class: 'label', for: 'step-person', text: t('incidents.assignee') }), who] : null,
        h('label', { class: 'label', for: 'step-note', text: label }),
        note,
        error,
        h(
          'div',
          { class: 'dialog-actions' },
          h('button', { class: 'btn', value: 'cancel', type: 'submit', formnovalidate: true, dataset: { action: 'cancel' }, text: t('common.cancel') }),
          h('button', { class: 'btn btn-primary', value: 'confirm', type: 'submit', dataset: { action: 'confirm' }, text: confirm }),
        ),
      ),
    );
    dialog.querySelector('form').addEventListener('submit', (event) => {
      if (event.submitter?.value === 'confirm' && required && !note.value.trim()) {
        event.preventDefault();
        error.hidden = false;
        note.setAttribute('aria-invalid', 'true');
        note.focus();
      }
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (dialog.returnValue !== 'confirm') resolve(null);
      else resolve({ assignee_id: who ? Number(who.value) : undefined, text: note.value.trim() });
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/**
 * The action buttons for `incident`; `onDone(detail)` gets the server's answer, `onError(err)`
 * a failure (offline, refused).
 */
export function managerActions(ctx, incident, { onDone, onError }) {
  const base = `/api/incidents/${incident.id}`;
  async function run(action) {
    try {
      let answer = null;
      if (action === 'assign') {
        const people = await staffOf(incident.site_id);
        const got = await stepDialog({ title: t('incidents.assign_title'), label: t('incidents.note'), confirm: t('incidents.assign'), people, current: incident.assignee_id });
        if (!got) return;
        answer = await api.post(`${base}/assign`, { assignee_id: got.assignee_id, note: got.text });
      } else if (action === 'reopen') {
        const got = await stepDialog({ title: t('incidents.reopen_title'), label: t('incidents.reason'), confirm: t('incidents.reopen'), required: true });
        if (!got) return;
        answer = await api.post(`${base}/reopen`, { reason: got.text });
      } else {
        const got = await stepDialog({ title: t(`incidents.${action}_title`), label: t('incidents.note'), confirm: t(`incidents.${action}`) });
        if (!got) return;
        answer = await api.post(`${base}/${action}`, { note: got.text });
      }
      onDone(answer);
    } catch (err) {
      onError(err);
    }
  }
  const buttons = Object.entries(STARTS)
    .filter(([, from]) => from.includes(incident.status))
    .map(([action]) =>
      h('button', { class: `btn${action === 'resolve' ? ' btn-primary' : ''}`, type: 'button', dataset: { action }, text: t(`incidents.${action}`), onclick: () => run(action) }),
    );
  const pdf = h(
    'a',
    { class: 'btn', href: `${base}.pdf`, target: '_blank', rel: 'noopener', dataset: { action: 'pdf' } },
    icon(ICONS.labels),
    h('span', { text: t('incidents.pdf') }),
  );
  return h('div', { class: 'card-actions incident-actions', dataset: { testid: 'incident-actions' } }, buttons, pdf);
}
