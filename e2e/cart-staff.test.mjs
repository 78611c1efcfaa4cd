// The storefront's server-side cart, the customer's timezone and birthday
// settings, and the staff's "Orders today", against the real shop binary in
// headless Chromium.
//
//   make build && cd e2e && npm ci && node --test cart-staff.test.mjs

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, signUp, waitFor } from './lib/shop.mjs';
import {
  openPage, placeOrderByApi, quote, signInInUI, signUpInUI, startShopWithStaff, uniqueEmail,
} from './lib/storefront.mjs';

describe('cart, settings and staff', () => {
  let shop;
  let browser;

  before(async () => {
    shop = await startShopWithStaff();
    browser = await launchBrowser();
  }, { timeout: 45_000 });

  after(async () => {
    await browser?.close();
    await shop?.stop();
  }, { timeout: 30_000 });

  /** The customer's cart record as the staff see it (null if none). */
  async function serverCart(userId) {
    const q = new URLSearchParams({ filter: `customer = ${quote(userId)}` });
    const { items } = await shop.staff('GET', `/api/collections/carts/records?${q}`);
    return items[0] || null;
  }

  const lines = (cart) => (cart?.items || []).map((l) => `${l.product}×${l.qty}`).sort().join(',');

  test('a signed-in customer\'s cart is kept on the server and emptied by the order', { timeout: 60_000 }, async () => {
    const page = await openPage(browser.context);
    try {
      const customer = { name: 'Cart Keeper', email: uniqueEmail('cart'), password: 'correct-horse-battery' };
      await signUpInUI(page, shop.origin, customer);
      const me = await page.evaluate(() => JSON.parse(localStorage.getItem('pocketbase_auth')).record.id);

      await page.getByTestId('add-sencha').click();
      await page.getByTestId('card-inc-sencha').click();
      await page.getByTestId('add-ethiopia').click();
      const saved = await waitFor(() => serverCart(me), (c) => lines(c) === 'ethiopia×1,sencha×2',
        { timeoutMs: 5_000, what: 'the cart saved on the server' });
      assert.deepEqual(saved.items.find((l) => l.product === 'sencha'), { product: 'sencha', name: 'Sencha Kyoto', qty: 2, price: 590 });

      // This browser forgets its copy: the reload brings the cart back from the server.
      await page.evaluate(() => localStorage.removeItem('shop.cart'));
      await page.reload();
      await page.getByTestId('cart-line-sencha').waitFor({ timeout: 5_000 });
      assert.equal(await page.getByTestId('card-qty-sencha').textContent(), '2');
      assert.equal(await page.getByTestId('cart-total').textContent(), '₽2,370');

      // So does another browser, on sign-in.
      const other = await launchBrowser();
      try {
        const page2 = await openPage(other.context);
        await signInInUI(page2, shop.origin, customer);
        await page2.goto(`${shop.origin}/#/`);
        await page2.getByTestId('cart-line-ethiopia').waitFor({ timeout: 5_000 });
        assert.equal(await page2.getByTestId('cart-total').textContent(), '₽2,370');
        assert.deepEqual(page2.errors, []);
      } finally {
        await other.close();
      }

      await page.getByTestId('place-order').click();
      await page.getByTestId('checkout-dialog').waitFor();
      await page.getByTestId('address-input').fill('Moscow, Tverskaya 7, flat 12');
      await page.getByTestId('confirm-order').click();
      await page.waitForURL(/#\/orders\/[a-z0-9]+$/, { timeout: 10_000 });
      await waitFor(() => serverCart(me), (c) => c && lines(c) === '', { timeoutMs: 5_000, what: 'the cart emptied on the server' });
      await page.evaluate(() => localStorage.removeItem('shop.cart'));
      await page.goto(`${shop.origin}/#/`);
      await page.reload();
      await page.getByTestId('catalogue').waitFor();
      assert.equal(await page.getByTestId('cart-line-sencha').count(), 0);
      assert.deepEqual(page.errors, []);
    } finally {
      await page.close();
    }
  });
});
