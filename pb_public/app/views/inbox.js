// #/inbox: in-app messages, newest first, live.

import { h } from '../dom.js';
import { dateTime, t } from '../i18n.js';
import { icon } from '../icons.js';
import { inboxMessages, loadInbox, markRead, state } from '../store.js';
import { emptyState, live, messageHref, showError, spinner } from '../ui.js';

async function read(ids, button) {
  if (!ids.length) return;
  if (button) button.disabled = true;
  try {
    await markRead(ids);
  } catch (err) {
    showError(err);
    if (button) button.disabled = false;
  }
}

function messageItem(m) {
  const unread = !m.readAt;
  const href = messageHref(m.link);
  // A signed link (/r/…) is the shop's own: it redirects to the page the
  // message is about, in this tab, and counts the click.
  const external = href && !href.startsWith('#') && !href.startsWith(`${location.origin}/r/`);
  return h('li', {
    class: ['message', 'card', unread && 'is-unread'],
    'data-testid': 'inbox-message', 'data-unread': String(unread), 'data-id': m.id,
  },
  h('div', { class: 'message-head' },
    unread ? h('span', { class: 'unread-dot', title: t('inbox.unread') }, h('span', { class: 'visually-hidden' }, t('inbox.unread'))) : null,
    h('h2', { class: 'message-subject', 'data-testid': 'message-subject' }, m.subject),
    h('time', { class: 'muted small message-time', datetime: String(m.sentAt || m.created).replace(' ', 'T') }, dateTime(m.sentAt || m.created))),
  m.body ? h('p', { class: 'message-body' }, m.body) : null,
  h('div', { class: 'message-actions' },
    href ? h('a', {
      class: 'btn btn-ghost btn-sm', href,
      target: external ? '_blank' : null, rel: external ? 'noopener noreferrer' : null,
      onClick: () => { if (unread) read([m.id]); },
    }, t('inbox.open')) : null,
    unread ? h('button', {
      type: 'button', class: 'btn btn-ghost btn-sm', id: `read-${m.id}`, 'data-testid': 'mark-read',
      'data-focus-next': 'mark-all-read',
      onClick: (e) => read([m.id], e.currentTarget),
    }, icon('check'), t('inbox.markRead')) : null));
}

export const inboxView = {
  name: 'inbox',
  auth: true,
  title: () => t('nav.inbox'),
  render() {
    if (!state.inboxLoaded) loadInbox().catch(showError);
    return h('div', { class: 'inbox-page' },
      live(['messages', 'lang'], () => {
        const unread = inboxMessages().filter((m) => !m.readAt);
        return [
          h('h1', { class: 'page-title', tabindex: '-1' }, t('inbox.title')),
          h('button', {
            type: 'button', class: 'btn btn-ghost btn-sm', id: 'mark-all-read', 'data-testid': 'mark-all-read',
            disabled: unread.length === 0,
            onClick: (e) => read(unread.map((m) => m.id), e.currentTarget),
          }, icon('check'), t('inbox.markAllRead')),
        ];
      }, { props: { class: 'page-head' } }),
      live(['messages', 'lang'], () => {
        if (!state.inboxLoaded) return spinner();
        const list = inboxMessages();
        if (!list.length) return emptyState(t('inbox.empty'));
        return h('ul', { class: 'message-list', 'data-testid': 'inbox-list' }, list.map(messageItem));
      }));
  },
};
