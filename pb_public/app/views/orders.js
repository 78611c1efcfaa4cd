// #/orders and #/orders/<id>: the customer's orders, live.

import { h } from '../dom.js';
import { dateOnly, dateTime, deliveryText, money, t } from '../i18n.js';
import { channelIcon, icon } from '../icons.js';
import { currentUser, emit, loadOrder, loadOrders, loadTimeline, orderMessages, sortedOrders, state } from '../store.js';
import {
  emptyState, itemsSummary, live, safeHttpUrl, showError, spinner, statusPill, stepper,
} from '../ui.js';

function orderCard(order) {
  return h('li', null,
    h('a', { class: 'order-card card', href: `#/orders/${encodeURIComponent(order.id)}`, 'data-testid': 'order-card', 'data-number': order.number },
      h('div', { class: 'order-card-head' },
        h('h2', { class: 'order-number' }, t('orders.order', { n: order.number })),
        statusPill(order.status)),
      h('p', { class: 'muted small' }, t('orders.placed', { date: dateOnly(order.created) })),
      h('p', { class: 'order-items' }, itemsSummary(order)),
      h('div', { class: 'order-card-foot' },
        stepper(order.status, { compact: true }),
        h('strong', { class: 'order-total' }, money(order.total, order.currency)))));
}

export const ordersView = {
  name: 'orders',
  auth: true,
  title: () => t('nav.orders'),
  render() {
    if (!state.ordersLoaded) loadOrders().catch(showError);
    return [
      h('div', { class: 'page-head' }, h('h1', { class: 'page-title', tabindex: '-1' }, t('orders.title'))),
      live(['orders', 'lang'], () => {
        if (!state.ordersLoaded) return spinner();
        const orders = sortedOrders();
        if (!orders.length) {
          return emptyState(t('orders.empty'), h('a', { class: 'btn btn-primary', href: '#/' }, t('orders.emptyCta')));
        }
        return h('ul', { class: 'order-list', 'data-testid': 'order-list' }, orders.map(orderCard));
      }),
    ];
  },
};

// ---- one order -----------------------------------------------------------

function trackingBox(order) {
  if (!order.trackingNumber && !order.trackingUrl) return null;
  const url = safeHttpUrl(order.trackingUrl);
  return h('div', { class: 'tracking', 'data-testid': 'tracking' },
    icon('truck', 'icon tracking-icon'),
    h('div', { class: 'tracking-text' },
      h('span', { class: 'muted small' }, t('orders.tracking')),
      h('code', { class: 'tracking-number', 'data-testid': 'tracking-number' }, order.trackingNumber || '—')),
    url ? h('a', {
      class: 'btn btn-primary btn-sm', href: url, target: '_blank', rel: 'noopener noreferrer', 'data-testid': 'track-link',
    }, t('orders.track'), icon('external')) : null);
}

function itemsTable(order) {
  const items = Array.isArray(order.items) ? order.items : [];
  return h('table', { class: 'items' },
    h('caption', { class: 'visually-hidden' }, t('orders.items')),
    h('tbody', null, items.map((item) => h('tr', null,
      h('th', { scope: 'row' }, item.name),
      h('td', { class: 'muted' }, t('orders.qtyPrice', { qty: item.qty, price: money(item.price, order.currency) })),
      h('td', { class: 'num' }, money((Number(item.qty) || 0) * (Number(item.price) || 0), order.currency))))),
    h('tfoot', null, h('tr', null,
      h('th', { scope: 'row', colspan: '2' }, t('orders.total')),
      h('td', { class: 'num', 'data-testid': 'order-total' }, money(order.total, order.currency)))));
}

// One entry per notification event: the rows a rule queued at once (one
// per channel) share the rule and the creation time.
function timelineGroups(orderId) {
  const groups = new Map();
  for (const m of orderMessages(orderId)) {
    const key = `${m.rule || m.template}|${String(m.created).slice(0, 19)}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(m);
  }
  const channelOrder = ['inbox', 'email', 'telegram', 'webpush'];
  return [...groups.values()]
    .map((rows) => rows.sort((a, b) => channelOrder.indexOf(a.channel) - channelOrder.indexOf(b.channel)))
    .sort((a, b) => String(b[0].created).localeCompare(String(a[0].created)));
}

function delivery(row) {
  return h('li', {
    class: ['delivery', `delivery-${row.status}`],
    'data-testid': 'delivery', 'data-channel': row.channel, 'data-status': row.status,
  }, channelIcon(row.channel, 'icon delivery-icon'), deliveryText(row.status, row.channel));
}

// Delivered (or pending, or failed) channels as chips; the channels it was
// not sent on, discreetly, on one line.
function deliveries(rows) {
  const quiet = (r) => r.status === 'skipped' || r.status === 'cancelled';
  const shown = rows.filter((r) => !quiet(r));
  const skipped = rows.filter(quiet);
  return [
    shown.length ? h('ul', { class: 'deliveries' }, shown.map((r) => delivery(r))) : null,
    skipped.length ? h('div', { class: 'deliveries-quiet' },
      h('span', null, t('delivery.notSentOn')),
      h('ul', { class: 'deliveries-quiet-list' }, skipped.map((r) => h('li', {
        class: ['delivery', `delivery-${r.status}`],
        'data-testid': 'delivery', 'data-channel': r.channel, 'data-status': r.status,
        title: deliveryText(r.status, r.channel),
      }, channelIcon(r.channel, 'icon delivery-icon'), t(`via.${r.channel}`))))) : null,
  ];
}

function timeline(orderId) {
  if (!state.timelines.has(orderId)) return spinner();
  const groups = timelineGroups(orderId);
  if (!groups.length) return h('p', { class: 'muted' }, t('orders.timelineEmpty'));
  return h('ol', { class: 'timeline', 'data-testid': 'timeline' }, groups.map((rows) => {
    const main = rows.find((r) => r.status === 'sent' && r.channel === 'inbox') || rows.find((r) => r.subject) || rows[0];
    const delivered = rows.some((r) => r.status === 'sent');
    const sentAt = rows.map((r) => r.sentAt).filter(Boolean).sort()[0];
    return h('li', { class: ['timeline-item', delivered ? 'is-sent' : 'is-quiet'], 'data-testid': 'timeline-item', 'data-template': main.template || '' },
      h('span', { class: 'timeline-dot', 'aria-hidden': 'true' }),
      h('div', { class: 'timeline-body' },
        h('p', { class: 'timeline-subject' }, main.subject || main.template || ''),
        h('p', { class: 'muted small' }, h('time', { datetime: String(sentAt || main.created).replace(' ', 'T') }, dateTime(sentAt || main.created))),
        deliveries(rows)));
  }));
}

function orderDetail(id) {
  const order = state.orders.get(id);
  if (!order) {
    return state.missing === id
      ? h('section', { class: 'card narrow', 'data-testid': 'order-missing' },
        h('h1', { class: 'page-title', tabindex: '-1' }, t('orders.notFound')),
        h('a', { class: 'btn btn-ghost', href: '#/orders' }, icon('back'), t('orders.back')))
      : spinner();
  }
  const stopped = order.status === 'cancelled' || order.status === 'returned';
  return h('div', { class: 'order-page', 'data-testid': 'order-page', 'data-order-id': order.id },
    h('a', { class: 'back-link', href: '#/orders' }, icon('back'), t('orders.back')),
    h('div', { class: 'order-grid' },
      h('section', { class: 'card order-main' },
        h('div', { class: 'order-head' },
          h('div', null,
            h('h1', { class: 'page-title order-title', tabindex: '-1', 'data-testid': 'order-number' }, t('orders.order', { n: order.number })),
            h('p', { class: 'muted small' }, t('orders.placed', { date: dateTime(order.created) }))),
          statusPill(order.status, { 'data-testid': 'order-status' })),
        stopped ? h('p', { class: `notice notice-${order.status}`, 'data-testid': 'order-notice' }, icon('alert'), t(`orders.${order.status}Note`)) : null,
        order.status === 'cancelled' ? null : stepper(order.status),
        trackingBox(order),
        h('h2', { class: 'section-title' }, t('orders.items')),
        itemsTable(order),
        order.address ? h('div', { class: 'address' },
          h('h2', { class: 'section-title' }, t('orders.address')),
          h('p', null, order.address)) : null),
      h('section', { class: 'card order-side', 'aria-labelledby': 'timeline-title' },
        h('h2', { class: 'section-title', id: 'timeline-title' }, t('orders.timeline')),
        timeline(order.id))));
}

export const orderView = {
  name: 'order',
  auth: true,
  title: () => t('nav.orders'),
  render({ id }) {
    if (!state.orders.has(id)) {
      loadOrder(id).catch((err) => {
        if (err && err.status === 404) {
          state.missing = id;
          emit('orders');
        } else {
          showError(err);
        }
      });
    }
    if (!state.timelines.has(id) && currentUser()) loadTimeline(id).catch(showError);
    return live(['orders', 'messages', 'lang'], () => orderDetail(id));
  },
};
