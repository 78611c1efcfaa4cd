/*
 * push.js: web push for the shop's storefront, or any frontend of the shop.
 * No dependencies, no build step:
 *
 *   <script src="/push.js"></script>
 *   <button id="notify">Enable notifications</button>
 *   <script>
 *     document.getElementById('notify').addEventListener('click', async () => {
 *       try {
 *         await shopPush.enable({ token: pb.authStore.token });
 *       } catch (err) {
 *         alert(err.message); // says what happened and what to do
 *       }
 *     });
 *   </script>
 *
 * window.shopPush:
 *   supported()      true if this browser can receive web push here (it needs
 *                    service workers, the Push API, notifications and a secure
 *                    context: https, or http://localhost / 127.0.0.1).
 *   permission()     'granted' | 'denied' | 'default' | 'unsupported'.
 *   register()       registers /sw.js (scope "/"); resolves to the
 *                    registration. Call it on page load so the worker is
 *                    ready before the customer clicks anything.
 *   enable({token, baseUrl = location.origin, timeoutMs = 20000})
 *                    asks for permission if needed, subscribes this browser
 *                    and saves the subscription for the signed-in customer
 *                    (token: the PocketBase auth token). Resolves to
 *                    {id, endpoint} of the server's record. timeoutMs bounds
 *                    the wait for the browser's push service, which may
 *                    never answer when it cannot be reached.
 *                    Call it from a user gesture (a click handler), and
 *                    before any other await in that handler: browsers refuse
 *                    or silently ignore permission prompts that do not come
 *                    straight from a click.
 *                    Once permission is granted it never prompts again, so it
 *                    is also safe (and recommended) to call it after every
 *                    sign-in when permission() === 'granted': that re-saves
 *                    the subscription, follows a key rotation on the server,
 *                    and picks up a subscription the browser renewed itself.
 *   disable({token, baseUrl = location.origin})
 *                    unsubscribes this browser and, with a token, removes its
 *                    record on the server. Resolves to true if there was a
 *                    subscription.
 *   isEnabled()      resolves to true if this browser has a push
 *                    subscription and permission to show notifications.
 *
 * Every failure rejects with an Error whose message can be shown to the
 * customer as is; it also has `code` ('unsupported', 'denied', 'dismissed',
 * 'signed-out', 'unavailable', 'refused', 'subscribe-failed') and, for server
 * answers, `status` and `serverMessage`.
 *
 * The service worker posts to the API on its own origin, so the frontend
 * and the API should share an origin (as they do when pb_public is served by
 * the shop binary); baseUrl only changes where this script talks to.
 */
(function () {
  'use strict';

  const SW_URL = '/sw.js';
  const SW_SCOPE = '/';
  // The server's VAPID public key at the last successful enable(). If the
  // server's key differs later, it was rotated: the old subscription can no
  // longer be pushed to and must be replaced.
  const KEY_STORAGE = 'shopPush.publicKey';
  // How long enable() waits for the browser's push service by default.
  const SUBSCRIBE_TIMEOUT_MS = 20000;

  function fail(code, message, extra) {
    const err = new Error(message);
    err.code = code;
    return Object.assign(err, extra);
  }

  function unsupportedReason() {
    if (typeof window === 'undefined' || typeof navigator === 'undefined') {
      return 'Notifications are not available here.';
    }
    if (!window.isSecureContext) {
      return 'Notifications need a secure connection: open the shop over https.';
    }
    if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) {
      // iOS/iPadOS Safari supports web push only for sites added to the Home Screen.
      return 'This browser cannot receive notifications from the shop. ' +
        'Try a current Chrome, Edge, Firefox or Safari (on iPhone: add the shop to the Home Screen first).';
    }
    return '';
  }

  function supported() {
    return unsupportedReason() === '';
  }

  function permission() {
    return supported() ? Notification.permission : 'unsupported';
  }

  function register() {
    if (!supported()) {
      return Promise.reject(fail('unsupported', unsupportedReason()));
    }
    // updateViaCache: 'none' makes the browser check sw.js itself for updates
    // instead of trusting the HTTP cache, so a new worker is picked up soon.
    return navigator.serviceWorker.register(SW_URL, { scope: SW_SCOPE, updateViaCache: 'none' });
  }

  // Notification.requestPermission() returns a promise in current browsers and
  // takes a callback in old Safari; this handles both.
  function requestPermission() {
    return new Promise((resolve) => {
      const result = Notification.requestPermission(resolve);
      if (result && typeof result.then === 'function') {
        result.then(resolve);
      }
    });
  }

  async function ensurePermission() {
    let state = Notification.permission;
    if (state === 'default') {
      state = await requestPermission();
    }
    if (state === 'granted') {
      return;
    }
    if (state === 'denied') {
      throw fail('denied',
        'Notifications are blocked for this site. Allow them in the browser\'s site settings ' +
        '(the icon left of the address), then try again.');
    }
    throw fail('dismissed', 'Notifications were not turned on: the browser\'s question was closed without an answer.');
  }

  function trimSlash(url) {
    return String(url).replace(/\/+$/, '');
  }

  // Reads a PocketBase error answer ({"message": "..."}) without failing on
  // a body that is not JSON.
  async function serverMessage(res) {
    try {
      const body = await res.json();
      if (body && typeof body.message === 'string' && body.message) {
        return body.message;
      }
    } catch (_) {
      // not JSON
    }
    return 'HTTP ' + res.status;
  }

  async function request(url, init, what) {
    let res;
    try {
      res = await fetch(url, init);
    } catch (err) {
      throw fail('unavailable', 'Could not reach the shop to ' + what + '. Check the connection and try again.', { cause: err });
    }
    return res;
  }

  async function fetchKey(baseUrl) {
    const res = await request(baseUrl + '/api/notify/webpush/key', { credentials: 'omit' }, 'set up notifications');
    if (!res.ok) {
      throw fail('unavailable', 'The shop cannot send notifications right now: ' + await serverMessage(res), { status: res.status });
    }
    const body = await res.json().catch(() => ({}));
    if (!body || typeof body.publicKey !== 'string' || !body.publicKey) {
      throw fail('unavailable', 'The shop cannot send notifications right now: it did not send its push key.');
    }
    return body.publicKey;
  }

  function base64UrlToBytes(s) {
    const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  }

  function sameBytes(buffer, bytes) {
    if (!buffer) {
      return false;
    }
    const a = ArrayBuffer.isView(buffer)
      ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
      : new Uint8Array(buffer);
    return a.length === bytes.length && a.every((b, i) => b === bytes[i]);
  }

  function storedKey() {
    try {
      return localStorage.getItem(KEY_STORAGE);
    } catch (_) {
      return null; // storage disabled: rely on the subscription's own key
    }
  }

  function storeKey(key) {
    try {
      if (key) {
        localStorage.setItem(KEY_STORAGE, key);
      } else {
        localStorage.removeItem(KEY_STORAGE);
      }
    } catch (_) {
      // storage disabled: nothing to remember
    }
  }

  async function enable(options) {
    const opts = options || {};
    if (!supported()) {
      throw fail('unsupported', unsupportedReason());
    }
    if (!opts.token) {
      throw fail('signed-out', 'Sign in to turn on notifications.');
    }
    const baseUrl = trimSlash(opts.baseUrl || location.origin);

    // Ask first, before any other await: the prompt must come from the click.
    await ensurePermission();

    const [registration, publicKey] = await Promise.all([
      register().then(() => navigator.serviceWorker.ready),
      fetchKey(baseUrl),
    ]);
    const key = base64UrlToBytes(publicKey);

    let subscription = await registration.pushManager.getSubscription();
    if (subscription) {
      // A subscription made with another key cannot be pushed to with the
      // server's current one (the server rotated its keys). The browser
      // tells us the key of the subscription where it can; otherwise the
      // key remembered at the last enable() decides.
      const ownKey = subscription.options && subscription.options.applicationServerKey;
      const stale = ownKey ? !sameBytes(ownKey, key) : storedKey() !== publicKey;
      if (stale) {
        await subscription.unsubscribe();
        subscription = null;
      }
    }
    if (!subscription) {
      // The browser asks its vendor's push service for an endpoint. When that
      // service cannot be reached (a blocked network, a browser build without
      // one) the promise may never settle, so give up after a while.
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('the browser\'s push service did not answer')),
          opts.timeoutMs || SUBSCRIBE_TIMEOUT_MS);
      });
      try {
        subscription = await Promise.race([
          registration.pushManager.subscribe({
            userVisibleOnly: true, // every push shows a notification (sw.js does)
            applicationServerKey: key,
          }),
          timeout,
        ]);
      } catch (err) {
        throw fail('subscribe-failed',
          'The browser could not subscribe to notifications (' + (err && err.message || err) + '). Try again later.',
          { cause: err });
      } finally {
        clearTimeout(timer);
      }
    }

    const res = await request(baseUrl + '/api/notify/webpush/subscribe', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: opts.token },
      credentials: 'omit',
      body: JSON.stringify(subscription.toJSON()),
    }, 'turn on notifications');
    if (!res.ok) {
      const message = await serverMessage(res);
      if (res.status === 401 || res.status === 403) {
        throw fail('signed-out', 'Sign in again to turn on notifications.', { status: res.status, serverMessage: message });
      }
      throw fail('refused', 'The shop did not accept this browser for notifications: ' + message,
        { status: res.status, serverMessage: message });
    }
    storeKey(publicKey);
    return res.json();
  }

  // PocketBase filter string literal: single quotes, backslash-escaped.
  function filterString(s) {
    return "'" + String(s).replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
  }

  async function disable(options) {
    const opts = options || {};
    if (!supported()) {
      return false; // nothing can be subscribed here
    }
    const baseUrl = trimSlash(opts.baseUrl || location.origin);
    const registration = await navigator.serviceWorker.getRegistration(SW_SCOPE);
    const subscription = registration && await registration.pushManager.getSubscription();
    storeKey(null);
    if (!subscription) {
      return false;
    }
    const endpoint = subscription.endpoint;
    // Unsubscribe in the browser first: that alone stops notifications, even
    // if the shop cannot be reached (its record then fails on the next send
    // with 404/410 and is deleted by the server).
    await subscription.unsubscribe();
    if (!opts.token) {
      return true;
    }

    const records = baseUrl + '/api/collections/notifyPushSubscriptions/records';
    const headers = { Authorization: opts.token };
    const list = await request(records + '?perPage=10&skipTotal=1&filter=' + encodeURIComponent('endpoint = ' + filterString(endpoint)),
      { headers, credentials: 'omit' }, 'turn off notifications');
    if (!list.ok) {
      throw fail('refused', 'Notifications are off in this browser, but the shop could not forget it: ' + await serverMessage(list), { status: list.status });
    }
    const { items = [] } = await list.json();
    for (const item of items) {
      const res = await request(records + '/' + encodeURIComponent(item.id),
        { method: 'DELETE', headers, credentials: 'omit' }, 'turn off notifications');
      if (!res.ok && res.status !== 404) {
        throw fail('refused', 'Notifications are off in this browser, but the shop could not forget it: ' + await serverMessage(res), { status: res.status });
      }
    }
    return true;
  }

  async function isEnabled() {
    if (!supported() || Notification.permission !== 'granted') {
      return false;
    }
    const registration = await navigator.serviceWorker.getRegistration(SW_SCOPE);
    if (!registration) {
      return false;
    }
    return Boolean(await registration.pushManager.getSubscription());
  }

  window.shopPush = Object.freeze({ supported, permission, register, enable, disable, isEnabled });
})();
