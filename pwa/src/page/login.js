// The sign-in form.
import { h } from '../utils/dom.js';
import { t } from '../utils/i18n.js';
import { errorLines } from '../utils/messages.js';
import { signIn } from '../utils/session.js';

export function loginView(ctx) {
  const errorBox = h('div', { class: 'form-error', role: 'alert', dataset: { testid: 'login-error' }, hidden: true });
  const username = h('input', {
    id: 'login-username',
    name: 'username',
    class: 'input',
    autocomplete: 'username',
    autocapitalize: 'none',
    spellcheck: 'false',
    enterkeyhint: 'next',
  });
  const password = h('input', {
    id: 'login-password',
    name: 'password',
    type: 'password',
    class: 'input',
    autocomplete: 'current-password',
    enterkeyhint: 'go',
  });
  const submit = h('button', { class: 'btn btn-primary btn-block', type: 'submit', text: t('login.submit') });

  function showError(err) {
    const lines = errorLines(err, 'signin');
    errorBox.replaceChildren(...lines.map((line) => h('p', { text: line })));
    errorBox.hidden = false;
    const bad = new Set((err?.details?.fields || []).map((f) => f.field));
    for (const input of [username, password]) {
      if (bad.has(input.name)) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    }
  }

  async function onSubmit(event) {
    event.preventDefault();
    if (submit.disabled) return;
    submit.disabled = true;
    submit.textContent = t('login.submitting');
    errorBox.hidden = true;
    try {
      const me = await signIn(username.value.trim(), password.value);
      await ctx.signedIn(me);
    } catch (err) {
      password.value = '';
      showError(err);
      submit.disabled = false;
      submit.textContent = t('login.submit');
      password.focus();
    }
  }

  return h(
    'section',
    { class: 'login', 'aria-labelledby': 'login-title' },
    h('img', { class: 'login-logo', src: '/icons/icon-192.png', alt: '', width: 72, height: 72 }),
    h('h1', { id: 'login-title', class: 'title', text: t('login.title') }),
    h('p', { class: 'muted', text: t('app.tagline') }),
    h(
      'form',
      { class: 'form', novalidate: true, onsubmit: onSubmit },
      h('label', { class: 'label', for: 'login-username', text: t('login.username') }),
      username,
      h('label', { class: 'label', for: 'login-password', text: t('login.password') }),
      password,
      errorBox,
      submit,
    ),
  );
}
