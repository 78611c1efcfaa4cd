// The storefront's server-side cart, the customer's timezone and birthday
// settings, and the staff's "Orders today", against the real shop binary in
// headless Chromium.
//
//   make build && cd e2e && npm ci && node --test cart-staff.test.mjs

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, signUp, waitFor } from './lib/shop.mjs';
import {
  openPage, quote, signInInUI, signUpInUI, startShopWithStaff, uniqueEmail,
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

  // Lines by quantity and price: the same whether the shop's catalogue is
  // the storefront's list or the products collection (ids and names differ).
  const lines = (cart) => (cart?.items || []).map((l) => `${l.qty}×${l.price}`).sort().join(',');

  test('a signed-in customer\'s cart is kept on the server and emptied by the order', { timeout: 60_000 }, async () => {
    const page = await openPage(browser.context);
    try {
      const customer = { name: 'Cart Keeper', email: uniqueEmail('cart'), password: 'correct-horse-battery' };
      await signUpInUI(page, shop.origin, customer);
      const me = await page.evaluate(() => JSON.parse(localStorage.getItem('pocketbase_auth')).record.id);

      await page.getByTestId('add-sencha').click();
      await page.getByTestId('card-inc-sencha').click();
      await page.getByTestId('add-ethiopia').click();
      const saved = await waitFor(() => serverCart(me), (c) => lines(c) === '1×1190,2×590',
        { timeoutMs: 5_000, what: 'the cart saved on the server' });
      const sencha = saved.items.find((l) => l.price === 590);
      assert.match(sencha.name, /Sencha Kyoto|Сенча Киото/);
      assert.ok(sencha.product);

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

  test('a customer\'s timezone defaults to the browser\'s, and both it and the birthday are saved', { timeout: 60_000 }, async () => {
    const tokyo = await launchBrowser({ contextOptions: { timezoneId: 'Asia/Tokyo' } });
    try {
      const page = await openPage(tokyo.context);
      const customer = { name: 'Tz Customer', email: uniqueEmail('tz'), password: 'correct-horse-battery' };
      await signUpInUI(page, shop.origin, customer);
      const me = await page.evaluate(() => JSON.parse(localStorage.getItem('pocketbase_auth')).record.id);
      const user = () => shop.staff('GET', `/api/collections/users/records/${me}`);
      // Signed in with no timezone: this browser's is kept.
      await waitFor(user, (u) => u.timezone === 'Asia/Tokyo', { timeoutMs: 5_000, what: 'the browser\'s timezone saved' });

      await page.goto(`${shop.origin}/#/settings`);
      const zone = page.getByTestId('profile-timezone');
      await zone.waitFor();
      assert.equal(await zone.inputValue(), 'Asia/Tokyo');
      await zone.selectOption('America/New_York');
      await page.getByTestId('profile-birthday').fill('1990-05-17');
      await page.getByTestId('profile-save').click();
      const saved = await waitFor(user, (u) => u.timezone === 'America/New_York' && u.birthday,
        { timeoutMs: 5_000, what: 'the timezone and birthday saved' });
      assert.match(saved.birthday, /^1990-05-17 00:00:00/);

      // They stay after a reload (and the browser's zone does not overwrite a choice).
      await page.reload();
      await page.getByTestId('profile-timezone').waitFor();
      assert.equal(await page.getByTestId('profile-timezone').inputValue(), 'America/New_York');
      assert.equal(await page.getByTestId('profile-birthday').inputValue(), '1990-05-17');
      assert.equal((await user()).timezone, 'America/New_York');
      assert.deepEqual(page.errors, []);
    } finally {
      await tokyo.close();
    }
  });

  test('staff see today\'s orders of every customer, with count and sum; a customer has no such link', { timeout: 60_000 }, async () => {
    const anna = await signUp(shop, { email: uniqueEmail('anna'), name: 'Anna' });
    const boris = await signUp(shop, { email: uniqueEmail('boris'), name: 'Boris' });
    // Placed by the staff's API (free-form items are a superuser's), as the
    // customers' own would be.
    const order = (c, items) => shop.staff('POST', '/api/collections/orders/records', { customer: c.record.id, items, address: 'Moscow' });
    const a = await order(anna, [{ name: 'Sencha Kyoto', qty: 2, price: 590 }]);
    const b = await order(boris, [{ name: 'House Espresso', qty: 1, price: 990 }]);
    const olga = await signUp(shop, { email: uniqueEmail('olga'), name: 'Olga Staff' });
    await shop.staff('PATCH', `/api/collections/users/records/${olga.record.id}`, { staff: true });

    // The orders placed before this test (by the other tests) count too:
    // what the staff see is what the server says was placed today.
    const page = await openPage(browser.context);
    try {
      await signInInUI(page, shop.origin, olga);
      await page.getByTestId('nav-today').click();
      await page.locator(`[data-testid="today-order"][data-number="${a.number}"]`).waitFor({ timeout: 5_000 });
      await page.locator(`[data-testid="today-order"][data-number="${b.number}"]`).waitFor();
      const midnight = await page.evaluate(() => {
        const now = new Date();
        return new Date(now.getFullYear(), now.getMonth(), now.getDate()).toISOString().replace('T', ' ');
      });
      const q = new URLSearchParams({ filter: `created >= ${quote(midnight)} && status != "cancelled"`, perPage: '200' });
      const { items } = await shop.staff('GET', `/api/collections/orders/records?${q}`);
      assert.ok(items.length >= 2);
      assert.equal(await page.getByTestId('today-count').textContent(), String(items.length));
      const sum = items.reduce((n, o) => n + o.total, 0);
      assert.equal(await page.getByTestId('today-sum').textContent(), `₽${sum.toLocaleString('en-US')}`);

      // A new order shows up live.
      const c = await order(anna, [{ name: 'Assam Breakfast', qty: 1, price: 450 }]);
      await page.locator(`[data-testid="today-order"][data-number="${c.number}"]`).waitFor({ timeout: 5_000 });
      assert.equal(await page.getByTestId('today-count').textContent(), String(items.length + 1));

      // "My orders" are still the staff member's own: none.
      await page.getByTestId('nav-orders').click();
      await page.getByTestId('empty-state').waitFor({ timeout: 5_000 });
      assert.equal(await page.getByTestId('order-card').count(), 0);
      assert.deepEqual(page.errors, []);
    } finally {
      await page.close();
    }

    // A customer: no link, and the page says it is for staff.
    const other = await launchBrowser();
    try {
      const page2 = await openPage(other.context);
      await signInInUI(page2, shop.origin, anna);
      await page2.getByTestId('nav-orders').waitFor();
      assert.equal(await page2.getByTestId('nav-today').count(), 0);
      await page2.goto(`${shop.origin}/#/today`);
      await page2.getByText('This page is for the shop\'s staff.').waitFor({ timeout: 5_000 });
      assert.equal(await page2.getByTestId('today-order').count(), 0);
    } finally {
      await other.close();
    }
  });
});
