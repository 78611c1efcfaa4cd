// Shared pieces of the interface: toasts, error messages, status pills,
// the order progress stepper, and live sections that re-render themselves.

import { h } from './dom.js';
import { t } from './i18n.js';
import { icon } from './icons.js';
import { on } from './store.js';

// ---- toasts --------------------------------------------------------------

export function toast(message, kind = 'info') {
  if (!message) return;
  const region = document.getElementById('toasts');
  const item = h('div', {
    class: ['toast', `toast-${kind}`],
    role: kind === 'error' ? 'alert' : 'status',
    'data-testid': kind === 'error' ? 'toast-error' : 'toast',
  },
  icon(kind === 'error' ? 'alert' : kind === 'success' ? 'check' : 'info', 'icon toast-icon'),
  h('p', { class: 'toast-text' }, message),
  h('button', { type: 'button', class: 'toast-close', 'aria-label': t('close'), onClick: () => item.remove() }, icon('x')));
  region.append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 9000 : 4500);
}

const FIELD_LABELS = {
  email: 'auth.email', password: 'auth.password', name: 'settings.name', phone: 'settings.phone',
  address: 'checkout.address',
};

/**
 * The text to show for an error: the server's own message (a field's
 * message when the server names one), or a network message.
 */
export function errorMessage(err) {
  if (!err) return t('error.generic');
  if (err.isAbort) return '';
  if (err.status === 0 && err.response && !Object.keys(err.response).length) return t('error.network');
  const body = err.response || {};
  const fields = body.data && typeof body.data === 'object' ? Object.entries(body.data) : [];
  const fieldMessages = fields
    .filter(([, v]) => v && typeof v.message === 'string')
    .map(([field, v]) => (FIELD_LABELS[field] ? `${t(FIELD_LABELS[field])}: ${v.message}` : v.message));
  if (fieldMessages.length) return fieldMessages.join(' ');
  return body.message || err.message || t('error.generic');
}

export function showError(err) {
  const message = errorMessage(err);
  if (message) toast(message, 'error');
  else if (err && !err.isAbort) console.error(err);
}

// ---- live sections -------------------------------------------------------

// Subscriptions of the current page, dropped when the route changes.
let scope = [];

export function dropScope() {
  for (const stop of scope) stop();
  scope = [];
}

/**
 * A container that re-renders with `draw()` whenever one of `topics` is
 * emitted, keeping the keyboard focus on the element with the same id.
 * `permanent` sections (the header) outlive route changes.
 */
export function live(topics, draw, { tag = 'div', props = {}, permanent = false } = {}) {
  const el = h(tag, props);
  const paint = () => {
    const active = document.activeElement;
    const inside = Boolean(active) && el.contains(active);
    const focusId = inside ? active.id : '';
    const fallback = inside && active.dataset ? active.dataset.focusNext : '';
    const wasTitle = inside && active.classList.contains('page-title');
    el.replaceChildren(...[draw()].flat().filter(Boolean));
    let again = null;
    if (focusId) again = document.getElementById(focusId) || (fallback && document.getElementById(fallback));
    else if (wasTitle) again = el.querySelector('.page-title');
    if (again && again !== document.activeElement) again.focus({ preventScroll: true });
  };
  paint();
  const stop = on(topics, paint);
  if (!permanent) scope.push(stop);
  return el;
}

// ---- orders --------------------------------------------------------------

export const STEPS = ['new', 'paid', 'assembling', 'shipped', 'delivered'];

export function statusPill(status, props = {}) {
  return h('span', { class: ['pill', `pill-${status || 'new'}`], 'data-status': status, ...props }, t(`status.${status || 'new'}`));
}

export function stepper(status, { compact = false } = {}) {
  const stopped = status === 'cancelled' || status === 'returned';
  // A cancelled order has no progress to show in a list: its pill says it.
  if (compact && status === 'cancelled') return h('span', { class: 'stepper-compact' });
  const reached = status === 'returned' ? STEPS.length - 1 : STEPS.indexOf(status || 'new');
  return h('ol', {
    class: ['stepper', compact && 'stepper-compact', stopped && `stepper-${status}`],
    'aria-label': t('orders.progress'),
    'data-testid': compact ? null : 'order-stepper',
  },
  STEPS.map((step, i) => {
    const done = !stopped || status === 'returned' ? i <= reached : false;
    const current = !stopped && i === reached;
    return h('li', {
      class: ['step', done && 'step-done', current && 'step-current'],
      'aria-current': current ? 'step' : null,
    },
    h('span', { class: 'step-dot', 'aria-hidden': 'true' }, done && !current ? icon('check', 'icon step-check') : null),
    h('span', { class: compact ? 'visually-hidden' : 'step-label' }, t(`step.${step}`)));
  }));
}

export function itemsSummary(order) {
  const items = Array.isArray(order.items) ? order.items : [];
  return items.map((item) => `${item.name} × ${item.qty}`).join(', ');
}

/** Only http(s) links leave the shop. */
export function safeHttpUrl(value) {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : '';
  } catch (_) {
    return '';
  }
}

/**
 * Where a message's link should go: a page of this storefront ("#/orders/…")
 * stays in the app whatever address the server put in front of it.
 */
export function messageHref(link) {
  if (!link) return '';
  try {
    const url = new URL(link, location.origin);
    if (url.hash.startsWith('#/') && (url.origin === location.origin || url.pathname === '/')) return url.hash;
    return safeHttpUrl(url.href);
  } catch (_) {
    return '';
  }
}

export function emptyState(text, action) {
  return h('div', { class: 'empty', 'data-testid': 'empty-state' },
    h('p', null, text),
    action || null);
}

export function signInRequired() {
  return h('section', { class: 'card narrow center', 'data-testid': 'signin-required' },
    h('h1', { class: 'page-title', tabindex: '-1' }, t('auth.required')),
    h('p', { class: 'actions center' },
      h('a', { class: 'btn btn-primary', href: '#/signin' }, t('nav.signin')),
      h('a', { class: 'btn btn-ghost', href: '#/signup' }, t('auth.signup'))));
}

export function spinner() {
  return h('div', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', { class: 'visually-hidden' }, '…'));
}
