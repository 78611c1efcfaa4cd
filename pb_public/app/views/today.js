// #/today: the staff's "Orders today": every customer's orders placed since
// midnight here, their count and sum, live. Only staff (users.staff) see
// the link; the server lets only them read other customers' orders.

import { h } from '../dom.js';
import { dateTime, money, t } from '../i18n.js';
import { currentUser, loadTodayOrders, state } from '../store.js';
import { emptyState, itemsSummary, live, showError, spinner, statusPill } from '../ui.js';

function todayOrders() {
  return [...state.today.orders.values()]
    .filter((o) => o.status !== 'cancelled')
    .sort((a, b) => (b.number || 0) - (a.number || 0));
}

/** The sum per currency, e.g. "₽5,380" or "₽5,380 · $20". */
function sums(orders) {
  const by = new Map();
  for (const o of orders) by.set(o.currency || 'RUB', (by.get(o.currency || 'RUB') || 0) + (Number(o.total) || 0));
  if (!by.size) return money(0);
  return [...by].map(([currency, total]) => money(total, currency)).join(' · ');
}

function todayRow(order) {
  return h('li', { class: 'today-row card', 'data-testid': 'today-order', 'data-number': order.number },
    h('div', { class: 'order-card-head' },
      h('a', { class: 'order-number', href: `#/orders/${encodeURIComponent(order.id)}` }, t('orders.order', { n: order.number })),
      statusPill(order.status)),
    h('p', { class: 'muted small' }, dateTime(order.created), order.address ? ` · ${order.address}` : ''),
    h('div', { class: 'order-card-foot' },
      h('span', { class: 'order-items' }, itemsSummary(order)),
      h('strong', { class: 'order-total' }, money(order.total, order.currency))));
}

export const todayView = {
  name: 'today',
  auth: true,
  title: () => t('today.title'),
  render() {
    if (!currentUser().staff) return emptyState(t('today.staffOnly'), h('a', { class: 'btn btn-primary', href: '#/' }, t('orders.emptyCta')));
    loadTodayOrders().catch(showError);
    return [
      h('div', { class: 'page-head' }, h('h1', { class: 'page-title', tabindex: '-1' }, t('today.title'))),
      live(['today', 'lang'], () => {
        if (!state.today.loaded) return spinner();
        const orders = todayOrders();
        return [
          h('p', { class: 'today-summary', 'data-testid': 'today-summary' },
            t('today.count'), ' ', h('strong', { 'data-testid': 'today-count' }, String(orders.length)),
            ' · ', t('today.sum'), ' ', h('strong', { 'data-testid': 'today-sum' }, sums(orders))),
          orders.length
            ? h('ul', { class: 'order-list', 'data-testid': 'today-list' }, orders.map(todayRow))
            : h('p', { class: 'muted' }, t('today.empty')),
        ];
      }),
    ];
  },
};
