// pb_public/push.js and the service worker's pushsubscriptionchange handler
// against the real shop binary and its subscribe route.
//
// A browser here cannot reach a push service (PushManager.subscribe() never
// settles), so the tests stand in for it: the page's PushManager is replaced,
// from the test side, by a fake that hands out subscriptions with real P-256
// keys and endpoints on FAKE_PUSH_ORIGIN, which the shop is told to accept
// (NOTIFY_WEBPUSH_ALLOWED_ORIGINS). Everything else is real: permission,
// the service worker, the key and subscribe routes, the CLI's key rotation.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, signUp, startShop, waitFor, waitForServiceWorker } from './lib/shop.mjs';

const FAKE_PUSH_ORIGIN = 'https://push.e2e.invalid';

describe('push.js', () => {
  let shop;
  let browser;
  let page;
  let customer;

  before(async () => {
    shop = await startShop({ env: { NOTIFY_WEBPUSH_ALLOWED_ORIGINS: FAKE_PUSH_ORIGIN } });
    customer = await signUp(shop);
    browser = await launchBrowser({ origin: shop.origin });
    page = browser.context.pages()[0] || (await browser.context.newPage());
    await page.addInitScript(installFakePushService, FAKE_PUSH_ORIGIN);
    await page.goto(`${shop.origin}/push-demo.html`);
    await waitForServiceWorker(page);
  }, { timeout: 30_000 });

  after(async () => {
    await browser?.close();
    await shop?.stop();
  }, { timeout: 30_000 });

  /** The customer's devices, as the server lists them. */
  async function devices() {
    const res = await shop.fetch('/api/collections/notifyPushSubscriptions/records', {
      headers: { Authorization: customer.token },
    });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()).items;
  }

  async function serverKey() {
    const res = await shop.fetch('/api/notify/webpush/key');
    assert.equal(res.status, 200);
    const { publicKey } = await res.json();
    assert.match(publicKey, /^[A-Za-z0-9_-]{87}$/, 'an unpadded base64url P-256 public key');
    return publicKey;
  }

  /** The page's fake push subscription: {endpoint, keys, key (base64url), subscribes, unsubscribes}. */
  const fakeState = (target = page) =>
    target.evaluate(() => {
      const s = self.__fakePush;
      const key = s.current && new Uint8Array(s.current.options.applicationServerKey);
      return {
        ...(s.current ? s.current.toJSON() : {}),
        key: key && btoa(String.fromCharCode(...key)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
        subscribes: s.subscribes,
        unsubscribes: s.unsubscribes,
      };
    });

  const enable = (opts) =>
    page.evaluate(async (o) => {
      try {
        return { ok: await shopPush.enable(o) };
      } catch (err) {
        return { code: err.code, status: err.status, message: err.message };
      }
    }, opts);

  test('the demo page says "sign in" when enabling without an account', { timeout: 30_000 }, async () => {
    await page.getByRole('button', { name: 'Enable notifications' }).click();
    await page.locator('#message.error', { hasText: 'Sign in to turn on notifications.' }).waitFor({ timeout: 10_000 });
    assert.equal((await fakeState()).subscribes, 0, 'nothing was subscribed');
  });

  test('signing in and enabling subscribes with the server key and saves the device', { timeout: 30_000 }, async () => {
    await page.getByLabel('Email').fill(customer.email);
    await page.getByLabel('Password').fill(customer.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#user', { hasText: customer.email }).waitFor({ timeout: 10_000 });

    await page.getByRole('button', { name: 'Enable notifications' }).click();
    await page.locator('#message', { hasText: 'Notifications are on for this browser.' }).waitFor({ timeout: 10_000 });
    await page.locator('#subscribed', { hasText: /^subscribed$/ }).waitFor({ timeout: 10_000 });

    const key = await serverKey();
    const sub = await fakeState();
    assert.equal(sub.key, key, 'subscribed with the server\'s VAPID key');
    assert.ok(sub.endpoint.startsWith(`${FAKE_PUSH_ORIGIN}/`));
    const list = await devices();
    assert.deepEqual(list.map((d) => d.endpoint), [sub.endpoint]);
    assert.equal(list[0].user, customer.record.id);
    assert.equal(await page.evaluate(() => localStorage.getItem('shopPush.publicKey')), key);
    assert.equal(await page.evaluate(() => shopPush.isEnabled()), true);
    assert.equal(await page.evaluate(() => shopPush.permission()), 'granted');
  });

  test('enabling again keeps the subscription', { timeout: 30_000 }, async () => {
    const before = await fakeState();
    const result = await enable({ token: customer.token });
    assert.deepEqual(Object.keys(result), ['ok'], JSON.stringify(result));
    assert.equal(result.ok.endpoint, before.endpoint);
    const after = await fakeState();
    assert.equal(after.subscribes, before.subscribes);
    assert.equal(after.unsubscribes, before.unsubscribes);
    assert.equal((await devices()).length, 1);
  });

  test('after the server rotates its key, enabling subscribes again with the new key', { timeout: 30_000 }, async () => {
    const oldKey = await serverKey();
    const before = await fakeState();
    const rotated = await shop.cli(['notify', 'vapid', '--rotate']);
    assert.equal(rotated.code, 0, rotated.stderr);
    const newKey = rotated.stdout.trim();
    assert.notEqual(newKey, oldKey);
    assert.equal(await serverKey(), newKey, 'the running shop serves the new key');
    assert.deepEqual(await devices(), [], 'rotation removes subscriptions made with the old key');

    const result = await enable({ token: customer.token });
    assert.ok(result.ok, JSON.stringify(result));

    const after = await fakeState();
    assert.equal(after.key, newKey);
    assert.notEqual(after.endpoint, before.endpoint);
    assert.equal(after.unsubscribes, before.unsubscribes + 1, 'the old subscription was dropped');
    assert.deepEqual((await devices()).map((d) => d.endpoint), [after.endpoint]);
    assert.equal(await page.evaluate(() => localStorage.getItem('shopPush.publicKey')), newKey);
  });

  test('a subscription the server refuses is reported with the server\'s reason', { timeout: 30_000 }, async () => {
    // Start from a browser without a subscription, then let the stand-in
    // push service hand out an endpoint on a host no browser uses.
    assert.equal(await page.evaluate((token) => shopPush.disable({ token }), customer.token), true);
    assert.deepEqual(await devices(), []);
    await page.evaluate(() => {
      self.__fakePush.endpointOrigin = 'https://push.attacker.example';
    });
    try {
      const result = await enable({ token: customer.token });
      assert.equal(result.code, 'refused', JSON.stringify(result));
      assert.equal(result.status, 400);
      assert.match(result.message, /^The shop did not accept this browser for notifications: .*not a known browser push service/);
      assert.deepEqual(await devices(), []);
    } finally {
      await page.evaluate(async (origin) => {
        await self.__fakePush.current?.unsubscribe();
        self.__fakePush.endpointOrigin = origin;
      }, FAKE_PUSH_ORIGIN);
    }
  });

  test('an expired sign-in is reported as such', { timeout: 30_000 }, async () => {
    const result = await enable({ token: 'not-a-valid-token' });
    assert.equal(result.code, 'signed-out', JSON.stringify(result));
    assert.equal(result.status, 401);
    assert.match(result.message, /^Sign in again to turn on notifications/);
  });

  test('disabling unsubscribes the browser and removes the device', { timeout: 30_000 }, async () => {
    assert.ok((await enable({ token: customer.token })).ok);
    assert.equal((await devices()).length, 1);

    await page.getByRole('button', { name: 'Disable' }).click();
    await page.locator('#message', { hasText: 'Notifications are off for this browser.' }).waitFor({ timeout: 10_000 });

    assert.deepEqual(await devices(), []);
    assert.equal((await fakeState()).endpoint, undefined);
    assert.equal(await page.evaluate(() => shopPush.isEnabled()), false);
    assert.equal(await page.evaluate(() => localStorage.getItem('shopPush.publicKey')), null);
  });

  test('pushsubscriptionchange in the worker moves the device to the new subscription', { timeout: 30_000 }, async () => {
    assert.ok((await enable({ token: customer.token })).ok);
    const old = await fakeState();
    assert.deepEqual((await devices()).map((d) => d.endpoint), [old.endpoint]);

    // The worker has its own PushManager; give it the fake too. Chromium does
    // not fire pushsubscriptionchange itself, so dispatch one; the handler
    // runs exactly as for a real event (only waitUntil is refused for a
    // script-made event, after its argument, the re-subscription, started).
    const worker = browser.context.serviceWorkers().find((w) => w.url() === `${shop.origin}/sw.js`);
    await worker.evaluate(installFakePushService, FAKE_PUSH_ORIGIN);
    await worker.evaluate((oldJSON) => {
      const event = new ExtendableEvent('pushsubscriptionchange');
      Object.defineProperty(event, 'oldSubscription', { value: { endpoint: oldJSON.endpoint, toJSON: () => oldJSON } });
      Object.defineProperty(event, 'newSubscription', { value: null });
      self.dispatchEvent(event);
    }, { endpoint: old.endpoint, expirationTime: null, keys: old.keys });

    const moved = await waitFor(devices, (list) => list.length === 1 && list[0].endpoint !== old.endpoint, {
      timeoutMs: 10_000,
      what: 'the device to move to the worker\'s new subscription',
    });
    const renewed = await fakeState(worker);
    assert.equal(moved[0].endpoint, renewed.endpoint);
    assert.equal(renewed.key, await serverKey(), 'the worker subscribed with the server\'s current key');
    assert.equal(moved[0].user, customer.record.id);
  });

  test('a push service that never answers ends in a clear error, not a hang', { timeout: 30_000 }, async () => {
    // A page without the fake: the browser's real PushManager.
    const real = await browser.context.newPage();
    try {
      await real.goto(`${shop.origin}/push-demo.html`);
      await waitForServiceWorker(real);
      const result = await real.evaluate(async (token) => {
        const reg = await navigator.serviceWorker.ready;
        await (await reg.pushManager.getSubscription())?.unsubscribe();
        try {
          await shopPush.enable({ token, timeoutMs: 1000 });
          return { ok: true };
        } catch (err) {
          return { code: err.code, message: err.message };
        }
      }, customer.token);
      assert.equal(result.code, 'subscribe-failed', JSON.stringify(result));
      assert.match(result.message, /^The browser could not subscribe to notifications \(.+\)\. Try again later\.$/);
    } finally {
      await real.close();
    }
  });

  test('notifications blocked in the browser are reported with what to do', { timeout: 30_000 }, async () => {
    // Headless Chromium answers a permission prompt with "block".
    await browser.context.clearPermissions();
    try {
      assert.equal(await page.evaluate(() => shopPush.permission()), 'default');
      const result = await enable({ token: customer.token });
      assert.equal(result.code, 'denied', JSON.stringify(result));
      assert.match(result.message, /^Notifications are blocked for this site\. Allow them in the browser's site settings/);
      assert.equal(await page.evaluate(() => shopPush.permission()), 'denied');
    } finally {
      await browser.context.grantPermissions(['notifications'], { origin: shop.origin });
    }
  });
});

// Runs in the page (as an init script) or in the service worker: replaces
// PushManager with a stand-in push service that subscribes at once. Its
// subscriptions carry a real P-256 key and a random 16-byte auth secret, as
// the server checks both; endpoints are `${endpointOrigin}/<uuid>`. Like
// Chrome, it refuses to subscribe with another key while subscribed.
function installFakePushService(endpointOrigin) {
  if (self.__fakePush) return;
  const state = { current: null, subscribes: 0, unsubscribes: 0, endpointOrigin };
  self.__fakePush = state;
  const b64url = (bytes) =>
    btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const same = (a, b) => {
    const x = new Uint8Array(a);
    const y = new Uint8Array(b);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  };

  class FakeSubscription {
    constructor(endpoint, applicationServerKey, p256dh, auth) {
      this.endpoint = endpoint;
      this.expirationTime = null;
      this.options = { userVisibleOnly: true, applicationServerKey };
      this._keys = { p256dh, auth };
    }
    getKey(name) {
      const s = this._keys[name];
      return s ? Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)).buffer : null;
    }
    toJSON() {
      return { endpoint: this.endpoint, expirationTime: null, keys: { ...this._keys } };
    }
    async unsubscribe() {
      if (state.current !== this) return false;
      state.current = null;
      state.unsubscribes++;
      return true;
    }
  }

  PushManager.prototype.getSubscription = async function () {
    return state.current;
  };
  PushManager.prototype.subscribe = async function (options = {}) {
    if (options.userVisibleOnly !== true) {
      throw new DOMException('userVisibleOnly must be true', 'NotAllowedError');
    }
    const raw = options.applicationServerKey;
    const key = (ArrayBuffer.isView(raw) ? new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength) : new Uint8Array(raw)).slice().buffer;
    if (state.current) {
      if (same(state.current.options.applicationServerKey, key)) return state.current;
      throw new DOMException('A subscription with a different applicationServerKey already exists.', 'InvalidStateError');
    }
    const pair = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
    const p256dh = b64url(await crypto.subtle.exportKey('raw', pair.publicKey));
    const auth = b64url(crypto.getRandomValues(new Uint8Array(16)));
    state.subscribes++;
    state.current = new FakeSubscription(`${state.endpointOrigin}/${crypto.randomUUID()}`, key, p256dh, auth);
    return state.current;
  };
}
