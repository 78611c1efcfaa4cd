// #/signin and #/signup.

import { h } from '../dom.js';
import { getLang, t } from '../i18n.js';
import { icon } from '../icons.js';
import { pb } from '../store.js';
import { errorMessage } from '../ui.js';

function field(id, label, input, hint) {
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    input,
    hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null);
}

function authPage({ title, text, fields, submitLabel, switchHref, switchLabel, testid, onSubmit }) {
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': `${testid}-error`, hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', 'data-testid': `${testid}-submit` }, submitLabel);
  const form = h('form', { class: 'form', 'data-testid': `${testid}-form` }, fields, error, submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    submit.disabled = true;
    try {
      await onSubmit(new FormData(form));
    } catch (err) {
      error.textContent = errorMessage(err);
      error.hidden = !error.textContent;
    } finally {
      submit.disabled = false;
    }
  });
  return h('section', { class: 'auth card' },
    h('div', { class: 'auth-icon', 'aria-hidden': 'true' }, icon('logo', 'auth-logo')),
    h('h1', { class: 'page-title', tabindex: '-1' }, title),
    h('p', { class: 'muted' }, text),
    form,
    h('p', { class: 'auth-switch' }, h('a', { href: switchHref }, switchLabel)));
}

export function signinView(onSignedIn) {
  return {
    name: 'signin',
    title: () => t('nav.signin'),
    render() {
      return authPage({
        title: t('auth.signinTitle'),
        text: t('auth.signinText'),
        testid: 'signin',
        submitLabel: t('auth.signin'),
        switchHref: '#/signup',
        switchLabel: t('auth.toSignup'),
        fields: [
          field('signin-email', t('auth.email'), h('input', { id: 'signin-email', name: 'email', type: 'email', required: true, autocomplete: 'email', 'data-testid': 'signin-email' })),
          field('signin-password', t('auth.password'), h('input', { id: 'signin-password', name: 'password', type: 'password', required: true, autocomplete: 'current-password', 'data-testid': 'signin-password' })),
        ],
        async onSubmit(data) {
          await pb.collection('users').authWithPassword(String(data.get('email')).trim(), String(data.get('password')));
          await onSignedIn();
        },
      });
    },
  };
}

export function signupView(onSignedIn) {
  return {
    name: 'signup',
    title: () => t('auth.signup'),
    render() {
      return authPage({
        title: t('auth.signupTitle'),
        text: t('auth.signupText'),
        testid: 'signup',
        submitLabel: t('auth.signup'),
        switchHref: '#/signin',
        switchLabel: t('auth.toSignin'),
        fields: [
          field('signup-name', t('auth.name'), h('input', { id: 'signup-name', name: 'name', type: 'text', required: true, autocomplete: 'name', maxlength: '255', 'data-testid': 'signup-name' })),
          field('signup-email', t('auth.email'), h('input', { id: 'signup-email', name: 'email', type: 'email', required: true, autocomplete: 'email', 'data-testid': 'signup-email' })),
          field('signup-password', t('auth.password'), h('input', {
            id: 'signup-password', name: 'password', type: 'password', required: true, minlength: '8',
            autocomplete: 'new-password', 'aria-describedby': 'signup-password-hint', 'data-testid': 'signup-password',
          }), t('auth.passwordHint')),
        ],
        async onSubmit(data) {
          const email = String(data.get('email')).trim();
          const password = String(data.get('password'));
          await pb.collection('users').create({
            email, password, passwordConfirm: password, name: String(data.get('name')).trim(), locale: getLang(),
          });
          await pb.collection('users').authWithPassword(email, password);
          await onSignedIn();
        },
      });
    },
  };
}
