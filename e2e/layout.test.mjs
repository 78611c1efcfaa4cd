// The email layout as customers receive it: every default template that
// the preview route can render against a real record (orders, payments,
// users) or a sample, through GET /api/notify/templates/{id}/preview?format=html,
// in Russian and English, at 375 px (a phone) and 1280 px (a desktop), in
// light mode and, at phone width, dark mode. Nothing may overflow
// horizontally and every image needs alt text. Screenshots go to
// ../test-artifacts/screenshots/email-<locale>-<key>-<width>[-dark].png.
//
//   make build && cd e2e && npm ci && node --test layout.test.mjs

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, signUp } from './lib/shop.mjs';
import { SCREENSHOT_DIR, startShopWithStaff } from './lib/storefront.mjs';

const WIDTHS = [375, 1280];

describe('email layout', () => {
  let shop;
  let browser;
  const records = {}; // locale → { orders, payments, users }

  before(async () => {
    shop = await startShopWithStaff();
    // The owner's settings: the shop's name and address (links in emails),
    // and the brand record's contacts.
    await shop.staff('PATCH', '/api/settings', { meta: { appName: 'Leaf & Bean', appURL: shop.origin } });
    const brand = (await shop.staff('GET', '/api/collections/notifyBrand/records')).items[0];
    await shop.staff('PATCH', `/api/collections/notifyBrand/records/${brand.id}`, {
      address: 'Москва, ул. Мясницкая, 24/7, стр. 1', phone: '+7 495 123-45-67',
      email: 'hello@leafbean.example', supportUrl: 'https://leafbean.example/help',
    });
    shop.brandId = brand.id;
    for (const locale of ['ru', 'en']) {
      const customer = await signUp(shop, { name: locale === 'ru' ? 'Анна Петрова' : 'Anna Petrova', locale });
      const order = await shop.staff('POST', '/api/collections/orders/records', {
        customer: customer.record.id, status: 'shipped',
        items: [
          { name: locale === 'ru' ? 'Улун Да Хун Пао, 50 г' : 'Da Hong Pao oolong, 50 g', qty: 3, price: 1900.5 },
          { name: locale === 'ru' ? 'Чайник из исинской глины ручной работы, 200 мл' : 'Handmade Yixing clay teapot, 200 ml', qty: 1, price: 7490 },
          { name: 'Sencha', qty: 1, price: 590 },
        ],
        address: locale === 'ru' ? 'Москва, Тверская ул., 7, кв. 12' : 'Moscow, Tverskaya st. 7, flat 12',
        trackingNumber: 'RA123456789RU', trackingUrl: 'https://www.pochta.ru/tracking#RA123456789RU',
      });
      const payment = await shop.staff('POST', '/api/collections/payments/records', {
        order: order.id, amount: order.total, currency: 'RUB', status: 'failed',
        failureReason: locale === 'ru' ? 'Недостаточно средств' : 'Insufficient funds',
      });
      records[locale] = { orders: order.id, payments: payment.id, users: customer.record.id };
    }
    browser = await launchBrowser();
    await mkdir(SCREENSHOT_DIR, { recursive: true });
  }, { timeout: 60_000 });

  after(async () => {
    await browser?.close();
    await shop?.stop();
  }, { timeout: 30_000 });

  /** The preview URL of a template against the right record of its locale. */
  function previewPath(tpl) {
    const family = tpl.key.split('.')[0];
    const collection = { order: 'orders', payment: 'payments', user: 'users' }[family];
    const record = tpl.record || (collection ? records[tpl.locale]?.[collection] : '');
    return `/api/notify/templates/${tpl.id}/preview?format=html${record ? `&record=${record}` : ''}`;
  }

  /** Opens the email at width; returns what overflows and which images lack alt. */
  async function render(tpl, width, colorScheme = 'light') {
    const page = await browser.context.newPage();
    try {
      await page.setExtraHTTPHeaders({ Authorization: shop.staffToken });
      await page.setViewportSize({ width, height: 900 });
      await page.emulateMedia({ colorScheme });
      const res = await page.goto(shop.origin + previewPath(tpl));
      if (res.status() !== 200) return { status: res.status(), body: await res.text() };
      await page.waitForLoadState('load');
      const facts = await page.evaluate(() => {
        const vw = document.documentElement.clientWidth;
        const wide = [...document.body.querySelectorAll('*')]
          .filter((el) => {
            const r = el.getBoundingClientRect();
            return r.width > 0 && r.right > vw + 0.5;
          })
          .map((el) => `<${el.tagName.toLowerCase()} class="${el.className}"> right=${Math.round(el.getBoundingClientRect().right)}`);
        return {
          scrollWidth: document.documentElement.scrollWidth,
          viewport: vw,
          wide,
          noAlt: [...document.images].filter((img) => !(img.getAttribute('alt') || '').trim()).map((img) => img.src),
          brokenImages: [...document.images].filter((img) => img.complete && img.naturalWidth === 0).map((img) => img.src),
          styles: document.querySelectorAll('[style]').length,
        };
      });
      const height = await page.evaluate(() => document.documentElement.scrollHeight);
      await page.setViewportSize({ width, height: Math.min(height, 6000) });
      const suffix = colorScheme === 'dark' ? '-dark' : '';
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, `email-${tpl.locale}-${tpl.key}-${width}${suffix}.png`) });
      return { status: 200, ...facts };
    } finally {
      await page.close();
    }
  }

  test('every default template, both languages, phone and desktop: no horizontal overflow, alt text on every image', { timeout: 300_000 }, async () => {
    const { items } = await shop.staff('GET', '/api/collections/notifyTemplates/records?perPage=500&sort=key,locale');
    assert.ok(items.length >= 20, `only ${items.length} templates`);
    const rendered = new Set();
    const unrenderable = [];
    for (const tpl of items) {
      for (const width of WIDTHS) {
        const got = await render(tpl, width);
        if (got.status !== 200) {
          // A template no rule uses and whose key names no collection
          // (auth.*, sent from code) has no record to preview against.
          assert.match(got.body, /no sample record|pass \?record/i, `${tpl.locale}/${tpl.key}: ${got.status} ${got.body}`);
          unrenderable.push(`${tpl.locale}/${tpl.key}`);
          break;
        }
        rendered.add(tpl.key);
        const where = `${tpl.locale}/${tpl.key} at ${width}px`;
        assert.ok(got.scrollWidth <= got.viewport, `${where}: scrollWidth ${got.scrollWidth} > ${got.viewport}`);
        assert.deepEqual(got.wide, [], `${where}: elements past the right edge`);
        assert.deepEqual(got.noAlt, [], `${where}: images without alt text`);
        assert.ok(got.styles > 10, `${where}: the CSS is not inlined`);
      }
    }
    for (const key of ['order.created', 'order.paid', 'order.assembling', 'order.shipped', 'order.delivered',
      'order.cancelled', 'order.returned', 'payment.succeeded', 'payment.failed', 'payment.refunded', 'user.created']) {
      assert.ok(rendered.has(key), `${key} was not rendered`);
    }
    assert.ok(unrenderable.every((k) => k.includes('/auth.')), `not rendered: ${unrenderable.join(', ')}`);
  });

  test('dark mode at phone width: the order messages stay readable and inside the screen', { timeout: 120_000 }, async () => {
    const { items } = await shop.staff('GET', '/api/collections/notifyTemplates/records?perPage=500&filter=' +
      encodeURIComponent('key ~ "order.%" || key ~ "payment.%"'));
    for (const tpl of items) {
      const got = await render(tpl, 375, 'dark');
      assert.equal(got.status, 200);
      assert.ok(got.scrollWidth <= got.viewport, `${tpl.locale}/${tpl.key} dark: overflow`);
    }
  });

  test('with the owner\'s logo: the header shows it, from the shop\'s own URL, with alt text', { timeout: 60_000 }, async () => {
    // A logo made the way an owner might: a mark and the name, drawn here.
    const page = await browser.context.newPage();
    const png = await page.evaluate(() => {
      const c = document.createElement('canvas');
      c.width = 360; c.height = 80;
      const g = c.getContext('2d');
      g.fillStyle = '#2f7d4f';
      g.beginPath(); g.ellipse(40, 40, 22, 34, Math.PI / 4, 0, 2 * Math.PI); g.fill();
      g.fillStyle = '#1f2937'; g.font = 'bold 40px sans-serif'; g.fillText('Leaf & Bean', 84, 54);
      return c.toDataURL('image/png').split(',')[1];
    });
    await page.close();
    const form = new FormData();
    form.append('logo', new Blob([Buffer.from(png, 'base64')], { type: 'image/png' }), 'logo.png');
    const res = await shop.fetch(`/api/collections/notifyBrand/records/${shop.brandId}`, {
      method: 'PATCH', headers: { Authorization: shop.staffToken }, body: form,
    });
    assert.equal(res.status, 200, await res.text());
    await shop.staff('PATCH', '/api/settings', { meta: { accentColor: '#2f7d4f' } });

    const { items } = await shop.staff('GET', '/api/collections/notifyTemplates/records?filter=' + encodeURIComponent('key = "order.created"'));
    for (const tpl of items) {
      // A just-placed order, as the confirmation is sent for.
      const placed = await shop.staff('POST', '/api/collections/orders/records', {
        customer: records[tpl.locale].users, address: tpl.locale === 'ru' ? 'Москва, Тверская ул., 7, кв. 12' : 'Moscow, Tverskaya st. 7, flat 12',
        items: [
          { name: tpl.locale === 'ru' ? 'Улун Да Хун Пао, 50 г' : 'Da Hong Pao oolong, 50 g', qty: 3, price: 1900.5 },
          { name: tpl.locale === 'ru' ? 'Чайник из исинской глины, 200 мл' : 'Yixing clay teapot, 200 ml', qty: 1, price: 7490 },
        ],
      });
      tpl.record = placed.id;
      for (const [width, scheme] of [[375, 'light'], [375, 'dark'], [1280, 'light']]) {
        const got = await render({ ...tpl, key: `${tpl.key}-logo` }, width, scheme);
        assert.equal(got.status, 200);
        assert.deepEqual(got.noAlt, []);
        assert.deepEqual(got.brokenImages, [], 'the logo does not load from the shop');
        assert.ok(got.scrollWidth <= got.viewport);
      }
    }
  });
});
