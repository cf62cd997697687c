// When the gate counts as after hours (arrivals then wait for the control room's confirmation):
// the site's nightly window, weekends, public holidays and the workdays in lieu, and how long a
// visit lasts by default. Supervisors read it; admins change it.
import { request } from '../../utils/api.js';
import { h } from '../../utils/dom.js';
import { t } from '../../utils/i18n.js';
import { errorLines } from '../../utils/messages.js';
import { gateHead, statusLine } from './common.js';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Dates typed one per line or separated by commas/spaces → sorted unique list, or null if bad. */
function parseDates(text) {
  const parts = String(text || '')
    .split(/[\s,，、]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.some((p) => !DATE.test(p) || Number.isNaN(Date.parse(p)))) return null;
  return [...new Set(parts)].sort();
}

export function policyView(ctx) {
  const site = ctx.membership.site;
  const admin = ctx.membership.role === 'admin' || ctx.me.user.is_superuser;
  const status = statusLine('policy-status');
  const start = h('input', { id: 'policy-start', class: 'input', type: 'time', disabled: !admin });
  const end = h('input', { id: 'policy-end', class: 'input', type: 'time', disabled: !admin });
  const weekends = h('input', { type: 'checkbox', disabled: !admin, dataset: { testid: 'policy-weekends' } });
  const holidays = h('textarea', { id: 'policy-holidays', class: 'input textarea', rows: 3, disabled: !admin, placeholder: '2026-10-01' });
  const workdays = h('textarea', { id: 'policy-workdays', class: 'input textarea', rows: 2, disabled: !admin, placeholder: '2026-10-11' });
  const hours = h('input', { id: 'policy-hours', class: 'input input-count', type: 'number', min: 1, max: 72, disabled: !admin });
  const now = h('p', { class: 'card-line', dataset: { testid: 'after-hours-state' } });
  const field = (label, input) => h('div', { class: 'field' }, h('label', { class: 'label', for: input.id, text: label }), input);

  function fill(p) {
    start.value = p.after_hours_start;
    end.value = p.after_hours_end;
    weekends.checked = p.weekends_after_hours;
    holidays.value = p.holidays.join('\n');
    workdays.value = p.workdays.join('\n');
    hours.value = String(p.visit_hours);
    now.textContent = t(p.after_hours_now ? 'gate.after_hours_now' : 'gate.open_hours_now');
  }

  async function load() {
    try {
      fill(await request('GET', `/api/sites/${site.id}/gate-policy`));
    } catch (err) {
      status.say('error', errorLines(err));
    }
  }

  async function saveAll(event) {
    event.preventDefault();
    const hol = parseDates(holidays.value);
    const work = parseDates(workdays.value);
    if (!hol || !work) {
      status.say('error', [t('gate.dates_wrong')]);
      return;
    }
    try {
      await request('PATCH', `/api/sites/${site.id}`, { body: { after_hours_start: start.value, after_hours_end: end.value } });
      const p = await request('PATCH', `/api/sites/${site.id}/gate-policy`, {
        body: { weekends_after_hours: weekends.checked, holidays: hol, workdays: work, visit_hours: Number(hours.value) },
      });
      fill(p);
      status.say('ok', [t('gate.policy_saved')]);
    } catch (err) {
      status.say('error', errorLines(err));
    }
  }

  const view = h(
    'section',
    { class: 'page gate-policy', 'aria-labelledby': 'page-title' },
    gateHead(ctx, t('gate.policy_title')),
    h('p', { class: 'muted', text: t('gate.policy_hint') }),
    now,
    h(
      'form',
      { class: 'form', novalidate: true, onsubmit: saveAll },
      h('div', { class: 'field-pair' }, field(t('gate.after_hours_from'), start), field(t('gate.after_hours_until'), end)),
      h('label', { class: 'choice-toggle toggle-fill' }, weekends, h('span', { text: t('gate.weekends_after_hours') })),
      field(t('gate.holidays'), holidays),
      field(t('gate.workdays'), workdays),
      field(t('gate.visit_hours'), hours),
      admin ? h('button', { class: 'btn btn-primary btn-block', type: 'submit', dataset: { action: 'save-policy' }, text: t('gate.save_policy') }) : h('p', { class: 'muted', text: t('gate.policy_admin_only') }),
    ),
    status.el,
  );
  load();
  return view;
}
