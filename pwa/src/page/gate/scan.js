// Scanning a pass at the gate: a resident's invite, a contractor's pass or a goods-out pass, read
// by the camera with the same decoder as the patrol scanner (or from a photo, or typed). The
// server says what the code is and whether the gate may take it now; the guard then checks the
// guest in, lets the contractor in, or ticks the goods leaving — or sees why it is refused
// (expired, revoked, used, forged, another site, wrong zone). Offline the phone reads the code's
// own window and what it kept, and the server's verdict comes when the outbox is sent.
import { ApiError, NetworkError, api } from '../../utils/api.js';
import { h, icon } from '../../utils/dom.js';
import { formatTime } from '../../utils/format.js';
import { localRefusal, readPassCode } from '../../utils/gate-codes.js';
import { keepLabel, keepList, keptList, keptSummary } from '../../utils/gate-store.js';
import { has, t } from '../../utils/i18n.js';
import { serverUrl } from '../../utils/media.js';
import { errorLines } from '../../utils/messages.js';
import { decodeFile } from '../../utils/qr.js';
import { cacheZones, cachedZones } from '../../utils/replica.js';
import { ICONS } from '../icons.js';
import { scanQr } from '../scanner.js';
import { textDialog } from '../text-dialog.js';
import {
  CONTRACTOR_SCAN,
  ESCORT_PURPOSES,
  GOODS_EXIT,
  REGISTER,
  details,
  fetchAll,
  gateHead,
  purposeText,
  queueGate,
  quiet,
  sender,
  statusLine,
} from './common.js';

/** Checks an invited guest in through the outbox (`visitors.register` with the invite's code). */
export async function checkInInvite(ctx, invite) {
  const me = sender(ctx);
  const args = { id: crypto.randomUUID(), site_id: ctx.membership.site.id, invite_code: invite.code };
  // Deliveries, moving and water are walked in by a guard: the one at the gate, by default.
  if (ESCORT_PURPOSES.has(invite.purpose)) args.escort_id = me.id;
  await queueGate(ctx, REGISTER, args);
  await keepLabel(me.id, args.id, {
    name: invite.guest_name || '',
    host_unit_label: invite.unit_label || '',
    purpose: invite.purpose || 'visit',
    headcount: invite.headcount || 1,
    plate: invite.plate || null,
    invite_id: invite.id,
  }).catch(() => {});
  return args;
}

/** Keeps the passes the gate may have to check offline: active contractor passes, approved goods. */
export async function keepPassesForOffline(ctx) {
  const uid = ctx.me.user.id;
  const siteId = ctx.membership.site.id;
  try {
    const [contractors, goods] = await Promise.all([
      fetchAll(`/api/sites/${siteId}/contractor-passes?state=active`, 1000),
      fetchAll(`/api/sites/${siteId}/goods-passes?status=approved`, 1000),
    ]);
    await keepList(uid, 'contractors', siteId, contractors);
    await keepList(uid, 'goods', siteId, goods);
  } catch (err) {
    quiet(err);
  }
}

const refusalText = (code, message) => (has(`error.${code}`) ? t(`error.${code}`) : message || code);

export function scanView(ctx) {
  const site = ctx.membership.site;
  const uid = ctx.me.user.id;
  const tz = site.timezone;
  const status = statusLine('scan-status');
  const result = h('div', { class: 'pass-result', dataset: { testid: 'pass-result' }, 'aria-live': 'polite' });
  const photoInput = h('input', { type: 'file', accept: 'image/*', capture: 'environment', hidden: true, dataset: { testid: 'pass-photo' } });
  let zones = [];
  // The site's zones (a contractor's pass names them): the server's, else the kept copy.
  const zonesReady = (async () => {
    zones = await cachedZones(site.id).catch(() => []);
    try {
      const rows = await fetchAll(`/api/sites/${site.id}/zones`, 1000);
      zones = rows.map((z) => ({ id: z.id, name: z.name, is_active: z.is_active }));
      await cacheZones(site.id, zones);
    } catch (err) {
      quiet(err);
    }
  })();

  const zoneName = (id) => zones.find((z) => z.id === id)?.name || `#${id}`;
  const windowText = (from, until) => t('gate.window', { from: formatTime(from, tz), until: formatTime(until, tz) });

  function refusalBlock(code, message) {
    return h('div', { class: 'reason pass-refusal', role: 'alert', dataset: { testid: 'pass-refusal', code } }, h('p', { text: refusalText(code, message) }));
  }

  function done(lines) {
    result.replaceChildren();
    delete result.dataset.kind;
    status.say('ok', lines);
  }

  // --- what each kind of pass shows and does ---------------------------------------------------

  function inviteBody(claims, record, refusal) {
    const rows = record
      ? [
          [t('gate.guest'), record.guest_name, 'guest'],
          [t('gate.phone'), record.guest_phone],
          [t('gate.host_unit'), record.unit_label, 'unit'],
          [t('gate.purpose'), purposeText(record.purpose)],
          [t('gate.headcount'), record.headcount],
          [t('gate.plate'), record.plate],
        ]
      : [[t('gate.guest'), t('gate.guest_from_invite')]];
    rows.push([t('gate.valid'), windowText(record?.valid_from || claims.valid_from, record?.valid_until || claims.valid_until), 'window']);
    const act = refusal
      ? null
      : h('button', {
          class: 'btn btn-primary btn-block',
          type: 'button',
          dataset: { action: 'check-in' },
          text: t('gate.check_in'),
          onclick: async (event) => {
            event.currentTarget.disabled = true;
            await checkInInvite(ctx, { ...(record || {}), id: claims.id, code: claims.code });
            const name = record?.guest_name || t('gate.guest');
            ctx.go('/gate', { notice: { kind: 'ok', lines: () => [t('gate.checked_in_sending', { name })] } });
          },
        });
    return [details(rows, 'pass-details'), act];
  }

  function contractorBody(claims, record, refusal) {
    const allowed = record?.zone_ids || [];
    const rows = record
      ? [
          [t('gate.person'), record.person_name, 'person'],
          [t('gate.company'), record.company, 'company'],
          [t('gate.id_number'), record.id_masked],
          [t('gate.phone'), record.phone],
          [t('gate.zones'), allowed.length ? allowed.map(zoneName).join('、') : t('gate.every_zone'), 'zones'],
        ]
      : [[t('gate.person'), t('gate.details_when_online')]];
    rows.push([t('gate.valid'), windowText(record?.valid_from || claims.valid_from, record?.valid_until || claims.valid_until), 'window']);
    const photo = record?.photo_sha256 ? h('img', { class: 'pass-photo', src: serverUrl(record.photo_sha256), alt: t('gate.photo') }) : null;
    if (refusal) return [photo, details(rows, 'pass-details')];
    const zone = h('select', { id: 'contractor-zone', class: 'input select', name: 'zone_id' }, [
      h('option', { value: '', text: t('gate.zone_unsaid') }),
      ...zones.filter((z) => z.is_active !== false).map((z) => h('option', { value: String(z.id), text: z.name })),
    ]);
    const zoneProblem = h('div', { class: 'zone-problem' });
    const go = h('button', { class: 'btn btn-primary btn-block', type: 'button', dataset: { action: 'let-in' }, text: t('gate.let_in') });
    zone.addEventListener('change', () => {
      const id = zone.value ? Number(zone.value) : null;
      const wrong = id != null && allowed.length > 0 && !allowed.includes(id);
      zoneProblem.replaceChildren(wrong ? refusalBlock('zone_not_allowed') : '');
      go.disabled = wrong;
    });
    go.addEventListener('click', async () => {
      go.disabled = true;
      const entry = { id: crypto.randomUUID(), site_id: site.id, code: claims.code, zone_id: zone.value ? Number(zone.value) : null };
      await queueGate(ctx, CONTRACTOR_SCAN, entry);
      await keepLabel(uid, entry.id, { kind: 'contractor', name: record?.person_name || '', company: record?.company || '', zone_id: entry.zone_id }).catch(() => {});
      done([t('gate.contractor_in_sending', { name: record?.person_name || t('gate.contractor') })]);
    });
    return [photo, details(rows, 'pass-details'), h('div', { class: 'field' }, h('label', { class: 'label', for: zone.id, text: t('gate.going_to') }), zone), zoneProblem, go];
  }

  function goodsBody(claims, record, refusal) {
    if (!record) {
      return [details([[t('gate.valid'), windowText(claims.valid_from, claims.valid_until)]], 'pass-details'), h('p', { class: 'notice notice-warn', text: t('gate.goods_needs_network') })];
    }
    const rows = [
      [t('gate.host_unit'), record.unit_label, 'unit'],
      [t('passes.requested_by'), record.requested_by_name],
      [t('passes.carrier'), record.carrier],
      [t('gate.plate'), record.plate],
      [t('passes.reason'), record.reason],
      [t('passes.stamp'), record.decided_by_name ? t('passes.stamped_by', { name: record.decided_by_name, time: formatTime(record.decided_at, tz) }) : '', 'stamp'],
      [t('gate.valid'), windowText(record.valid_from, record.valid_until), 'window'],
    ];
    const items = (record.items || []).map((item, i) =>
      h(
        'li',
        { class: 'goods-item' },
        h(
          'label',
          { class: 'choice-toggle toggle-fill goods-tick' },
          h('input', { type: 'checkbox', name: 'items_out', value: String(i), disabled: Boolean(refusal), dataset: { item: String(i) } }),
          h('span', { text: t('passes.item_line', { name: item.name, quantity: item.quantity ?? 1 }) }),
        ),
      ),
    );
    const list = h('ul', { class: 'goods-items', dataset: { testid: 'goods-items' } }, items);
    if (refusal) return [details(rows, 'pass-details'), list];
    const note = h('input', { id: 'goods-exit-note', class: 'input', maxlength: 500, autocomplete: 'off' });
    const problem = h('p', { class: 'form-error', hidden: true, text: t('gate.tick_items') });
    const go = h('button', { class: 'btn btn-primary btn-block', type: 'button', dataset: { action: 'record-exit' }, text: t('gate.record_exit') });
    go.addEventListener('click', async () => {
      const ticked = [...list.querySelectorAll('input:checked')].map((box) => Number(box.value));
      problem.hidden = ticked.length > 0;
      if (!ticked.length) return;
      go.disabled = true;
      await queueGate(ctx, GOODS_EXIT, { site_id: site.id, code: claims.code, items_out: ticked, note: note.value.trim() });
      done([t('gate.goods_exit_sending', { unit: record.unit_label, n: ticked.length, total: items.length })]);
    });
    return [
      details(rows, 'pass-details'),
      h('p', { class: 'label', text: t('gate.tick_what_leaves') }),
      list,
      h('div', { class: 'field' }, h('label', { class: 'label', for: note.id, text: t('gate.note') }), note),
      problem,
      go,
    ];
  }

  /** What the phone kept about this pass, for an offline scan. */
  async function keptRecord(claims) {
    if (claims.kind === 'invite') {
      const s = await keptSummary(uid, site.id).catch(() => null);
      return (s?.expected_today || []).find((i) => String(i.id) === claims.id) || null;
    }
    const rows = await keptList(uid, claims.kind === 'contractor' ? 'contractors' : 'goods', site.id).catch(() => []);
    return rows.find((r) => String(r.id) === claims.id) || null;
  }

  async function show(claims, { record, refusal, message, offline }) {
    await zonesReady;
    const body = { invite: inviteBody, contractor: contractorBody, goods: goodsBody }[claims.kind](claims, record, refusal);
    result.dataset.kind = claims.kind;
    result.dataset.ok = refusal ? 'false' : 'true';
    result.replaceChildren(
      h(
        'div',
        { class: `card pass-card${refusal ? ' card-problem' : ''}` },
        h('h2', { class: 'card-title', text: t(`gate.pass_kind.${claims.kind}`) }),
        refusal ? refusalBlock(refusal, message) : null,
        offline ? h('p', { class: 'notice notice-warn', dataset: { testid: 'checked-offline' }, text: t('gate.checked_offline') }) : null,
        body,
      ),
    );
  }

  async function handle(text) {
    status.clear();
    result.replaceChildren();
    const claims = readPassCode(text);
    if (!claims) {
      status.say('error', [t('gate.not_a_pass')]);
      return;
    }
    status.say('info', [t('gate.checking')]);
    try {
      const check = await api.post(`/api/sites/${site.id}/passes/check`, { code: claims.code });
      status.clear();
      await show(claims, { record: check.record, refusal: check.ok ? '' : check.refusal, message: check.message, offline: false });
    } catch (err) {
      if (err instanceof NetworkError) {
        status.clear();
        const record = await keptRecord(claims);
        await show(claims, { record, refusal: localRefusal(claims, site.id), offline: true });
      } else if (err instanceof ApiError) {
        // A forged or altered code, or one of another site: refused outright.
        status.clear();
        result.dataset.ok = 'false';
        result.dataset.kind = claims.kind;
        result.replaceChildren(
          h('div', { class: 'card pass-card card-problem' }, h('h2', { class: 'card-title', text: t(`gate.pass_kind.${claims.kind}`) }), refusalBlock(err.code, errorLines(err)[0])),
        );
      } else {
        throw err;
      }
    }
  }

  async function scanCamera() {
    const { text, decoder } = await scanQr();
    if (decoder) view.dataset.decoder = decoder;
    if (text) await handle(text);
  }

  photoInput.addEventListener('change', async () => {
    const file = photoInput.files?.[0];
    photoInput.value = '';
    if (!file) return;
    const text = await decodeFile(file).catch(() => null);
    if (text) await handle(text);
    else status.say('error', [t('gate.no_code_in_photo')]);
  });

  async function typeCode() {
    const text = await textDialog({ title: t('gate.type_code_title'), label: t('gate.code_or_link'), confirm: t('gate.check_code'), maxlength: 600, testid: 'code-dialog' });
    if (text) await handle(text);
  }

  const view = h(
    'section',
    { class: 'page gate-scan', 'aria-labelledby': 'page-title' },
    gateHead(ctx, t('gate.scan_title')),
    h('p', { class: 'muted', text: t('gate.scan_hint') }),
    h(
      'div',
      { class: 'scan-actions gate-scan-actions' },
      h('button', { class: 'btn btn-primary btn-block scan-btn', type: 'button', dataset: { action: 'scan-camera' }, onclick: scanCamera }, icon(ICONS.qr), h('span', { text: t('gate.scan_camera') })),
      h(
        'div',
        { class: 'field-pair' },
        h('button', { class: 'btn', type: 'button', dataset: { action: 'scan-photo' }, onclick: () => photoInput.click() }, icon(ICONS.photo), h('span', { text: t('gate.scan_photo') })),
        h('button', { class: 'btn', type: 'button', dataset: { action: 'type-code' }, onclick: typeCode }, icon(ICONS.keyboard), h('span', { text: t('gate.type_code') })),
      ),
      photoInput,
    ),
    status.el,
    result,
  );
  keepPassesForOffline(ctx);
  return view;
}
