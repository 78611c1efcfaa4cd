/*
 * The shop's service worker: shows web push notifications, opens the page a
 * notification points to when it is clicked, and keeps the server's copy of
 * this browser's push subscription current.
 *
 * It is served from /sw.js so that its scope can be the whole site ("/"): a
 * worker can only control pages at or below the path of its script.
 *
 * The push payload is the JSON the server's web push channel sends
 * (channels/webpush/payload.go):
 *   {"title": "...", "body": "...", "url": "/#/orders/abc or https://...",
 *    "tag": "orders-abc", "icon": "optional"}
 *
 * Plain ES2020, no build step, no imports: a service worker script is fetched
 * and re-checked by the browser on its own schedule, so it must stand alone.
 */
'use strict';

// Shown when a push carries no usable title, e.g. a plain-text test message
// sent from DevTools or an older server.
const DEFAULT_TITLE = 'Shop';

// The shop's API is on the worker's own origin (pb_public is served by the
// same binary as /api/).
const API = self.location.origin + '/api/notify/webpush';

// ---------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------

// Activate a new version at once instead of waiting for every tab of the old
// one to close: the worker holds no state that an old page could depend on,
// and a stale worker would keep showing notifications the old way.
self.addEventListener('install', () => {
  self.skipWaiting();
});

// Take control of pages that were opened before the worker was installed, so
// the very first page that registers it is controlled without a reload (the
// demo page and the storefront rely on that).
self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

// ---------------------------------------------------------------------------
// push: show the notification
// ---------------------------------------------------------------------------

self.addEventListener('push', (event) => {
  const note = parsePayload(event.data);
  // waitUntil keeps the worker alive until the notification is shown. Chrome
  // also requires every push to show a notification (userVisibleOnly); if one
  // does not, it shows a generic "site updated in the background" one itself.
  event.waitUntil(
    self.registration.showNotification(note.title, {
      body: note.body,
      // Same tag = same subject (e.g. one order): the newer notification
      // replaces the older one instead of stacking up.
      tag: note.tag,
      // Without renotify a replacement is silent; with it the customer is told
      // again (status changed). Browsers reject renotify without a tag.
      renotify: Boolean(note.tag),
      icon: note.icon,
      data: { url: note.url },
    }),
  );
});

/**
 * Turns a push message's data into {title, body, url, tag, icon}. A payload
 * that is not a JSON object is shown as the body under the default title, so
 * that a malformed message still reaches the customer rather than being
 * replaced by the browser's generic notice.
 */
function parsePayload(data) {
  const text = data ? data.text() : '';
  let msg = null;
  try {
    msg = JSON.parse(text);
  } catch (_) {
    // not JSON: handled below
  }
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
    const body = typeof msg === 'string' ? msg : text; // "\"text\"" → text
    return { title: DEFAULT_TITLE, body, url: '/', tag: undefined, icon: undefined };
  }
  return {
    title: str(msg.title) || DEFAULT_TITLE,
    body: str(msg.body),
    url: str(msg.url) || '/',
    tag: str(msg.tag) || undefined,
    icon: str(msg.icon) || undefined,
  };
}

function str(v) {
  return typeof v === 'string' ? v : '';
}

// ---------------------------------------------------------------------------
// notificationclick: open or focus the page the notification is about
// ---------------------------------------------------------------------------

self.addEventListener('notificationclick', (event) => {
  const notification = event.notification;
  notification.close();
  const url = targetUrl(notification.data && notification.data.url);
  // The browser allows focus() and openWindow() only while it is handling a
  // click on a notification; waitUntil keeps that window open until the
  // promise settles.
  event.waitUntil(openOrFocus(url));
});

/**
 * Resolves a payload URL: a path such as "/#/orders/abc" is relative to the
 * shop's origin. Anything that is not http(s) (javascript:, data:, …) or does
 * not parse falls back to the home page.
 */
function targetUrl(raw) {
  try {
    const url = new URL(raw || '/', self.location.origin);
    if (url.protocol === 'https:' || url.protocol === 'http:') {
      return url.href;
    }
  } catch (_) {
    // fall through
  }
  return new URL('/', self.location.origin).href;
}

async function openOrFocus(url) {
  // includeUncontrolled: a tab opened before this worker took control (or a
  // hard-reloaded one) is still a tab the customer would want reused.
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const open = windows.find((client) => client.url === url);
  if (open) {
    return open.focus();
  }
  return self.clients.openWindow(url);
}

// ---------------------------------------------------------------------------
// pushsubscriptionchange: keep the server's subscription current
// ---------------------------------------------------------------------------

// The browser fires this when the push service expired or replaced the
// subscription. The old endpoint will answer 404/410 from now on, so without
// telling the server the customer would silently stop getting notifications.
// A worker has no sign-in token; it proves the right to move the customer's
// subscription by sending the old endpoint with the old auth secret, which
// only this browser knows (see POST /api/notify/webpush/subscribe).
self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil(resubscribe(event.oldSubscription || null, event.newSubscription || null));
});

async function resubscribe(oldSubscription, newSubscription) {
  // Always use the server's current key: it may have been rotated since the
  // old subscription was made, and a subscription made with another key
  // cannot be pushed to.
  const res = await fetch(API + '/key', { credentials: 'omit' });
  if (!res.ok) {
    throw new Error('web push key: HTTP ' + res.status);
  }
  const { publicKey } = await res.json();
  const key = base64UrlToBytes(publicKey);

  let subscription = newSubscription;
  if (!subscription || !sameBytes(subscription.options && subscription.options.applicationServerKey, key)) {
    subscription = await self.registration.pushManager.getSubscription();
    if (subscription && !sameBytes(subscription.options && subscription.options.applicationServerKey, key)) {
      await subscription.unsubscribe();
      subscription = null;
    }
    if (!subscription) {
      subscription = await self.registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: key,
      });
    }
  }

  const old = oldSubscription && oldSubscription.toJSON();
  if (!old || !old.endpoint || !old.keys || !old.keys.auth) {
    // Some browsers do not say what the old subscription was. Then there is
    // nothing to prove ownership with: the new subscription is kept in the
    // browser, and push.js registers it with the customer's token the next
    // time the storefront calls shopPush.enable().
    return;
  }
  if (old.endpoint === subscription.endpoint) {
    return; // nothing changed for the server
  }
  const body = Object.assign(subscription.toJSON(), {
    replaces: { endpoint: old.endpoint, auth: old.keys.auth },
  });
  const saved = await fetch(API + '/subscribe', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    credentials: 'omit',
    body: JSON.stringify(body),
  });
  if (!saved.ok) {
    throw new Error('web push subscribe: HTTP ' + saved.status);
  }
}

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

/** Decodes unpadded base64url (the form of VAPID keys) to bytes. */
function base64UrlToBytes(s) {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/** Compares an ArrayBuffer (or view) with a Uint8Array byte by byte. */
function sameBytes(buffer, bytes) {
  if (!buffer) {
    return false;
  }
  const a = ArrayBuffer.isView(buffer)
    ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
    : new Uint8Array(buffer);
  if (a.length !== bytes.length) {
    return false;
  }
  return a.every((b, i) => b === bytes[i]);
}
