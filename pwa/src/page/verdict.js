// A scan's verdict and reasons in the user's language (reason codes: docs/api.md, patrol scans).
import { h } from '../utils/dom.js';
import { has, t } from '../utils/i18n.js';

const BADGE = { valid: 'badge-ok', suspicious: 'badge-accent', rejected: 'badge-danger' };

export function reasonText(code) {
  return has(`reason.${code}`) ? t(`reason.${code}`) : code;
}

export function methodText(method) {
  return has(`method.${method}`) ? t(`method.${method}`) : method;
}

/** The badge for a scan the server answered: valid, awaiting review, accepted, not accepted. */
export function verdictBadge(scan) {
  let key = scan.verdict;
  if (scan.verdict === 'suspicious') key = scan.review === 'accepted' ? 'accepted' : scan.review === 'rejected' ? 'review_rejected' : 'review';
  const cls = key === 'accepted' ? 'badge-ok' : key === 'review_rejected' ? 'badge-danger' : BADGE[scan.verdict] || '';
  return h('span', { class: `badge ${cls}`, dataset: { verdict: scan.verdict, review: scan.review || 'none' }, text: t(`verdict.${key}`) });
}

/** One line naming every reason, or null when there is none. */
export function reasonsLine(reasons) {
  if (!reasons?.length) return null;
  return h('p', { class: 'card-line scan-reasons', text: reasons.map(reasonText).join(' · ') });
}
