// The shop's name and contacts: GET /api/shop/info, i.e. the dashboard's
// Application settings (application name, sender address), the same ones
// every message is signed with, in the page's language. Nothing about the
// shop is written here.

import { getLang } from './i18n.js';
import { emit, pb } from './store.js';

export const shop = { name: '', email: '', phone: '', address: '', url: '', loaded: false };

export async function loadShop() {
  try {
    // In the page's language: the owner may name the shop per language.
    const info = await pb.send('/api/shop/info', { method: 'GET', query: { lang: getLang() } });
    Object.assign(shop, info, { loaded: true });
  } catch (err) {
    console.warn('shop info:', err);
  }
  emit('shop');
}
