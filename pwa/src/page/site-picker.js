// Choosing one of the user's memberships (site × role); the choice is remembered.
import { h } from '../utils/dom.js';
import { t } from '../utils/i18n.js';

export function sitePickerView(ctx) {
  const list = ctx.me.memberships;
  return h(
    'section',
    { class: 'page', 'aria-labelledby': 'picker-title' },
    h('h1', { id: 'picker-title', class: 'title', text: t('picker.title') }),
    list.length === 0
      ? h('p', { class: 'muted', text: t('picker.none') })
      : h(
          'ul',
          { class: 'choices' },
          list.map((m) =>
            h(
              'li',
              null,
              h(
                'button',
                {
                  class: `choice${ctx.membership?.id === m.id ? ' choice-current' : ''}`,
                  type: 'button',
                  dataset: { membership: m.id, role: m.role },
                  onclick: () => ctx.chooseMembership(m),
                },
                h('span', { class: 'choice-title', text: m.site.name }),
                h('span', {
                  class: 'choice-sub',
                  text: [t(`role.${m.role}`), t(`site.kind.${m.site.kind}`), m.unit?.label || m.unit?.name]
                    .filter(Boolean)
                    .join(' · '),
                }),
              ),
            ),
          ),
        ),
  );
}
