// The storefront's service worker (pb_public/sw.js) against the real shop
// binary in headless Chromium: pushes are delivered through DevTools
// (ServiceWorker.deliverPushMessage), notifications are read back with
// registration.getNotifications() and, at the OS level, from a stand-in
// notification daemon on a private D-Bus, which also clicks them the way a
// desktop does.
//
//   cd /work/main && make build && cd e2e && npm install && npm test

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startNotificationCenter } from './lib/notifications.mjs';
import {
  attachPush,
  launchBrowser,
  shownNotifications,
  startShop,
  waitFor,
  waitForPageWithUrl,
  waitForServiceWorker,
} from './lib/shop.mjs';

const SHIPPED = {
  title: 'Order #1001 has shipped',
  body: 'Tracking number RA123456789RU',
  url: '/#/orders/abc123',
  tag: 'orders-abc123',
};

describe('web push service worker', () => {
  let shop;
  let center;
  let browser;
  let page;
  let push;

  before(async () => {
    // The notification daemon first: Chromium looks for it when it starts.
    center = await startNotificationCenter();
    shop = await startShop();
    browser = await launchBrowser({ origin: shop.origin, env: center.env });
    page = browser.context.pages()[0] || (await browser.context.newPage());
    await page.goto(`${shop.origin}/push-demo.html`);
  }, { timeout: 30_000 });

  // Runs even when before() or a test failed; each stop tolerates a half
  // started setup and being called twice.
  after(async () => {
    await push?.detach();
    await browser?.close();
    await shop?.stop();
    await center?.stop();
  }, { timeout: 30_000 });

  test('the demo page registers /sw.js and is controlled by it', { timeout: 30_000 }, async () => {
    const script = await waitForServiceWorker(page);
    assert.equal(script, `${shop.origin}/sw.js`);
    assert.equal(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL), `${shop.origin}/sw.js`);
    await page.locator('html[data-sw="active"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.getByRole('button', { name: 'Enable notifications' }).count(), 1);
    push = await attachPush(page);
  });

  test('a push shows one notification; a newer one with the same tag replaces it', { timeout: 30_000 }, async () => {
    await push.deliver(JSON.stringify(SHIPPED));

    let shown = await shownNotifications(page);
    assert.equal(shown.length, 1, `one notification, got ${JSON.stringify(shown)}`);
    assert.equal(shown[0].title, SHIPPED.title);
    assert.equal(shown[0].body, SHIPPED.body);
    assert.equal(shown[0].tag, SHIPPED.tag);
    assert.deepEqual(shown[0].data, { url: SHIPPED.url });
    // What the customer actually sees, as the OS got it.
    const first = await center.waitFor((n) => n.open && n.summary === SHIPPED.title);
    assert.match(first.body, /Tracking number RA123456789RU$/);

    const update = { ...SHIPPED, body: 'Delivered to the pickup point, code 4821' };
    await push.deliver(JSON.stringify(update));

    shown = await shownNotifications(page);
    assert.equal(shown.length, 1, `still one notification, got ${JSON.stringify(shown)}`);
    assert.equal(shown[0].title, SHIPPED.title);
    assert.equal(shown[0].body, update.body);
    assert.equal(shown[0].tag, SHIPPED.tag);
    const second = await center.waitFor((n) => n.open && n.body.endsWith(update.body));
    assert.equal(second.replaces, first.id, 'the OS notification was replaced in place');
    assert.equal(center.open().length, 1);
  });

  // Headless Chromium has no notification UI to click, and a
  // script-constructed NotificationEvent is not allowed to open or focus
  // windows ("Not allowed to open a window"). So the click comes from the
  // stand-in notification daemon, like a desktop's: Chromium then runs the
  // worker's real notificationclick handler with window interaction allowed.
  test('clicking the notification closes it and opens the order page', { timeout: 30_000 }, async () => {
    const target = `${shop.origin}/#/orders/abc123`;
    assert.equal(browser.context.pages().filter((p) => p.url() === target).length, 0);
    await push.deliver(SHIPPED);
    const note = await center.waitFor((n) => n.open && n.summary === SHIPPED.title && n.body.endsWith(SHIPPED.body));

    center.click(note.id);

    const opened = await waitForPageWithUrl(browser.context, target);
    assert.equal(opened.url(), target);
    await center.waitFor((n) => n.id === note.id && !n.open);
    assert.deepEqual(await shownNotifications(page, { tag: SHIPPED.tag }), [], 'the handler closed the notification');
  });

  test('clicking focuses a tab already showing the page instead of opening another', { timeout: 30_000 }, async () => {
    const target = `${shop.origin}/#/orders/abc123`;
    const existing = await waitForPageWithUrl(browser.context, target); // opened by the previous test
    await page.bringToFront();
    const pagesBefore = browser.context.pages().length;

    await push.deliver({ ...SHIPPED, body: 'Delivered' });
    const note = await center.waitFor((n) => n.open && n.body.endsWith('Delivered'));
    const worker = browser.context.serviceWorkers().find((w) => w.url() === `${shop.origin}/sw.js`);
    await worker.evaluate(installWindowProbe);

    center.click(note.id);

    const calls = await waitForCalls(worker);
    assert.deepEqual(calls, [{ call: 'focus', url: target, ok: true }]);
    assert.equal(browser.context.pages().length, pagesBefore, 'no new tab');
    assert.equal(existing.url(), target);
  });

  test('a payload that is not JSON is shown as the body under the default title', { timeout: 30_000 }, async () => {
    await push.deliver('Your parcel is waiting at the pickup point');
    const shown = await shownNotifications(page);
    const plain = shown.filter((n) => n.body === 'Your parcel is waiting at the pickup point');
    assert.equal(plain.length, 1, `got ${JSON.stringify(shown)}`);
    assert.equal(plain[0].title, 'Shop');
    assert.equal(plain[0].tag, '');
    assert.deepEqual(plain[0].data, { url: '/' });
    await center.waitFor((n) => n.open && n.summary === 'Shop');
  });
});

// Runs in the service worker: records the window calls the click handler
// makes (without changing what they do) in self.__e2eWindowCalls.
function installWindowProbe() {
  self.__e2eWindowCalls = [];
  if (self.__e2eWindowProbe) return;
  self.__e2eWindowProbe = true;
  const record = (call, url, promise) =>
    promise.then(
      (result) => {
        self.__e2eWindowCalls.push({ call, url, ok: true });
        return result;
      },
      (err) => {
        self.__e2eWindowCalls.push({ call, url, ok: false, error: String(err) });
        throw err;
      },
    );
  const focus = WindowClient.prototype.focus;
  WindowClient.prototype.focus = function () {
    return record('focus', this.url, focus.call(this));
  };
  const openWindow = Clients.prototype.openWindow;
  Clients.prototype.openWindow = function (url) {
    return record('openWindow', url, openWindow.call(this, url));
  };
}

function waitForCalls(worker) {
  return waitFor(() => worker.evaluate(() => self.__e2eWindowCalls), (calls) => calls.length > 0, {
    what: 'the click handler to focus or open a window',
  });
}
