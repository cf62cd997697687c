// Contractors' passes: one person, one pass (company, person, ID, photo, valid from/to, the zones
// they may enter). Supervisors issue and revoke them and send the pass link; guards see who holds
// a good pass. At the gate the pass is scanned (gate/scan.js).
import { NetworkError, api } from '../../utils/api.js';
import { h, icon } from '../../utils/dom.js';
import { formatTime } from '../../utils/format.js';
import { t } from '../../utils/i18n.js';
import { addPhoto, serverUrl, whenUploaded } from '../../utils/media.js';
import { errorLines } from '../../utils/messages.js';
import { cacheZones, cachedZones } from '../../utils/replica.js';
import { ICONS } from '../icons.js';
import { textDialog } from '../text-dialog.js';
import { details, fetchAll, fromLocalInput, gateHead, isManager, localInputValue, statusLine } from '../gate/common.js';
import { idFields } from '../gate/register.js';
import { passPanel } from '../invites/invites.js';

const STATES = ['active', 'not_yet_valid', 'expired', 'revoked'];

export function contractorsView(ctx) {
  const site = ctx.membership.site;
  const tz = site.timezone;
  const manager = isManager(ctx);
  const status = statusLine('contractors-status');
  const list = h('ul', { class: 'cards', dataset: { testid: 'contractor-passes' } });
  const search = h('input', { id: 'contractor-search', class: 'input', type: 'search', autocomplete: 'off', placeholder: t('passes.search_people') });
  const filter = h('select', { class: 'input select', 'aria-label': t('passes.status_filter') }, [
    h('option', { value: '', text: t('passes.all') }),
    ...STATES.map((s) => h('option', { value: s, text: t(`passes.state.${s}`) })),
  ]);
  const open = new Set();
  let rows = [];
  let zones = [];
  let timer = null;

  const zoneName = (id) => zones.find((z) => z.id === id)?.name || `#${id}`;

  function card(p) {
    const shown = open.has(String(p.id));
    const actions = [];
    if (manager && p.state !== 'revoked' && p.state !== 'expired') {
      actions.push(
        h('button', {
          class: 'btn',
          type: 'button',
          dataset: { action: 'show-pass' },
          text: shown ? t('invites.hide_pass') : t('passes.show_pass'),
          onclick: () => {
            if (shown) open.delete(String(p.id));
            else open.add(String(p.id));
            draw();
          },
        }),
        h('button', { class: 'btn btn-danger', type: 'button', dataset: { action: 'revoke' }, text: t('passes.revoke'), onclick: () => revoke(p) }),
      );
    }
    return h(
      'li',
      { class: `card contractor-pass${p.state === 'active' ? '' : ' card-muted'}`, dataset: { pass: String(p.id), state: p.state } },
      p.photo_sha256 ? h('img', { class: 'pass-photo', src: serverUrl(p.photo_sha256), alt: t('gate.photo') }) : null,
      h(
        'div',
        { class: 'card-main' },
        h('p', { class: 'card-title', text: `${p.person_name} · ${p.company}` }),
        h('p', { class: 'badges' }, h('span', { class: `badge ${p.state === 'active' ? 'badge-ok' : 'badge-danger'}`, dataset: { badge: 'state' }, text: t(`passes.state.${p.state}`) })),
        details([
          [t('gate.id_number'), p.id_masked],
          [t('gate.phone'), p.phone],
          [t('gate.zones'), p.zone_ids.length ? p.zone_ids.map(zoneName).join('、') : t('gate.every_zone')],
          [t('gate.valid'), t('gate.window', { from: formatTime(p.valid_from, tz), until: formatTime(p.valid_until, tz) })],
          [t('passes.revoke_reason'), p.revoke_reason],
        ]),
      ),
      shown ? passPanel(p, { title: t('passes.contractor_share_title', { site: site.name }), text: t('passes.contractor_share_text', { name: p.person_name }), timeZone: tz, say: status.say }) : null,
      actions.length ? h('div', { class: 'card-actions' }, actions) : null,
    );
  }

  function draw() {
    list.replaceChildren(...(rows.length ? rows.map(card) : [h('li', { class: 'empty muted', text: t('passes.none') })]));
  }

  async function load() {
    const q = encodeURIComponent(search.value.trim());
    const st = filter.value ? `&state=${filter.value}` : '';
    try {
      rows = (await api.get(`/api/sites/${site.id}/contractor-passes?limit=100&q=${q}${st}`))?.items || [];
      status.clear();
    } catch (err) {
      status.say(err instanceof NetworkError ? 'warn' : 'error', errorLines(err));
    }
    draw();
  }

  async function revoke(p) {
    const reason = await textDialog({ title: t('passes.revoke_title', { name: p.person_name }), label: t('passes.revoke_reason'), confirm: t('passes.revoke'), testid: 'revoke-dialog' });
    if (!reason) return;
    try {
      const after = await api.post(`/api/contractor-passes/${p.id}/revoke`, { reason });
      rows = rows.map((r) => (r.id === after.id ? after : r));
      open.delete(String(p.id));
      status.say('ok', [t('passes.revoked')]);
      draw();
    } catch (err) {
      status.say('error', errorLines(err));
    }
  }

  function issueForm() {
    const field = (label, input) => h('div', { class: 'field' }, h('label', { class: 'label', for: input.id, text: label }), input);
    const company = h('input', { id: 'contractor-company', class: 'input', maxlength: 120, autocomplete: 'off' });
    const person = h('input', { id: 'contractor-person', class: 'input', maxlength: 120, autocomplete: 'off' });
    const phone = h('input', { id: 'contractor-phone', class: 'input', type: 'tel', maxlength: 32, autocomplete: 'off' });
    const ids = idFields('contractor');
    const now = new Date();
    const from = h('input', { id: 'contractor-from', class: 'input', type: 'datetime-local', value: localInputValue(now) });
    const until = h('input', { id: 'contractor-until', class: 'input', type: 'datetime-local', value: localInputValue(new Date(now.getTime() + 7 * 86_400_000)) });
    const zoneBox = h('div', { class: 'toggle-row', dataset: { testid: 'contractor-zones' } });
    const photoInput = h('input', { type: 'file', accept: 'image/*', capture: 'user', hidden: true });
    const preview = h('img', { class: 'label-preview', hidden: true, alt: t('gate.photo') });
    let photo = null;
    photoInput.addEventListener('change', async () => {
      const file = photoInput.files?.[0];
      photoInput.value = '';
      if (!file) return;
      try {
        const kept = await addPhoto(file);
        photo = kept.sha256;
        preview.src = kept.url;
        preview.hidden = false;
      } catch {
        status.say('error', [t('gate.photo_unreadable')]);
      }
    });
    const fillZones = () =>
      zoneBox.replaceChildren(
        ...zones.filter((z) => z.is_active !== false).map((z) => h('label', { class: 'choice-toggle toggle-fill' }, h('input', { type: 'checkbox', value: String(z.id), dataset: { zone: String(z.id) } }), h('span', { text: z.name }))),
      );
    fillZones();
    const send = h('button', { class: 'btn btn-primary btn-block', type: 'submit', dataset: { action: 'issue-pass' }, text: t('passes.issue') });
    const el = h(
      'details',
      { class: 'card issue-pass' },
      h('summary', { text: t('passes.issue_title') }),
      h(
        'form',
        {
          class: 'form',
          novalidate: true,
          onsubmit: async (event) => {
            event.preventDefault();
            const doc = ids.read();
            const problems = [];
            if (!company.value.trim() || !person.value.trim()) problems.push(t('passes.company_person_required'));
            if (!doc?.id_number) problems.push(t('passes.id_required'));
            const validFrom = fromLocalInput(from.value);
            const validUntil = fromLocalInput(until.value);
            if (!validFrom || !validUntil) problems.push(t('invites.window_required'));
            if (problems.length) {
              status.say('error', problems);
              return;
            }
            const body = {
              company: company.value.trim(),
              person_name: person.value.trim(),
              ...doc,
              valid_from: validFrom,
              valid_until: validUntil,
              zone_ids: [...zoneBox.querySelectorAll('input:checked')].map((box) => Number(box.value)),
            };
            if (phone.value.trim()) body.phone = phone.value.trim();
            send.disabled = true;
            try {
              if (photo) {
                status.say('info', [t('passes.photo_uploading')]);
                await whenUploaded([photo]);
                body.photo_sha256 = photo;
              }
              const made = await api.post(`/api/sites/${site.id}/contractor-passes`, body);
              rows = [made, ...rows];
              open.add(String(made.id));
              for (const input of [company, person, phone]) input.value = '';
              ids.clear();
              photo = null;
              preview.hidden = true;
              status.say('ok', [t('passes.issued', { name: made.person_name })]);
              draw();
            } catch (err) {
              status.say('error', err?.refused ? [t('gate.photo_refused')] : errorLines(err));
            } finally {
              send.disabled = false;
            }
          },
        },
        h('div', { class: 'field-pair' }, field(t('gate.company'), company), field(t('gate.person'), person)),
        field(t('gate.phone'), phone),
        ids.el,
        field(t('invites.from'), from),
      field(t('invites.until'), until),
        h('p', { class: 'label', text: t('passes.zones_hint') }),
        zoneBox,
        h('button', { class: 'btn btn-block', type: 'button', onclick: () => photoInput.click() }, icon(ICONS.photo), h('span', { text: t('gate.take_photo') })),
        photoInput,
        preview,
        send,
      ),
    );
    return { el, fillZones };
  }

  const issue = manager ? issueForm() : null;
  const view = h(
    'section',
    { class: 'page contractors', 'aria-labelledby': 'page-title' },
    gateHead(ctx, t('passes.contractors_title')),
    h('p', { class: 'muted', text: t('passes.contractors_hint') }),
    issue?.el,
    status.el,
    h('div', { class: 'field-pair' }, h('div', { class: 'field' }, h('label', { class: 'visually-hidden', for: search.id, text: t('passes.search_people') }), search), filter),
    list,
  );
  cachedZones(site.id).then((z) => {
    zones = z;
    issue?.fillZones();
    draw();
  });
  fetchAll(`/api/sites/${site.id}/zones`)
    .then(async (z) => {
      zones = z.map((x) => ({ id: x.id, name: x.name, is_active: x.is_active }));
      await cacheZones(site.id, zones).catch(() => {});
      issue?.fillZones();
      draw();
    })
    .catch(() => {});
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(load, 300);
  });
  filter.addEventListener('change', load);
  load();
  return view;
}
