// #/settings: profile, language, channels (Telegram, web push) and the
// notification preferences matrix.

import { h } from '../dom.js';
import { dateOnly, getLang, LANGS, t } from '../i18n.js';
import { channelIcon, icon } from '../icons.js';
import { currentUser, emit, loadChannels, loadDevices, loadTelegram, offers, pb, state, updateUser } from '../store.js';
import { errorMessage, live, showError, spinner, toast } from '../ui.js';

export const ALL_CHANNELS = ['email', 'telegram', 'webpush', 'inbox'];
export const CATEGORIES = ['security', 'transactional', 'service', 'marketing'];

// ---- profile -------------------------------------------------------------

function profileCard(changeLanguage) {
  const user = currentUser();
  const name = h('input', { id: 'profile-name', name: 'name', type: 'text', value: user.name || '', autocomplete: 'name', maxlength: '255' });
  const phone = h('input', { id: 'profile-phone', name: 'phone', type: 'tel', value: user.phone || '', autocomplete: 'tel', maxlength: '32' });
  const timezone = timezoneSelect(user.timezone || browserTimezone());
  const birthday = h('input', {
    id: 'profile-birthday', name: 'birthday', type: 'date', value: String(user.birthday || '').slice(0, 10),
    min: '1900-01-01', max: new Date().toISOString().slice(0, 10), autocomplete: 'bday',
    'aria-describedby': 'profile-birthday-hint', 'data-testid': 'profile-birthday',
  });
  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'profile-save' }, t('settings.save'));
  const form = h('form', { class: 'form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'profile-name' }, t('settings.name')), name),
    h('div', { class: 'field' }, h('label', { for: 'profile-email' }, t('settings.email')),
      h('input', { id: 'profile-email', type: 'email', value: user.email || '', readonly: true })),
    h('div', { class: 'field' }, h('label', { for: 'profile-phone' }, t('settings.phone')), phone),
    h('div', { class: 'field' }, h('label', { for: 'profile-timezone' }, t('settings.timezone')), timezone,
      h('p', { class: 'hint', id: 'profile-timezone-hint' }, t('settings.timezoneHint'))),
    h('div', { class: 'field' }, h('label', { for: 'profile-birthday' }, t('settings.birthday')), birthday,
      h('p', { class: 'hint', id: 'profile-birthday-hint' }, t('settings.birthdayHint'))),
    h('fieldset', { class: 'field segmented-field' },
      h('legend', null, t('settings.language')),
      h('div', { class: 'segmented' }, LANGS.map((code) => h('label', { class: 'segment' },
        h('input', {
          type: 'radio', name: 'locale', value: code, id: `profile-locale-${code}`, checked: getLang() === code,
          'data-testid': `profile-locale-${code}`,
          onChange: () => changeLanguage(code),
        }),
        h('span', null, code === 'ru' ? 'Русский' : 'English'))))),
    h('div', { class: 'actions' }, save));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    save.disabled = true;
    try {
      await updateUser({
        name: name.value.trim(), phone: phone.value.trim(), timezone: timezone.value,
        // A date without a time: midnight UTC, the calendar day as entered.
        birthday: birthday.value ? `${birthday.value} 00:00:00.000Z` : '',
      });
      toast(t('settings.saved'), 'success');
    } catch (err) {
      showError(err);
    } finally {
      save.disabled = false;
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'profile-title' },
    h('h2', { class: 'section-title', id: 'profile-title' }, icon('user'), t('settings.profile')),
    form);
}

/** The browser's IANA timezone, e.g. "Europe/Moscow" ('' if unknown). */
export function browserTimezone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || '';
  } catch (_) {
    return '';
  }
}

// Every IANA timezone the browser knows, the chosen one selected (kept even
// if this browser does not list it).
function timezoneSelect(current) {
  let zones = [];
  try {
    zones = Intl.supportedValuesOf('timeZone');
  } catch (_) { /* an older browser: the current zone and UTC */ }
  zones = [...new Set([...zones, current, 'UTC'].filter(Boolean))].sort();
  return h('select', {
    id: 'profile-timezone', name: 'timezone', 'aria-describedby': 'profile-timezone-hint', 'data-testid': 'profile-timezone',
  }, zones.map((zone) => h('option', { value: zone, selected: zone === current }, zone.replace(/_/g, ' '))));
}

// ---- channels ------------------------------------------------------------

function channelCard(channel, ...body) {
  return h('article', { class: 'channel-card', 'data-testid': `channel-${channel}` },
    h('h3', { class: 'channel-title' }, h('span', { class: `channel-badge ch-${channel}` }, channelIcon(channel)), t(`channel.${channel}`)),
    ...body);
}

async function connectTelegram(button) {
  // Open the window now, inside the click, so that it is not blocked as a
  // pop-up; send it to the bot once the server answered.
  const popup = window.open('', '_blank');
  button.disabled = true;
  try {
    const { url } = await pb.send('/api/notify/telegram/link', { method: 'POST' });
    const safe = /^https:\/\//.test(url) ? url : '';
    if (!safe) throw new Error(t('error.generic'));
    if (popup && !popup.closed) {
      popup.opener = null;
      popup.location.href = safe;
    } else {
      toast(t('tg.popup', { url: safe }));
    }
    state.telegram.waiting = true;
    emit('telegram');
  } catch (err) {
    if (popup && !popup.closed) popup.close();
    if (err && err.status === 503) {
      state.telegram.unavailable = true;
      emit('telegram');
      toast(t('tg.unavailable'), 'error');
    } else {
      showError(err);
    }
  } finally {
    button.disabled = false;
  }
}

async function disconnectTelegram(button) {
  const link = state.telegram.link;
  if (!link) return;
  button.disabled = true;
  try {
    await pb.collection('notifyTelegramLinks').delete(link.id);
    state.telegram.link = null;
    emit('telegram');
    toast(t('tg.disconnected'), 'success');
  } catch (err) {
    showError(err);
    button.disabled = false;
  }
}

function telegramBody() {
  const tg = state.telegram;
  if (!tg.loaded) return spinner();
  const link = tg.link;
  const parts = [h('p', { class: 'muted small' }, t('tg.desc'))];
  if (link && link.active) {
    parts.push(h('p', { class: 'state state-on', 'data-testid': 'tg-status', 'data-state': 'connected' },
      link.username ? t('tg.connectedAs', { username: link.username }) : t('tg.connected')));
    parts.push(h('button', {
      type: 'button', class: 'btn btn-ghost btn-sm', id: 'tg-disconnect', 'data-testid': 'tg-disconnect',
      onClick: (e) => disconnectTelegram(e.currentTarget),
    }, t('tg.disconnect')));
    return parts;
  }
  if (tg.unavailable) {
    parts.push(h('p', { class: 'state state-off', 'data-testid': 'tg-status', 'data-state': 'unavailable' }, t('tg.unavailable')));
    return parts;
  }
  if (link && !link.active) parts.push(h('p', { class: 'state state-warn', 'data-testid': 'tg-status', 'data-state': 'inactive' }, t('tg.inactive')));
  else if (tg.waiting) parts.push(h('p', { class: 'state state-wait', 'data-testid': 'tg-status', 'data-state': 'waiting', role: 'status' }, t('tg.waiting')));
  parts.push(h('button', {
    type: 'button', class: 'btn btn-primary btn-sm', id: 'tg-connect', 'data-testid': 'tg-connect',
    onClick: (e) => connectTelegram(e.currentTarget),
  }, t('tg.connect')));
  if (link && !link.active) {
    parts.push(h('button', {
      type: 'button', class: 'btn btn-ghost btn-sm', id: 'tg-disconnect', 'data-testid': 'tg-disconnect',
      onClick: (e) => disconnectTelegram(e.currentTarget),
    }, t('tg.disconnect')));
  }
  return parts;
}

// Web push, through /push.js (window.shopPush).

export async function refreshPushState() {
  const push = window.shopPush;
  let next;
  if (!push || !push.supported()) next = 'unsupported';
  else if (push.permission() === 'denied') next = 'blocked';
  else next = (await push.isEnabled().catch(() => false)) ? 'on' : 'off';
  state.push.state = next;
  emit('push');
}

// push.js explains every failure in English. The ones that depend only on
// the browser are said here in the page's language; the others carry the
// server's answer and are shown as they are.
const PUSH_ERRORS = { denied: 'push.err.denied', dismissed: 'push.err.dismissed', 'signed-out': 'push.err.signed-out', unsupported: 'push.unsupported' };

function pushErrorText(err) {
  if (err && PUSH_ERRORS[err.code]) return t(PUSH_ERRORS[err.code]);
  return (err && err.message) || t('error.generic');
}

function togglePush(button) {
  const push = window.shopPush;
  const turnOn = state.push.state !== 'on';
  const token = pb.authStore.token;
  // enable() asks for permission: it must be the first thing the click does.
  const job = turnOn ? push.enable({ token }) : push.disable({ token });
  button.disabled = true;
  state.push.busy = true;
  job.then(() => {
    toast(t(turnOn ? 'push.enabled' : 'push.disabled'), 'success');
  }, (err) => {
    toast(pushErrorText(err), 'error');
  }).finally(() => {
    state.push.busy = false;
    refreshPushState();
    loadDevices().catch(() => {});
  });
}

function deviceName(device) {
  const ua = device.userAgent || '';
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrome\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : '';
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Windows/.test(ua) ? 'Windows' : /Mac OS X/.test(ua) ? 'macOS' : /Linux/.test(ua) ? 'Linux' : '';
  const name = [browser, os].filter(Boolean).join(', ');
  if (name) return name;
  try {
    return new URL(device.endpoint).host;
  } catch (_) {
    return '—';
  }
}

async function removeDevice(device, button) {
  button.disabled = true;
  try {
    await pb.collection('notifyPushSubscriptions').delete(device.id);
    await loadDevices();
    await refreshPushState();
  } catch (err) {
    showError(err);
    button.disabled = false;
  }
}

function pushBody() {
  const s = state.push.state;
  const parts = [h('p', { class: 'muted small' }, t('push.desc'))];
  if (s === 'unknown') return [...parts, spinner()];
  const label = { unsupported: 'push.unsupported', blocked: 'push.blocked', on: 'push.on', off: 'push.off' }[s];
  parts.push(h('p', { class: ['state', s === 'on' ? 'state-on' : s === 'off' ? 'state-neutral' : 'state-off'], 'data-testid': 'push-status', 'data-state': s }, t(label)));
  if (s === 'on' || s === 'off') {
    parts.push(h('button', {
      type: 'button', class: ['btn', 'btn-sm', s === 'on' ? 'btn-ghost' : 'btn-primary'], id: 'push-toggle', 'data-testid': 'push-toggle',
      disabled: state.push.busy,
      onClick: (e) => togglePush(e.currentTarget),
    }, t(s === 'on' ? 'push.disable' : 'push.enable')));
  }
  return parts;
}

function devicesBody() {
  if (!state.devices.loaded || !state.devices.list.length) return null;
  return [
    h('h4', { class: 'devices-title' }, t('push.devices')),
    h('ul', { class: 'devices', 'data-testid': 'push-devices' }, state.devices.list.map((d) => h('li', { class: 'device' },
      h('span', null, deviceName(d), ' ', h('span', { class: 'muted small' }, t('push.since', { date: dateOnly(d.created) }))),
      h('button', {
        type: 'button', class: 'btn-icon', id: `device-${d.id}`,
        'aria-label': t('push.removeDevice', { name: deviceName(d) }),
        onClick: (e) => removeDevice(d, e.currentTarget),
      }, icon('trash'))))),
  ];
}

// Only the channels the shop runs are offered: no "Connect Telegram"
// without a bot, no push without a VAPID subject.
function channelCards() {
  if (!state.channels.loaded) return spinner();
  const user = currentUser();
  return [
    offers('email') ? channelCard('email', h('p', { class: 'muted small' }, t('email.desc', { email: user.email }))) : null,
    offers('telegram') ? channelCard('telegram', live(['telegram', 'lang'], telegramBody, { props: { class: 'channel-body' } })) : null,
    offers('webpush') ? channelCard('webpush',
      live(['push', 'lang'], pushBody, { props: { class: 'channel-body' } }),
      live(['devices', 'lang'], devicesBody)) : null,
    offers('inbox') ? channelCard('inbox', h('p', { class: 'muted small' }, t('inboxChannel.desc'))) : null,
  ];
}

function channelsCard() {
  return h('section', { class: 'card', 'aria-labelledby': 'channels-title' },
    h('h2', { class: 'section-title', id: 'channels-title' }, icon('inbox'), t('settings.channels')),
    live(['channels', 'lang'], channelCards, { props: { class: 'channel-grid' } }));
}

// ---- preferences ---------------------------------------------------------

function prefsOf(user) {
  const raw = user && user.notifyPrefs;
  return raw && typeof raw === 'object' && !Array.isArray(raw) ? raw : {};
}

function isOn(prefs, channel, category) {
  return !(prefs[channel] && prefs[channel][category] === false);
}

/** Prefs with one switch changed; only what is off is written down. */
function withSwitch(prefs, channel, category, on) {
  const next = JSON.parse(JSON.stringify(prefs));
  if (on) {
    if (next[channel]) {
      delete next[channel][category];
      if (!Object.keys(next[channel]).length) delete next[channel];
    }
  } else {
    next[channel] = { ...(next[channel] || {}), [category]: false };
  }
  return next;
}

let prefsError = '';

async function toggle(channel, category, input) {
  const user = currentUser();
  const next = withSwitch(prefsOf(user), channel, category, input.checked);
  input.disabled = true;
  try {
    await updateUser({ notifyPrefs: next });
    prefsError = '';
  } catch (err) {
    input.checked = !input.checked;
    prefsError = errorMessage(err);
    showError(err);
  } finally {
    input.disabled = false;
    emit('user');
  }
}

function prefsMatrix() {
  if (!state.channels.loaded) return spinner();
  const prefs = prefsOf(currentUser());
  const CHANNELS = ALL_CHANNELS.filter(offers);
  return [
    h('table', { class: 'prefs', 'data-testid': 'prefs-matrix' },
      h('caption', { class: 'visually-hidden' }, t('settings.prefs')),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, t('settings.category')),
        CHANNELS.map((ch) => h('th', { scope: 'col', class: 'prefs-channel' }, channelIcon(ch, 'icon prefs-icon'), h('span', null, t(`channel.${ch}`)))))),
      h('tbody', null, CATEGORIES.map((cat) => h('tr', { 'data-category': cat },
        h('th', { scope: 'row', class: 'prefs-category' },
          h('span', { class: 'prefs-cat-name' }, t(`cat.${cat}`)),
          h('span', { class: 'prefs-cat-hint muted small' }, t(`cat.${cat}.hint`))),
        CHANNELS.map((ch) => {
          const id = `pref-${ch}-${cat}`;
          return h('td', { class: 'prefs-cell', 'data-label': t(`channel.${ch}`) },
            h('label', { class: 'switch', for: id },
              h('input', {
                type: 'checkbox', role: 'switch', id, 'data-testid': id,
                checked: isOn(prefs, ch, cat),
                'aria-label': t('settings.toggle', { category: t(`cat.${cat}`), channel: t(`channel.${ch}`) }),
                onChange: (e) => toggle(ch, cat, e.currentTarget),
              }),
              h('span', { class: 'switch-track', 'aria-hidden': 'true' }, h('span', { class: 'switch-thumb' })),
              h('span', { class: 'switch-label', 'aria-hidden': 'true' }, t(`channel.${ch}`))));
        }))))),
    prefsError ? h('p', { class: 'form-error', role: 'alert', 'data-testid': 'prefs-error' }, prefsError) : null,
  ];
}

function prefsCard() {
  return h('section', { class: 'card', 'aria-labelledby': 'prefs-title' },
    h('h2', { class: 'section-title', id: 'prefs-title' }, icon('settings'), t('settings.prefs')),
    h('p', { class: 'muted small' }, t('settings.prefsHint')),
    live(['user', 'lang', 'channels'], prefsMatrix, { props: { class: 'prefs-wrap' } }));
}

export const settingsView = {
  name: 'settings',
  auth: true,
  title: () => t('nav.settings'),
  render(_params, { changeLanguage }) {
    prefsError = '';
    loadChannels().catch(showError);
    if (!state.telegram.loaded) loadTelegram().catch(showError);
    if (!state.devices.loaded) loadDevices().catch(showError);
    refreshPushState();
    return [
      h('div', { class: 'page-head' }, h('h1', { class: 'page-title', tabindex: '-1' }, t('settings.title'))),
      h('div', { class: 'settings-grid' },
        prefsCard(),
        channelsCard(),
        live(['lang'], () => profileCard(changeLanguage), { props: { class: 'settings-profile' } })),
    ];
  },
};
