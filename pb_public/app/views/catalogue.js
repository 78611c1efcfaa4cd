// #/ : the catalogue, the cart and checkout.

import { h } from '../dom.js';
import { money, plural, t } from '../i18n.js';
import { icon, productArt } from '../icons.js';
import {
  catalogue, loadProducts, productById, productImage, productKey, productText,
} from '../products.js';
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
  const name = productText(product, 'name');
  const key = productKey(product);
  const stock = Number(product.stock) || 0;
  return h('div', { class: 'qty', role: 'group', 'aria-label': t('catalogue.qty', { name }) },
    h('button', {
      type: 'button', class: 'qty-btn', id: `${where}-dec-${key}`,
      'data-focus-next': where === 'card' ? `add-${key}` : null,
      'aria-label': t('catalogue.decrease', { name }), 'data-testid': `${where}-dec-${key}`,
      onClick: () => setQty(product.id, qty - 1),
    }, icon('minus')),
    h('output', { class: 'qty-value', 'data-testid': `${where}-qty-${key}`, 'aria-live': 'polite' }, String(qty)),
    h('button', {
      type: 'button', class: 'qty-btn', id: `${where}-inc-${key}`,
      'aria-label': t('catalogue.increase', { name }), 'data-testid': `${where}-inc-${key}`,
      disabled: qty >= stock, // no more than the shop has
      onClick: () => setQty(product.id, Math.min(qty + 1, stock)),
    }, icon('plus')));
}

function stockNote(product) {
  const stock = Number(product.stock) || 0;
  const [text, kind] = stock <= 0 ? [t('catalogue.soldOut'), 'out']
    : stock <= 5 ? [t('catalogue.stockLow', { n: stock }), 'low']
      : [t('catalogue.stock', { n: stock }), 'in'];
  return h('p', { class: ['product-stock', `stock-${kind}`], 'data-testid': `stock-${productKey(product)}`, 'data-stock': String(stock) }, text);
}

function productMedia(product) {
  const src = productImage(product);
  return h('div', { class: `product-media media-${productKey(product)}` },
    src ? h('img', { class: 'product-art product-photo', src, alt: '', loading: 'lazy', 'data-testid': `image-${productKey(product)}` })
      : productArt(product.slug));
}

function productCard(product) {
  const key = productKey(product);
  const qty = cart[product.id] || 0;
  const soldOut = (Number(product.stock) || 0) <= 0;
  return h('li', { class: 'product-card', 'data-testid': `product-${key}`, 'data-product': product.id },
    productMedia(product),
    h('div', { class: 'product-body' },
      h('p', { class: 'product-kind' }, productText(product, 'kind')),
      h('h3', { class: 'product-name', 'data-testid': `name-${key}` }, productText(product, 'name')),
      h('p', { class: 'product-text' }, productText(product, 'description')),
      stockNote(product),
      h('div', { class: 'product-buy' },
        h('span', { class: 'price', 'data-testid': `price-${key}` }, money(product.price, product.currency || 'RUB')),
        qty > 0
          ? qtyControl(product, qty, 'card')
          : h('button', {
            type: 'button', class: 'btn btn-primary btn-sm', id: `add-${key}`,
            'data-focus-next': `card-inc-${key}`, 'data-testid': `add-${key}`,
            disabled: soldOut,
            onClick: () => setQty(product.id, 1),
          }, soldOut ? t('catalogue.soldOut') : t('catalogue.add')))));
}

function productList() {
  if (catalogue.error && !catalogue.list.length) {
    return h('li', { class: 'muted', 'data-testid': 'catalogue-error' }, t('catalogue.error'));
  }
  if (!catalogue.loaded) {
    return h('li', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }));
  }
  if (!catalogue.list.length) return h('li', { class: 'muted' }, t('catalogue.empty'));
  return catalogue.list.map(productCard);
}

function cartPanel(openCheckout) {
  const { lines, count, total } = cartTotals();
  const signedIn = Boolean(currentUser());
  return [
    h('h2', { class: 'cart-title', id: 'cart-title' }, icon('cart'), t('cart.title'),
      count ? h('span', { class: 'cart-count' }, plural('cart.items', count)) : null),
    lines.length === 0
      ? h('p', { class: 'muted cart-empty' }, t('cart.empty'))
      : h('ul', { class: 'cart-lines' }, lines.map(({ product, qty }) =>
        h('li', { class: 'cart-line', 'data-testid': `cart-line-${productKey(product)}` },
          h('div', { class: 'cart-line-main' },
            h('span', { class: 'cart-line-name' }, productText(product, 'name')),
            h('span', { class: 'cart-line-price' }, money(product.price * qty))),
          h('div', { class: 'cart-line-tools' },
            qtyControl(product, qty, 'cart'),
            h('button', {
              type: 'button', class: 'btn-icon', id: `cart-remove-${productKey(product)}`,
              'aria-label': t('cart.remove', { name: productText(product, 'name') }),
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
        // The shop prices the order: only what and how many.
        items: lines.map(({ product, qty }) => ({ product: product.id, qty })),
        address: value,
      });
      try {
        localStorage.setItem(ADDRESS_KEY, value);
      } catch (_) { /* not remembered */ }
      upsertOrder(order);
      dialog.close();
      clearCart();
      loadProducts(); // the stock went down
      toast(t('checkout.placed', { n: order.number }), 'success');
      location.hash = `#/orders/${order.id}`;
    } catch (err) {
      showError(err);
      loadProducts(); // a price or the stock may have changed meanwhile
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
    loadProducts();
    const checkout = checkoutDialog();
    const cartBox = live(['cart', 'auth', 'lang', 'products'], () => cartPanel(checkout.open), {
      tag: 'aside', props: { class: 'cart card', id: 'cart', 'aria-labelledby': 'cart-title', 'data-testid': 'cart' },
    });
    const cartBar = live(['cart', 'lang', 'products'], () => {
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
          live(['cart', 'lang', 'products'], productList, {
            tag: 'ul', props: { class: 'product-grid', 'data-testid': 'catalogue' },
          })),
        cartBox),
      cartBar,
      checkout.dialog,
    ];
  },
};
