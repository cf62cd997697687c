// A message line above the view (signed out, saved, failed), re-rendered on language change.
import { h } from '../utils/dom.js';

/** `lines` is a function so the text follows the current language. */
export function renderNotice(notice) {
  if (!notice) return null;
  return h(
    'div',
    { class: `notice notice-${notice.kind || 'info'}`, role: notice.kind === 'error' ? 'alert' : 'status' },
    notice.lines().map((line) => h('p', { text: line })),
  );
}
