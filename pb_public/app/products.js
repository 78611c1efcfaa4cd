// The shop's catalogue: the `products` collection, edited in the dashboard.
// Prices here are only shown; when an order is placed the server takes
// every name and price from the collection and computes the total itself.

import { getLang } from './i18n.js';
import { emit, pb } from './store.js';

export const catalogue = { loaded: false, error: null, list: [] };

/** A stable handle for ids in the page: the slug of a seeded product, else its id. */
export function productKey(product) {
  return product.slug || product.id;
}

export function productById(id) {
  return catalogue.list.find((p) => p.id === id);
}

/** The product's name, kind or description in the interface language. */
export function productText(product, field) {
  const own = product.translations && product.translations[getLang()];
  return (own && typeof own[field] === 'string' && own[field]) || product[field] || '';
}

/** The product's picture (a PocketBase thumb), or '' when it has none. */
export function productImage(product) {
  return product.image ? pb.files.getURL(product, product.image, { thumb: '640x400' }) : '';
}

let loading = null;

/** Loads the active products (anyone may list them); emits `products`. */
export function loadProducts() {
  if (!loading) {
    loading = pb.collection('products').getFullList({ sort: 'created,name', batch: 200 })
      .then((list) => {
        catalogue.list = list;
        catalogue.loaded = true;
        catalogue.error = null;
      }, (err) => {
        catalogue.error = err;
      })
      .finally(() => {
        loading = null;
        emit('products');
      });
  }
  return loading;
}
