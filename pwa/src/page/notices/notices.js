// Notifications (/notifications): first what notices this person gets and why the browser is
// about to ask, and only then the permission prompt and the subscription; turning them off on
// this device; which kinds to get; and every device that gets them, each removable.
import { ApiError, NetworkError } from '../../utils/api.js';
import { h } from '../../utils/dom.js';
import { formatTime } from '../../utils/format.js';
import { t } from '../../utils/i18n.js';
import { errorLines } from '../../utils/messages.js';
import {
  changeNoticeSettings,
  forgetThisDevice,
  listSubscriptions,
  noticeSettings,
  permission,
  pushBlocker,
  removeSubscription,
  subscribeThisBrowser,
  thisDevice,
  unsubscribeThisBrowser,
} from '../../utils/webpush.js';
import { pageHead } from '../page-head.js';
import { statusLine } from '../parcels/head.js';

const ALERT_ROLES = ['supervisor', 'admin'];

function subscribeErrorLines(err) {
  if (err instanceof ApiError || err instanceof NetworkError) return errorLines(err);
  if (err?.name === 'NotAllowedError') return [t('notices.denied')];
  if (err?.name === 'TimeoutError') return [t('notices.timeout')];
  if (err?.name === 'NotSupportedError') return [t('notices.unsupported')];
  console.warn('push subscribe', err);
  return [t('notices.push_service_failed')];
}

export function noticesView(ctx) {
  const me = ctx.me.user;
  const role = ctx.membership?.role;
  const tz = ctx.membership?.site?.timezone;
  const status = statusLine('notices-status');
  const device = h('div', { class: 'card notices-device', dataset: { testid: 'this-device' } });
  const devices = h('ul', { class: 'cards', dataset: { testid: 'push-devices' } });
  const kinds = h('div', { class: 'fields', dataset: { testid: 'notice-kinds' } });

  function explain() {
    const blocked = pushBlocker();
    const on = thisDevice(me.id);
    device.dataset.state = on ? 'on' : blocked || 'off';
    if (blocked === 'insecure' || blocked === 'unsupported') {
      device.replaceChildren(h('div', { class: 'card-main' }, h('p', { class: 'card-line', text: t(`notices.${blocked}`) })));
      return;
    }
    if (on) {
      device.replaceChildren(
        h('div', { class: 'card-main' }, h('p', { class: 'card-title', text: t('notices.on_here') }), h('p', { class: 'card-line', text: t('notices.on_here_body') })),
        h('button', { class: 'btn', type: 'button', dataset: { action: 'push-off' }, text: t('notices.turn_off'), onclick: turnOff }),
      );
      return;
    }
    const what = role === 'resident' ? t('notices.what_resident') : ALERT_ROLES.includes(role) ? t('notices.what_supervisor') : t('notices.what_staff');
    device.replaceChildren(
      h(
        'div',
        { class: 'card-main' },
        h('p', { class: 'card-title', text: t('notices.explain_title') }),
        h('p', { class: 'card-line', text: what }),
        h('p', { class: 'card-line', text: t('notices.explain_permission') }),
        h('p', { class: 'card-line', text: t('notices.explain_control') }),
        blocked === 'denied' ? h('p', { class: 'card-line notice-error', text: t('notices.denied') }) : null,
      ),
      h('button', {
        class: 'btn btn-primary btn-block',
        type: 'button',
        disabled: blocked === 'denied',
        dataset: { action: 'push-on' },
        text: t('notices.turn_on'),
        onclick: turnOn,
      }),
    );
  }

  async function turnOn(event) {
    const button = event.currentTarget;
    button.disabled = true;
    status.say('info', [t('notices.subscribing')]);
    try {
      await subscribeThisBrowser(me.id);
      status.say('ok', [t('notices.subscribed')]);
    } catch (err) {
      status.say('error', subscribeErrorLines(err));
    } finally {
      button.disabled = false;
      explain();
      loadDevices();
    }
  }

  async function turnOff() {
    try {
      await unsubscribeThisBrowser(me.id);
      status.say('ok', [t('notices.unsubscribed')]);
    } catch (err) {
      status.say('error', errorLines(err));
    }
    explain();
    loadDevices();
  }

  async function loadDevices() {
    try {
      const rows = await listSubscriptions();
      if (thisDevice(me.id) && !rows.some((s) => s.id === thisDevice(me.id).id)) {
        forgetThisDevice(me.id);
        explain();
      }
      const mine = thisDevice(me.id)?.id;
      devices.replaceChildren(
        ...(rows.length
          ? rows.map((s) =>
              h(
                'li',
                { class: 'card', dataset: { subscription: String(s.id), here: String(s.id === mine) } },
                h(
                  'div',
                  { class: 'card-main' },
                  h(
                    'p',
                    { class: 'card-title' },
                    s.service,
                    s.id === mine ? h('span', { class: 'badge badge-accent', text: t('notices.this_device') }) : null,
                  ),
                  h('p', { class: 'card-line', text: t('notices.since', { time: formatTime(s.created_at, tz) }) }),
                  h('p', { class: 'card-line', text: t('notices.last_delivered', { time: formatTime(s.last_success_at, tz) }) }),
                ),
                h('button', {
                  class: 'btn',
                  type: 'button',
                  dataset: { action: 'remove-device' },
                  text: t('notices.remove'),
                  onclick: async () => {
                    try {
                      if (s.id === mine) await unsubscribeThisBrowser(me.id);
                      else await removeSubscription(s.id);
                      status.say('ok', [t('notices.removed')]);
                    } catch (err) {
                      status.say('error', errorLines(err));
                    }
                    explain();
                    loadDevices();
                  },
                }),
              ),
            )
          : [h('li', { class: 'empty muted', text: t('notices.no_devices') })]),
      );
    } catch (err) {
      devices.replaceChildren(h('li', { class: 'empty muted', text: errorLines(err)[0] }));
    }
  }

  async function loadKinds() {
    try {
      const current = await noticeSettings();
      const names = ALERT_ROLES.includes(role) ? ['parcels', 'alerts'] : ['parcels'];
      kinds.replaceChildren(
        ...names.map((name) => {
          const box = h('input', { type: 'checkbox', name, checked: current[name], dataset: { kind: name } });
          box.addEventListener('change', async () => {
            box.disabled = true;
            try {
              const after = await changeNoticeSettings({ [name]: box.checked });
              box.checked = after[name];
              status.say('ok', [t(after[name] ? 'notices.kind_on' : 'notices.kind_off', { kind: t(`notices.kind.${name}`) })]);
            } catch (err) {
              box.checked = !box.checked;
              status.say('error', errorLines(err));
            } finally {
              box.disabled = false;
            }
          });
          return h('label', { class: 'choice-toggle toggle-fill' }, box, h('span', { text: t(`notices.kind.${name}`) }));
        }),
      );
    } catch (err) {
      kinds.replaceChildren(h('p', { class: 'muted', text: errorLines(err)[0] }));
    }
  }

  explain();
  loadKinds();
  loadDevices();
  const view = h(
    'section',
    { class: 'page notices', 'aria-labelledby': 'page-title', dataset: { permission: permission() } },
    pageHead(ctx, 'notices.title'),
    device,
    status.el,
    h('h2', { class: 'subtitle', text: t('notices.kinds_title') }),
    kinds,
    h('h2', { class: 'subtitle', text: t('notices.devices_title') }),
    devices,
  );
  return view;
}
