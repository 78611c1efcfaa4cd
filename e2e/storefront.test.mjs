// The storefront (pb_public/index.html, app.js, app/) against the real shop
// binary in headless Chromium: sign-up, the cart and checkout, live order
// updates and the inbox badge, privacy between customers, notification
// preferences, and screenshots of every page.
//
//   cd /work/main && make build && cd e2e && npm ci && node --test storefront.test.mjs
//
// SHOP_PUBLIC_DIR=../pb_public serves the storefront files live instead of
// the copy built into the binary (see lib/shop.mjs).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, signUp, waitFor } from './lib/shop.mjs';
import {
  VIEWPORTS, openPage, placeOrderByApi, productIds, quote, resetStorage, screenshot, signInInUI, signUpInUI, staffMessages,
  startFakeBotApi, startShopWithStaff, uniqueEmail, unreadBadge, waitForBadge,
} from './lib/storefront.mjs';

const TRACKING = 'RA123456789RU';
// A 1×1 PNG, the photo of a product the owner adds.
const PIXEL_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const TRACKING_URL = `https://www.pochta.ru/tracking#${TRACKING}`;

describe('storefront', () => {
  let shop;
  let browser;
  let products; // the seeded catalogue's ids by slug

  before(async () => {
    shop = await startShopWithStaff();
    // The shop's name, as its owner sets it in the dashboard: messages sign with it.
    await shop.staff('PATCH', '/api/settings', { meta: { appName: 'Leaf & Bean' } });
    products = await productIds(shop);
    browser = await launchBrowser();
  }, { timeout: 45_000 });

  after(async () => {
    await browser?.close();
    await shop?.stop();
  }, { timeout: 30_000 });

  test('a customer signs up, orders, and follows the order live', { timeout: 60_000 }, async () => {
    const page = await openPage(browser.context);
    try {
      const customer = { name: 'Anna Petrova', email: uniqueEmail('anna'), password: 'correct-horse-battery' };
      await signUpInUI(page, shop.origin, customer);

      // The welcome message arrives first; reading it leaves the inbox clear.
      await waitForBadge(page, 1);
      await page.getByTestId('nav-inbox').click();
      const welcome = page.getByTestId('inbox-message');
      await welcome.first().waitFor();
      assert.equal(await welcome.count(), 1);
      await page.getByTestId('mark-read').click();
      await waitForBadge(page, 0);

      // Cart: 2 × Sencha (590) + 1 × Ethiopia (1,190) = 2,370.
      await page.getByTestId('nav-catalogue').click();
      await page.getByTestId('add-sencha').click();
      await page.getByTestId('card-inc-sencha').click();
      await page.getByTestId('add-ethiopia').click();
      assert.equal(await page.getByTestId('card-qty-sencha').textContent(), '2');
      assert.equal(await page.getByTestId('cart-total').textContent(), '₽2,370');

      await page.getByTestId('place-order').click();
      await page.getByTestId('checkout-dialog').waitFor();
      await page.getByTestId('address-input').fill('Moscow, Tverskaya 7, flat 12');
      await page.getByTestId('confirm-order').click();
      await page.waitForURL(/#\/orders\/[a-z0-9]+$/, { timeout: 10_000 });
      const orderId = new URL(page.url()).hash.split('/').pop();
      assert.equal(await page.getByTestId('order-number').textContent(), 'Order #1001');
      assert.equal(await page.getByTestId('order-status').getAttribute('data-status'), 'new');
      assert.equal(await page.getByTestId('order-total').textContent(), '₽2,370');

      // My orders lists it.
      await page.getByTestId('nav-orders').click();
      const cards = page.getByTestId('order-card');
      await cards.first().waitFor();
      assert.equal(await cards.count(), 1);
      assert.equal(await cards.first().getAttribute('data-number'), '1001');
      assert.match(await cards.first().textContent(), /Order #1001/);

      // The confirmation is in the inbox, unread.
      await waitForBadge(page, 1);
      await page.getByTestId('nav-inbox').click();
      await page.locator('[data-testid="inbox-message"][data-unread="true"]').first().waitFor();
      assert.equal(await page.getByTestId('message-subject').first().textContent(), 'Order #1001 received');

      // The order page, then the staff ship it: the page follows without a reload.
      await page.getByTestId('nav-orders').click();
      await cards.first().click();
      await page.getByTestId('order-page').waitFor();
      await page.locator('[data-testid="delivery"][data-channel="inbox"][data-status="sent"]').first().waitFor();
      const navigations = [];
      page.on('framenavigated', (frame) => { if (frame === page.mainFrame()) navigations.push(frame.url()); });

      await shop.staff('PATCH', `/api/collections/orders/records/${orderId}`, {
        status: 'shipped', trackingNumber: TRACKING, trackingUrl: TRACKING_URL,
      });
      await page.waitForFunction((tracking) => {
        const status = document.querySelector('[data-testid="order-status"]');
        const number = document.querySelector('[data-testid="tracking-number"]');
        const badge = document.querySelector('[data-testid="unread-badge"]');
        return status && status.dataset.status === 'shipped'
          && number && number.textContent === tracking
          && badge && !badge.hidden && Number(badge.textContent) === 2;
      }, TRACKING, { timeout: 2_000 });
      assert.deepEqual(navigations, [], 'the page was not reloaded');
      assert.equal(await page.getByTestId('order-status').textContent(), 'Shipped');
      assert.equal(await page.getByTestId('track-link').getAttribute('href'), TRACKING_URL);
      assert.equal(await page.getByTestId('track-link').getAttribute('target'), '_blank');
      // The timeline shows what the customer was told, and how.
      await page.locator('[data-testid="timeline-item"][data-template="order.shipped"]').waitFor({ timeout: 2_000 });

      // Marking read clears the badge.
      await page.getByTestId('nav-inbox').click();
      await page.locator('[data-testid="inbox-message"]').nth(1).waitFor();
      assert.equal(await page.locator('[data-testid="inbox-message"][data-unread="true"]').count(), 2);
      await page.getByTestId('mark-read').first().click();
      await waitForBadge(page, 1);
      await page.getByTestId('mark-all-read').click();
      await waitForBadge(page, 0);
      assert.equal(await page.locator('[data-testid="inbox-message"][data-unread="true"]').count(), 0);
      assert.ok(await page.getByTestId('mark-all-read').isDisabled());

      // …and stays cleared: the server has readAt.
      await page.reload();
      await page.getByTestId('inbox-list').waitFor();
      assert.equal(await unreadBadge(page), 0);
      assert.deepEqual(page.errors, []);
    } finally {
      await page.close();
    }
  });

  test('a second customer sees none of the first one\'s orders or messages', { timeout: 60_000 }, async () => {
    // The first customer, with an order and its messages delivered.
    const first = await signUp(shop, { email: uniqueEmail('first'), name: 'First Customer' });
    const order = await placeOrderByApi(shop, first, [{ product: products.oolong, qty: 1 }]);
    await waitFor(() => staffMessages(shop, `sourceRecord = ${quote(order.id)} && channel = "inbox" && status = "sent"`),
      (rows) => rows.length === 1, { timeoutMs: 10_000, what: 'the first customer\'s confirmation' });

    // The second customer, in a browser of their own.
    const second = await launchBrowser();
    try {
      const page = await openPage(second.context);
      const credentials = { name: 'Second Customer', email: uniqueEmail('second'), password: 'another-long-password' };
      await signUpInUI(page, shop.origin, credentials);

      await page.getByTestId('nav-orders').click();
      await page.getByTestId('empty-state').waitFor();
      assert.equal(await page.getByTestId('order-card').count(), 0);

      await waitForBadge(page, 1); // their own welcome message, nothing else
      await page.getByTestId('nav-inbox').click();
      await page.getByTestId('inbox-message').first().waitFor();
      const subjects = await page.getByTestId('message-subject').allTextContents();
      assert.equal(subjects.length, 1);
      assert.doesNotMatch(subjects.join('\n'), /Order/);

      // The first customer's order page and records, through the SDK with the
      // second customer's session.
      await page.goto(`${shop.origin}/#/orders/${order.id}`);
      await page.getByTestId('order-missing').waitFor();
      const probe = await page.evaluate(async (orderId) => {
        const { default: PocketBase } = await import('/vendor/pocketbase.es.mjs');
        const pb = new PocketBase(location.origin); // the storefront's saved session
        const result = { me: pb.authStore.record && pb.authStore.record.id };
        try {
          await pb.collection('orders').getOne(orderId);
          result.getOne = 'allowed';
        } catch (err) {
          result.getOne = err.status;
        }
        result.orders = (await pb.collection('orders').getFullList()).length;
        const messages = await pb.collection('notifyMessages').getFullList();
        result.foreignMessages = messages.filter((m) => m.user !== result.me || m.sourceRecord === orderId).length;
        result.timeline = (await pb.collection('notifyMessages').getFullList({ filter: pb.filter('sourceRecord = {:id}', { id: orderId }) })).length;
        return result;
      }, order.id);
      assert.ok(probe.me, 'signed in');
      assert.equal(probe.getOne, 404);
      assert.equal(probe.orders, 0);
      assert.equal(probe.foreignMessages, 0);
      assert.equal(probe.timeline, 0);
      assert.deepEqual(page.errors, []);
    } finally {
      await second.close();
    }
  });

  test('turning a channel off in settings stops the next service message on it', { timeout: 60_000 }, async () => {
    const rule = await shop.staff('POST', '/api/collections/notifyRules/records', {
      name: 'Assembly news',
      active: true,
      collection: 'orders',
      event: 'update',
      changed: 'status',
      condition: 'status = "assembling"',
      recipient: 'customer',
      template: 'order.assembling',
      channels: ['email', 'inbox'],
      mode: 'all',
      category: 'service',
    });

    const customer = await signUp(shop, { email: uniqueEmail('prefs'), name: 'Pavel' });
    const order = await placeOrderByApi(shop, customer, [{ product: products.assam, qty: 3 }]);

    const page = await openPage(browser.context);
    try {
      await signInInUI(page, shop.origin, customer);
      await page.getByTestId('nav-settings').click();
      const emailService = page.getByTestId('pref-email-service');
      await emailService.waitFor();
      assert.ok(await emailService.isChecked(), 'everything is on by default');

      // Only the channels the shop runs are offered (no bot here: no Telegram).
      assert.equal(await page.getByTestId('pref-telegram-transactional').count(), 0, 'no Telegram column without a bot');
      assert.equal(await page.getByTestId('channel-telegram').count(), 0, 'no Telegram card without a bot');
      // The server keeps transactional messages on somewhere, and says so.
      for (const channel of ['email', 'webpush']) {
        await page.getByTestId(`pref-${channel}-transactional`).click();
        await waitFor(() => page.getByTestId(`pref-${channel}-transactional`).isChecked(), (on) => !on, { timeoutMs: 5_000 });
      }
      await page.getByTestId('pref-inbox-transactional').click();
      await page.getByTestId('toast-error').filter({ hasText: 'must stay on for at least one channel' }).waitFor({ timeout: 5_000 });
      await page.getByTestId('prefs-error').waitFor();
      assert.ok(await page.getByTestId('pref-inbox-transactional').isChecked(), 'the refused switch is back on');
      for (const channel of ['email', 'webpush']) {
        await page.getByTestId(`pref-${channel}-transactional`).click();
        await waitFor(() => page.getByTestId(`pref-${channel}-transactional`).isChecked(), (on) => on, { timeoutMs: 5_000 });
      }

      // Service messages off for email.
      await emailService.click();
      const prefs = await waitFor(
        async () => (await shop.staff('GET', `/api/collections/users/records/${customer.record.id}`)).notifyPrefs,
        (p) => p && p.email && p.email.service === false,
        { timeoutMs: 5_000, what: 'notifyPrefs saved with email.service = false' });
      assert.deepEqual(prefs, { email: { service: false } });
      assert.equal(await emailService.isChecked(), false);

      await shop.staff('PATCH', `/api/collections/orders/records/${order.id}`, { status: 'assembling' });
      const rows = await waitFor(
        () => staffMessages(shop, `rule = ${quote(rule.id)} && sourceRecord = ${quote(order.id)}`),
        (list) => list.some((m) => m.channel === 'inbox' && m.status === 'sent'),
        { timeoutMs: 10_000, what: 'the rule\'s inbox message to be sent' });
      const email = rows.filter((m) => m.channel === 'email');
      assert.ok(email.length === 0
        || (email.length === 1 && email[0].status === 'skipped' && email[0].error === 'the customer turned off service messages on email'),
      `no email for the rule, or a skipped one: ${JSON.stringify(email)}`);

      // The customer sees the packing news on the order page.
      await page.goto(`${shop.origin}/#/orders/${order.id}`);
      await page.locator('[data-testid="timeline-item"][data-template="order.assembling"] [data-channel="inbox"][data-status="sent"]').first().waitFor();
      assert.deepEqual(page.errors, []);
    } finally {
      await page.close();
      await shop.staff('PATCH', `/api/collections/notifyRules/records/${rule.id}`, { active: false }).catch(() => {});
    }
  });

  test('the language switch saves the customer\'s locale: the next message comes in Russian', { timeout: 60_000 }, async () => {
    const customer = await signUp(shop, { email: uniqueEmail('lang'), name: 'Irina', locale: 'en' });
    const order = await placeOrderByApi(shop, customer, [{ product: products.sencha, qty: 1 }]);
    const page = await openPage(browser.context);
    try {
      await signInInUI(page, shop.origin, customer);
      assert.equal(await page.getByTestId('nav-orders').textContent(), 'My orders');
      await page.getByTestId('lang-ru').click();
      await page.locator('[data-testid="nav-orders"]', { hasText: 'Мои заказы' }).waitFor();
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'ru');
      assert.equal(await page.getByTestId('lang-ru').getAttribute('aria-pressed'), 'true');
      await waitFor(async () => (await shop.staff('GET', `/api/collections/users/records/${customer.record.id}`)).locale,
        (locale) => locale === 'ru', { timeoutMs: 5_000, what: 'the user\'s locale saved as ru' });

      await shop.staff('PATCH', `/api/collections/orders/records/${order.id}`, { status: 'paid' });
      await page.getByTestId('nav-inbox').click();
      await page.getByTestId('message-subject').filter({ hasText: `Заказ №${order.number} оплачен` }).waitFor({ timeout: 5_000 });
      // The interface stays Russian after a reload: the account's locale wins.
      await page.evaluate(() => localStorage.removeItem('shop.lang'));
      await page.reload();
      await page.locator('[data-testid="nav-inbox"]', { hasText: 'Сообщения' }).waitFor();
      assert.deepEqual(page.errors, []);
    } finally {
      await page.close();
    }
  });

  test('the catalogue is the products collection: the owner\'s edits show on the storefront', { timeout: 60_000 }, async () => {
    const customer = await signUp(shop, { email: uniqueEmail('catalogue'), name: 'Vera' });
    const productsUrl = '/api/collections/products/records';
    // The owner changes a price and the stock in the dashboard (as a
    // superuser, through the same API), and adds a product with a photo.
    await shop.staff('PATCH', `${productsUrl}/${products.assam}`, { price: 505, stock: 3 });
    const form = new FormData();
    form.append('name', 'Шу Пуэр');
    form.append('price', '1250');
    form.append('currency', 'RUB');
    form.append('stock', '7');
    form.append('active', 'true');
    form.append('translations', JSON.stringify({ en: { name: 'Shou Pu-erh', kind: 'Dark tea · 100 g' } }));
    form.append('image', new Blob([Buffer.from(PIXEL_PNG, 'base64')], { type: 'image/png' }), 'puerh.png');
    const created = await shop.fetch(productsUrl, { method: 'POST', headers: { Authorization: shop.staffToken }, body: form });
    assert.equal(created.status, 200, await created.clone().text());
    const puerh = await created.json();
    const page = await openPage(browser.context);
    try {
      await signInInUI(page, shop.origin, customer);
      await page.getByTestId('nav-catalogue').click();
      await page.locator('[data-testid="price-assam"]', { hasText: '₽505' }).waitFor({ timeout: 5_000 });
      assert.equal(await page.getByTestId('stock-assam').textContent(), 'Only 3 left');
      assert.equal(await page.getByTestId(`name-${puerh.id}`).textContent(), 'Shou Pu-erh', 'the English name from translations');
      assert.equal(await page.getByTestId(`price-${puerh.id}`).textContent(), '₽1,250');
      assert.equal(await page.getByTestId(`stock-${puerh.id}`).textContent(), '7 in stock');
      // The photo is served by PocketBase's file API, as a thumb.
      const image = page.getByTestId(`image-${puerh.id}`);
      assert.match(await image.getAttribute('src'), new RegExp(`/api/files/[^/]+/${puerh.id}/.+\\?thumb=640x400$`));
      await page.waitForFunction((id) => {
        const img = document.querySelector(`[data-testid="image-${id}"]`);
        return img && img.complete && img.naturalWidth > 0;
      }, puerh.id, { timeout: 5_000 });

      // No more than the stock goes into the cart; the order costs the new price.
      await page.getByTestId('add-assam').click();
      await page.getByTestId('card-inc-assam').click();
      await page.getByTestId('card-inc-assam').click();
      assert.equal(await page.getByTestId('card-qty-assam').textContent(), '3');
      assert.ok(await page.getByTestId('card-inc-assam').isDisabled(), 'a fourth is not offered');
      assert.equal(await page.getByTestId('cart-total').textContent(), '₽1,515');
      await page.getByTestId('place-order').click();
      await page.getByTestId('checkout-dialog').waitFor();
      await page.getByTestId('address-input').fill('Kazan, Baumana 1');
      await page.getByTestId('confirm-order').click();
      await page.waitForURL(/#\/orders\/[a-z0-9]+$/, { timeout: 10_000 });
      assert.equal(await page.getByTestId('order-total').textContent(), '₽1,515');

      // Sold out now: the catalogue says so and offers none.
      await page.getByTestId('nav-catalogue').click();
      await page.locator('[data-testid="stock-assam"]', { hasText: 'Out of stock' }).waitFor({ timeout: 5_000 });
      assert.ok(await page.getByTestId('add-assam').isDisabled());
      assert.deepEqual(page.errors, []);
    } finally {
      await page.close();
      await shop.staff('PATCH', `${productsUrl}/${products.assam}`, { price: 450, stock: 60 }).catch(() => {});
      await shop.staff('PATCH', `${productsUrl}/${puerh.id}`, { active: false }).catch(() => {});
    }
  });

  test('screenshots of every page, desktop and phone', { timeout: 60_000 }, async () => {
    const customer = await signUp(shop, { email: uniqueEmail('shots'), name: 'Maria Ivanova' });
    const delivered = await placeOrderByApi(shop, customer, [
      { product: products.chamomile, qty: 2 },
      { product: products.assam, qty: 1 },
    ]);
    const shipped = await placeOrderByApi(shop, customer, [
      { product: products.sencha, qty: 2 },
      { product: products.ethiopia, qty: 1 },
      { product: products.espresso, qty: 1 },
    ]);
    const cancelled = await placeOrderByApi(shop, customer, [{ product: products.oolong, qty: 1 }]);
    const orders = `/api/collections/orders/records`;
    for (const status of ['paid', 'assembling', 'shipped', 'delivered']) {
      await shop.staff('PATCH', `${orders}/${delivered.id}`, { status, ...(status === 'shipped' ? { trackingNumber: 'RA000111222RU' } : {}) });
    }
    await shop.staff('PATCH', `${orders}/${shipped.id}`, { status: 'paid' });
    await shop.staff('PATCH', `${orders}/${shipped.id}`, { status: 'shipped', trackingNumber: TRACKING, trackingUrl: TRACKING_URL });
    await shop.staff('PATCH', `${orders}/${cancelled.id}`, { status: 'cancelled' });

    const context = browser.context;
    const page = await openPage(context, VIEWPORTS.desktop);
    try {
      const shots = [];
      const shoot = async (name) => {
        for (const [kind, viewport] of Object.entries(VIEWPORTS)) {
          await page.setViewportSize(viewport);
          shots.push(await screenshot(page, name, kind));
        }
      };

      await resetStorage(page, shop.origin); // signed out, empty cart
      await page.goto(`${shop.origin}/#/signin`);
      await page.getByTestId('signin-form').waitFor();
      await shoot('signin');

      await signInInUI(page, shop.origin, customer);
      await page.getByTestId('nav-catalogue').click();
      await page.getByTestId('add-sencha').click();
      await page.getByTestId('card-inc-sencha').click();
      await page.getByTestId('add-espresso').click();
      await page.getByTestId('add-chamomile').click();
      await shoot('catalogue');

      await page.getByTestId('nav-orders').click();
      await waitFor(() => page.getByTestId('order-card').count(), (n) => n === 3, { timeoutMs: 5_000 });
      await shoot('orders');

      await page.goto(`${shop.origin}/#/orders/${shipped.id}`);
      await page.getByTestId('tracking-number').waitFor();
      await page.locator('[data-testid="timeline-item"][data-template="order.shipped"]').waitFor();
      await shoot('order');

      await page.getByTestId('nav-inbox').click();
      await page.getByTestId('inbox-message').first().waitFor();
      await page.getByTestId('mark-read').last().click(); // one read, the rest unread
      await waitFor(() => page.locator('[data-testid="inbox-message"][data-unread="false"]').count(), (n) => n === 1, { timeoutMs: 5_000 });
      await shoot('inbox');

      await page.getByTestId('nav-settings').click();
      await page.getByTestId('prefs-matrix').waitFor();
      await page.getByTestId('pref-email-marketing').click();
      await waitFor(() => page.getByTestId('pref-email-marketing').isChecked(), (on) => !on, { timeoutMs: 5_000 });
      await page.locator('[data-testid="push-status"], [data-testid="tg-status"], [data-testid="tg-connect"]').first().waitFor();
      await shoot('settings');

      assert.equal(shots.length, 12);
      assert.deepEqual(page.errors, []);
    } finally {
      await page.close();
    }
  });
});

describe('storefront: Telegram', () => {
  let bot;
  let shop;
  let browser;

  before(async () => {
    bot = await startFakeBotApi();
    shop = await startShopWithStaff({ env: bot.env });
    browser = await launchBrowser();
  }, { timeout: 45_000 });

  after(async () => {
    await browser?.close();
    await shop?.stop();
    await bot?.stop();
  }, { timeout: 30_000 });

  test('connecting Telegram shows "Connected" live; disconnecting removes the link', { timeout: 60_000 }, async () => {
    const customer = await signUp(shop, { email: uniqueEmail('tg'), name: 'Olga' });
    const page = await openPage(browser.context);
    try {
      // The t.me page is not reachable offline; the test only needs its address.
      await browser.context.route('https://t.me/**', (route) => route.fulfill({ contentType: 'text/html', body: '<title>Telegram</title>' }));
      await signInInUI(page, shop.origin, customer);
      await page.getByTestId('nav-settings').click();
      const [popup] = await Promise.all([
        page.waitForEvent('popup'),
        page.getByTestId('tg-connect').click(),
      ]);
      await popup.waitForURL(/^https:\/\/t\.me\/leafbean_bot\?start=/, { timeout: 10_000 });
      const token = new URL(popup.url()).searchParams.get('start');
      await popup.close();
      await page.locator('[data-testid="tg-status"][data-state="waiting"]').waitFor();

      // The customer presses Start in Telegram: the bot binds the chat.
      await bot.deliverUpdate(shop, {
        update_id: 1,
        message: {
          message_id: 1,
          date: Math.floor(Date.now() / 1000),
          chat: { id: 4242, type: 'private', first_name: 'Olga' },
          from: { id: 4242, is_bot: false, first_name: 'Olga', username: 'olga_tea', language_code: 'en' },
          text: `/start ${token}`,
        },
      });
      await page.waitForFunction(() => {
        const status = document.querySelector('[data-testid="tg-status"]');
        return status && status.dataset.state === 'connected' && status.textContent.includes('@olga_tea');
      }, null, { timeout: 2_000 });
      assert.match(await page.getByTestId('tg-status').textContent(), /Connected ✓/);

      await page.getByTestId('tg-disconnect').click();
      await page.getByTestId('tg-connect').waitFor();
      const { items } = await shop.staff('GET', `/api/collections/notifyTelegramLinks/records?filter=${encodeURIComponent(`user = ${quote(customer.record.id)}`)}`);
      assert.equal(items.length, 0);
      assert.deepEqual(page.errors, []);
    } finally {
      await page.close();
    }
  });
});
