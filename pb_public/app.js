// The storefront: header, hash routing and the session. Plain ES modules,
// no framework; the PocketBase SDK is the only dependency (app/store.js).
//
//   #/            catalogue and cart       #/inbox     in-app messages
//   #/orders      my orders                #/settings  profile, channels, preferences
//   #/orders/<id> one order, live          #/signin, #/signup
//   #/today       staff: orders today

import { h } from './app/dom.js';
import { getLang, LANGS, setLang, t } from './app/i18n.js';
import { icon } from './app/icons.js';
import {
  currentUser, emit, endSession, loadChannels, on, pb, refreshAuth, startSession, unreadCount, updateUser,
} from './app/store.js';
import { loadShop, shop } from './app/shop.js';
import { dropScope, live, showError, signInRequired, toast } from './app/ui.js';
import { signinView, signupView } from './app/views/auth.js';
import { catalogueView } from './app/views/catalogue.js';
import { inboxView } from './app/views/inbox.js';
import { orderView, ordersView } from './app/views/orders.js';
import { browserTimezone, refreshPushState, settingsView } from './app/views/settings.js';
import { todayView } from './app/views/today.js';

const NEXT_KEY = 'shop.next';

const views = {
  catalogue: catalogueView,
  orders: ordersView,
  order: orderView,
  inbox: inboxView,
  settings: settingsView,
  today: todayView,
  signin: signinView(onSignedIn),
  signup: signupView(onSignedIn),
};

function parseRoute() {
  const path = location.hash.replace(/^#\/?/, '').split('?')[0];
  const [first, second] = path.split('/').filter(Boolean).map((part) => {
    try {
      return decodeURIComponent(part);
    } catch (_) {
      return part;
    }
  });
  if (first === 'orders' && second) return { name: 'order', params: { id: second } };
  if (first && views[first] && first !== 'order') return { name: first, params: {} };
  return { name: 'catalogue', params: {} };
}

// ---- header --------------------------------------------------------------

function navLink(route, current, href, iconName, label, extra) {
  const active = current === route || (route === 'orders' && current === 'order');
  return h('li', null, h('a', {
    class: ['nav-link', active && 'is-active'],
    href, id: `nav-${route}`, 'data-testid': `nav-${route}`,
    'aria-current': active ? 'page' : null,
  }, icon(iconName, 'icon nav-icon'), h('span', { class: 'nav-label' }, label), extra || null));
}

function header() {
  const route = parseRoute().name;
  const user = currentUser();
  const unread = user ? unreadCount() : 0;
  const badge = h('span', {
    class: 'badge', 'data-testid': 'unread-badge', hidden: unread === 0, 'aria-hidden': 'true',
  }, String(unread));
  const unreadText = unread ? h('span', { class: 'visually-hidden' }, `, ${t('nav.unread', { n: unread })}`) : null;
  return h('div', { class: 'header-inner' },
    h('a', { class: 'brand', href: '#/', 'data-testid': 'brand' },
      icon('logo', 'brand-logo'),
      h('span', { class: 'brand-text' },
        h('span', { class: 'brand-name', 'data-testid': 'brand-name' }, shop.name),
        h('span', { class: 'brand-tag' }, t('tagline')))),
    h('nav', { class: 'main-nav', 'aria-label': t('nav.main') },
      h('ul', null,
        navLink('catalogue', route, '#/', 'catalogue', t('nav.catalogue')),
        navLink('orders', route, '#/orders', 'orders', t('nav.orders')),
        navLink('inbox', route, '#/inbox', 'inbox', t('nav.inbox'), [badge, unreadText]),
        navLink('settings', route, '#/settings', 'settings', t('nav.settings')),
        user && user.staff ? navLink('today', route, '#/today', 'orders', t('nav.today')) : null)),
    h('div', { class: 'header-tools' },
      h('div', { class: 'lang-switch', role: 'group', 'aria-label': t('nav.language') },
        LANGS.map((code) => h('button', {
          type: 'button', class: 'lang-btn', id: `lang-${code}`, lang: code, 'data-testid': `lang-${code}`,
          'aria-pressed': String(getLang() === code),
          'aria-label': code === 'ru' ? 'Русский' : 'English',
          onClick: () => changeLanguage(code),
        }, code.toUpperCase()))),
      user
        ? h('div', { class: 'account' },
          h('span', { class: 'account-name', 'data-testid': 'account-name' }, user.name || user.email),
          h('button', { type: 'button', class: 'btn btn-ghost btn-sm', id: 'signout', 'data-testid': 'signout', onClick: signOut },
            icon('signout'), h('span', { class: 'signout-label' }, t('nav.signout'))))
        : h('a', { class: 'btn btn-primary btn-sm signin-link', href: '#/signin', id: 'signin-link', 'data-testid': 'signin-link' },
          icon('user'), h('span', { class: 'signin-label' }, t('nav.signin')))));
}

// ---- routing -------------------------------------------------------------

function render({ focus = false } = {}) {
  dropScope();
  const route = parseRoute();
  const view = views[route.name];
  setTitle(view);
  document.body.dataset.route = route.name;
  const main = document.getElementById('main');
  let content;
  if (view.auth && !currentUser()) {
    sessionStorage.setItem(NEXT_KEY, location.hash || '#/');
    content = signInRequired();
  } else {
    content = view.render(route.params, { changeLanguage });
  }
  main.replaceChildren(...[content].flat().filter(Boolean));
  if (focus) {
    window.scrollTo(0, 0);
    const title = main.querySelector('.page-title');
    if (title) title.focus({ preventScroll: true });
  }
}

function setTitle(view = views[parseRoute().name]) {
  document.title = shop.name ? `${view.title()} · ${shop.name}` : view.title();
}

// ---- session -------------------------------------------------------------

async function changeLanguage(code) {
  if (!setLang(code)) return;
  emit('lang');
  render();
  loadShop(); // the shop's name in this language, if the owner gave one
  const user = currentUser();
  if (user && user.locale !== code) {
    try {
      await updateUser({ locale: code }); // messages come in this language from now on
    } catch (err) {
      showError(err);
    }
  }
}

async function onSignedIn() {
  const user = currentUser();
  if (user && user.locale && setLang(user.locale)) {
    emit('lang');
    loadShop();
  }
  // Realtime and the lists load in the background; the customer goes on at
  // once (and is not sent back here if they click elsewhere meanwhile).
  startSession().catch(showError);
  toast(t('auth.welcome', { name: user.name || user.email }), 'success');
  rememberTimezone();
  const next = sessionStorage.getItem(NEXT_KEY) || '#/';
  sessionStorage.removeItem(NEXT_KEY);
  if (location.hash === next) render({ focus: true });
  else location.hash = next;
  syncPush();
}

async function signOut() {
  // Notifications about this account should not reach a signed-out browser.
  const push = window.shopPush;
  try {
    if (push && push.supported() && await push.isEnabled()) await push.disable({ token: pb.authStore.token });
  } catch (err) {
    console.warn('could not turn off notifications in this browser:', err);
  }
  await endSession();
  toast(t('auth.signedOut'));
  location.hash = '#/';
}

// A customer who has not chosen a timezone gets this browser's, so that
// reminders and greetings come at their local hours; Settings changes it.
function rememberTimezone() {
  const user = currentUser();
  const zone = browserTimezone();
  if (user && !user.timezone && zone) updateUser({ timezone: zone }).catch((err) => console.warn('timezone:', err));
}

// Web push: register the worker early; when this browser is subscribed,
// save the subscription again after sign-in (it follows a key rotation on
// the server and subscriptions the browser renewed by itself).
async function syncPush() {
  const push = window.shopPush;
  if (!push || !push.supported()) return;
  try {
    if (!(await loadChannels()).includes('webpush')) return; // the shop runs no push
    await push.register();
    if (currentUser() && push.permission() === 'granted' && await push.isEnabled()) {
      await push.enable({ token: pb.authStore.token });
      refreshPushState();
    }
  } catch (err) {
    console.warn('web push:', err);
  }
}

async function boot() {
  document.documentElement.lang = getLang();
  const user = currentUser();
  if (user && user.locale) setLang(user.locale);

  document.getElementById('header').replaceChildren(
    live(['auth', 'user', 'lang', 'route', 'messages', 'shop'], header, { permanent: true }));
  const footer = document.getElementById('footer');
  const paintFooter = () => footer.replaceChildren(h('p', { 'data-testid': 'footer' },
    [shop.name, t('footer.since')].filter(Boolean).join(' · '),
    shop.email ? [' · ', h('a', { href: `mailto:${shop.email}`, 'data-testid': 'shop-email' }, shop.email)] : null,
    shop.phone ? ` · ${shop.phone}` : null));
  paintFooter();
  on(['lang', 'shop'], paintFooter);
  on('shop', () => setTitle());
  loadShop();
  on('auth', () => render());
  window.addEventListener('hashchange', () => {
    emit('route');
    render({ focus: true });
  });
  document.getElementById('skip-link').addEventListener('click', (event) => {
    event.preventDefault();
    document.getElementById('main').focus();
  });

  if (user) startSession().catch(showError);
  render();

  if (user) {
    const valid = await refreshAuth();
    if (!valid) await endSession();
    else {
      emit('user');
      rememberTimezone();
    }
  }
  syncPush();
}

boot();
