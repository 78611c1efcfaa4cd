// #/ : the catalogue, the cart and checkout.

import { h } from '../dom.js';
import { getLang, money, plural, t } from '../i18n.js';
import { icon, productArt } from '../icons.js';
import { PRODUCTS, productById } from '../products.js';
import { cart, clearCart, currentUser, pb, setQty, upsertOrder } from '../store.js';
import { live, showError, toast } from '../ui.js';

const ADDRESS_KEY = 'shop.address';

function cartLines() {
  return Object.entries(cart)
    .map(([id, qty]) => ({ product: productById(id), qty }))
    .filter((line) => line.product && line.qty > 0);
}

function cartTotals() {
  const lines = cartLines();
  return {
    lines,
    count: lines.reduce((n, l) => n + l.qty, 0),
    total: lines.reduce((sum, l) => sum + l.qty * l.product.price, 0),
  };
}

function qtyControl(product, qty, where) {
  const name = product.name[getLang()];
  return h('div', { class: 'qty', role: 'group', 'aria-label': t('catalogue.qty', { name }) },
    h('button', {
      type: 'button', class: 'qty-btn', id: `${where}-dec-${product.id}`,
      'data-focus-next': where === 'card' ? `add-${product.id}` : null,
      'aria-label': t('catalogue.decrease', { name }), 'data-testid': `${where}-dec-${product.id}`,
      onClick: () => setQty(product.id, qty - 1),
    }, icon('minus')),
    h('output', { class: 'qty-value', 'data-testid': `${where}-qty-${product.id}`, 'aria-live': 'polite' }, String(qty)),
    h('button', {
      type: 'button', class: 'qty-btn', id: `${where}-inc-${product.id}`,
      'aria-label': t('catalogue.increase', { name }), 'data-testid': `${where}-inc-${product.id}`,
      onClick: () => setQty(product.id, qty + 1),
    }, icon('plus')));
}

function productCard(product) {
  const lang = getLang();
  const qty = cart[product.id] || 0;
  return h('li', { class: 'product-card', 'data-testid': `product-${product.id}` },
    h('div', { class: `product-media media-${product.id}` }, productArt(product.id)),
    h('div', { class: 'product-body' },
      h('p', { class: 'product-kind' }, product.kind[lang]),
      h('h3', { class: 'product-name' }, product.name[lang]),
      h('p', { class: 'product-text' }, product.text[lang]),
      h('div', { class: 'product-buy' },
        h('span', { class: 'price' }, money(product.price)),
        qty > 0
          ? qtyControl(product, qty, 'card')
          : h('button', {
            type: 'button', class: 'btn btn-primary btn-sm', id: `add-${product.id}`,
            'data-focus-next': `card-inc-${product.id}`, 'data-testid': `add-${product.id}`,
            onClick: () => setQty(product.id, 1),
          }, t('catalogue.add')))));
}

function cartPanel(openCheckout) {
  const lang = getLang();
  const { lines, count, total } = cartTotals();
  const signedIn = Boolean(currentUser());
  return [
    h('h2', { class: 'cart-title', id: 'cart-title' }, icon('cart'), t('cart.title'),
      count ? h('span', { class: 'cart-count' }, plural('cart.items', count)) : null),
    lines.length === 0
      ? h('p', { class: 'muted cart-empty' }, t('cart.empty'))
      : h('ul', { class: 'cart-lines' }, lines.map(({ product, qty }) =>
        h('li', { class: 'cart-line', 'data-testid': `cart-line-${product.id}` },
          h('div', { class: 'cart-line-main' },
            h('span', { class: 'cart-line-name' }, product.name[lang]),
            h('span', { class: 'cart-line-price' }, money(product.price * qty))),
          h('div', { class: 'cart-line-tools' },
            qtyControl(product, qty, 'cart'),
            h('button', {
              type: 'button', class: 'btn-icon', id: `cart-remove-${product.id}`,
              'aria-label': t('cart.remove', { name: product.name[lang] }),
              onClick: () => setQty(product.id, 0),
            }, icon('trash')))))),
    lines.length ? h('div', { class: 'cart-total' },
      h('span', null, t('cart.total')),
      h('strong', { 'data-testid': 'cart-total' }, money(total))) : null,
    lines.length
      ? (signedIn
        ? h('button', { type: 'button', class: 'btn btn-primary btn-block', id: 'place-order', 'data-testid': 'place-order', onClick: openCheckout }, t('cart.placeOrder'))
        : h('a', { class: 'btn btn-primary btn-block', href: '#/signin', 'data-testid': 'signin-to-order', onClick: () => sessionStorage.setItem('shop.next', '#/') }, t('cart.signinToOrder')))
      : null,
  ];
}

function checkoutDialog() {
  const address = h('textarea', {
    id: 'address', name: 'address', rows: '3', required: true, maxlength: '500',
    autocomplete: 'street-address', 'aria-describedby': 'address-hint', 'data-testid': 'address-input',
  });
  const summary = h('p', { class: 'muted', id: 'checkout-summary' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'confirm-order' }, t('checkout.confirm'));
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'checkout-title', 'data-testid': 'checkout-dialog' });
  const form = h('form', { class: 'dialog-body', method: 'dialog' },
    h('h2', { id: 'checkout-title' }, t('checkout.title')),
    summary,
    h('label', { for: 'address' }, t('checkout.address')),
    address,
    h('p', { class: 'hint', id: 'address-hint' }, t('checkout.addressHint')),
    h('div', { class: 'actions end' },
      h('button', { type: 'button', class: 'btn btn-ghost', onClick: () => dialog.close() }, t('checkout.cancel')),
      submit));
  dialog.append(form);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const user = currentUser();
    const { lines } = cartTotals();
    const value = address.value.trim();
    if (!user || !lines.length) {
      dialog.close();
      return;
    }
    if (!value) {
      address.focus();
      return;
    }
    submit.disabled = true;
    try {
      const order = await pb.collection('orders').create({
        customer: user.id,
        items: lines.map(({ product, qty }) => ({ name: product.name[getLang()], qty, price: product.price })),
        address: value,
      });
      try {
        localStorage.setItem(ADDRESS_KEY, value);
      } catch (_) { /* not remembered */ }
      upsertOrder(order);
      dialog.close();
      clearCart();
      toast(t('checkout.placed', { n: order.number }), 'success');
      location.hash = `#/orders/${order.id}`;
    } catch (err) {
      showError(err);
    } finally {
      submit.disabled = false;
    }
  });

  const open = () => {
    const { count, total } = cartTotals();
    summary.textContent = t('checkout.summary', { items: plural('cart.items', count), total: money(total) });
    if (!address.value) {
      try {
        address.value = localStorage.getItem(ADDRESS_KEY) || '';
      } catch (_) { /* nothing remembered */ }
    }
    dialog.showModal();
    address.focus();
  };
  return { dialog, open };
}

export const catalogueView = {
  name: 'catalogue',
  title: () => t('nav.catalogue'),
  render() {
    const checkout = checkoutDialog();
    const cartBox = live(['cart', 'auth', 'lang'], () => cartPanel(checkout.open), {
      tag: 'aside', props: { class: 'cart card', id: 'cart', 'aria-labelledby': 'cart-title', 'data-testid': 'cart' },
    });
    const cartBar = live(['cart', 'lang'], () => {
      const { count, total } = cartTotals();
      if (!count) return null;
      return h('a', { class: 'cart-bar', href: '#/', onClick: (e) => { e.preventDefault(); document.getElementById('cart').scrollIntoView({ behavior: 'smooth' }); } },
        icon('cart'), h('span', null, t('cart.view')), h('span', { class: 'cart-bar-count' }, String(count)), h('strong', null, money(total)));
    }, { props: { class: 'cart-bar-wrap' } });
    return [
      h('section', { class: 'hero' },
        h('div', { class: 'hero-text' },
          h('h1', { class: 'hero-title page-title', tabindex: '-1' }, t('hero.title')),
          h('p', null, t('hero.text'))),
        h('div', { class: 'hero-art', 'aria-hidden': 'true' }, productArt('sencha'), productArt('ethiopia'))),
      h('div', { class: 'shop-layout' },
        h('section', { class: 'catalogue', 'aria-labelledby': 'catalogue-title' },
          h('h2', { id: 'catalogue-title', class: 'section-title' }, t('catalogue.title')),
          live(['cart', 'lang'], () => PRODUCTS.map(productCard), { tag: 'ul', props: { class: 'product-grid', 'data-testid': 'catalogue' } })),
        cartBox),
      cartBar,
      checkout.dialog,
    ];
  },
};
