// The review queue: suspicious scans a supervisor accepts or rejects, with a note (audited).
import { api } from '../utils/api.js';
import { h } from '../utils/dom.js';
import { formatTime } from '../utils/format.js';
import { t } from '../utils/i18n.js';
import { errorLines } from '../utils/messages.js';
import { methodText, reasonText } from './verdict.js';

/** `onDecided(scan)` after a decision was stored. Returns {el, render(board)}. */
export function reviewQueue(ctx, { onDecided }) {
  const tz = ctx.membership.site.timezone;
  const list = h('ul', { class: 'cards review-list', dataset: { testid: 'review-queue' } });
  const deciding = new Set();

  function card(scan, names) {
    const note = h('input', { class: 'input', name: 'note', maxlength: 500, placeholder: t('review.note'), 'aria-label': t('review.note') });
    const error = h('div', { class: 'reason', hidden: true });
    async function decide(decision) {
      if (deciding.has(scan.id)) return;
      deciding.add(scan.id);
      for (const b of li.querySelectorAll('button')) b.disabled = true;
      try {
        const stored = await api.post(`/api/scans/${scan.id}/review`, { decision, note: note.value.trim() });
        li.remove();
        onDecided(stored);
      } catch (err) {
        error.hidden = false;
        error.replaceChildren(...errorLines(err).map((line) => h('p', { text: line })));
        for (const b of li.querySelectorAll('button')) b.disabled = false;
      } finally {
        deciding.delete(scan.id);
      }
    }
    const manual = scan.method === 'manual';
    const li = h(
      'li',
      { class: 'card review-item', dataset: { scan: scan.id } },
      h(
        'div',
        { class: 'card-main' },
        h('p', { class: 'card-title', text: names.checkpoint(scan.checkpoint_id) }),
        h('p', { class: 'badges' }, h('span', { class: `badge${manual ? ' badge-accent' : ''}`, text: methodText(scan.method) })),
        h('p', { class: 'card-line', text: t('review.by_at', { name: names.guard(scan.guard_id), time: formatTime(scan.client_time, tz) }) }),
        h('p', { class: 'card-line scan-reasons', text: scan.reasons.map(reasonText).join(' · ') }),
        error,
      ),
      h(
        'div',
        { class: 'card-actions' },
        note,
        h('button', { class: 'btn btn-primary', type: 'button', dataset: { action: 'accept' }, text: t('review.accept'), onclick: () => decide('accepted') }),
        h('button', { class: 'btn btn-danger', type: 'button', dataset: { action: 'reject' }, text: t('review.reject'), onclick: () => decide('rejected') }),
      ),
    );
    return li;
  }

  return {
    el: list,
    render(queue, names) {
      // Keep cards being typed into: only add new scans and drop decided ones.
      const wanted = new Set(queue.map((s) => s.id));
      for (const li of [...list.querySelectorAll('li[data-scan]')]) if (!wanted.has(li.dataset.scan)) li.remove();
      list.querySelector('.empty')?.remove();
      const shown = new Set([...list.querySelectorAll('li[data-scan]')].map((li) => li.dataset.scan));
      queue.forEach((scan, i) => {
        if (shown.has(scan.id)) return;
        const next = list.children[i] || null;
        list.insertBefore(card(scan, names), next);
      });
      if (!queue.length) list.append(h('li', { class: 'empty muted', text: t('review.empty') }));
    },
  };
}
