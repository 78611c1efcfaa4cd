// Helpers for the storefront's browser tests (storefront.test.mjs): a shop
// with a staff account (a superuser made with the binary's own CLI), the
// staff's REST calls, and the customer's steps in the UI.

import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SHOP_BIN, startShop } from './shop.mjs';

const run = promisify(execFile);
const E2E_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where screenshots go: <repo>/test-artifacts/screenshots. */
export const SCREENSHOT_DIR = path.resolve(E2E_DIR, '..', 'test-artifacts', 'screenshots');

export const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
};

/**
 * Starts the shop (see startShop) and gives it a staff account:
 * `./shop superuser upsert` on its data directory, then a superuser token.
 * Returns the shop with `staff(method, path, body)`, which calls the REST
 * API as that superuser and resolves to the JSON answer (throws on non-2xx).
 */
export async function startShopWithStaff(opts = {}) {
  const shop = await startShop(opts);
  try {
    const email = 'staff@example.org';
    const password = 'staff-password-123';
    await run(opts.bin || SHOP_BIN, ['superuser', 'upsert', email, password, '--dir', shop.dir], { timeout: 20_000 });
    const res = await shop.fetch('/api/collections/_superusers/auth-with-password', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ identity: email, password }),
    });
    if (!res.ok) throw new Error(`superuser sign-in failed: HTTP ${res.status} ${await res.text()}`);
    const { token } = await res.json();
    shop.staffToken = token;
    shop.staff = async (method, p, body) => {
      const answer = await shop.fetch(p, {
        method,
        headers: { Authorization: token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await answer.text();
      if (!answer.ok) throw new Error(`${method} ${p}: HTTP ${answer.status} ${text}`);
      return text ? JSON.parse(text) : null;
    };
    // Email on, so that the storefront offers it (it offers only the
    // channels the shop runs); nothing listens there, so emails wait in the
    // queue, retried, which no test here looks at.
    // The shop's rate limits (sign-up 5 a minute) count per address, and
    // every browser here is 127.0.0.1: these tests are not about them.
    await shop.staff('PATCH', '/api/settings', {
      smtp: { enabled: true, host: '127.0.0.1', port: 9 },
      rateLimits: { excludedIPs: ['127.0.0.1'] },
    });
  } catch (err) {
    await shop.stop();
    throw err;
  }
  return shop;
}

/** A PocketBase filter string literal. */
export const quote = (s) => `"${String(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** The staff's view of message rows matching `filter` (hidden fields included). */
export async function staffMessages(shop, filter) {
  const q = new URLSearchParams({ filter, perPage: '200', sort: 'created' });
  const { items } = await shop.staff('GET', `/api/collections/notifyMessages/records?${q}`);
  return items;
}

/**
 * Opens a page in `context` at `viewport`, recording uncaught page errors
 * in `page.errors` (a test asserts there are none).
 */
export async function openPage(context, viewport = VIEWPORTS.desktop) {
  const page = await context.newPage();
  await page.setViewportSize(viewport);
  page.errors = [];
  page.on('pageerror', (err) => page.errors.push(err.message));
  return page;
}

export function uniqueEmail(prefix = 'customer') {
  return `${prefix}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.org`;
}

/** Signs up through the storefront's form; resolves once signed in. */
export async function signUpInUI(page, origin, { name, email, password }) {
  await page.goto(`${origin}/#/signup`);
  await page.getByTestId('signup-name').fill(name);
  await page.getByTestId('signup-email').fill(email);
  await page.getByTestId('signup-password').fill(password);
  await page.getByTestId('signup-submit').click();
  await page.waitForURL((url) => !url.hash.startsWith('#/signup'), { timeout: 10_000 });
  await page.locator(`[data-testid="account-name"]:text-is(${JSON.stringify(name)})`).waitFor({ state: 'attached', timeout: 10_000 });
}

/** Signs in through the storefront's form; resolves once signed in. */
export async function signInInUI(page, origin, { email, password }) {
  await page.goto(`${origin}/#/signin`);
  await page.getByTestId('signin-email').fill(email);
  await page.getByTestId('signin-password').fill(password);
  await page.getByTestId('signin-submit').click();
  // The storefront leaves the sign-in page once it is signed in.
  await page.waitForURL((url) => !url.hash.startsWith('#/signin'), { timeout: 10_000 });
  await waitForSignedInAs(page, email);
}

async function waitForSignedInAs(page, email) {
  await page.waitForFunction(async (want) => {
    const raw = localStorage.getItem('pocketbase_auth');
    return Boolean(raw) && JSON.parse(raw).record?.email === want;
  }, email, { timeout: 10_000 });
}

/** Forgets any session and cart in the page's browser profile. */
export async function resetStorage(page, origin) {
  await page.goto(`${origin}/`);
  await page.evaluate(() => {
    localStorage.clear();
    sessionStorage.clear();
  });
  await page.reload();
}

/** The number on the Inbox badge; 0 when it is hidden. */
export function unreadBadge(page) {
  return page.evaluate(() => {
    const badge = document.querySelector('[data-testid="unread-badge"]');
    return !badge || badge.hidden ? 0 : Number(badge.textContent);
  });
}

/** Waits (auto-polling in the page) until the Inbox badge shows `n`. */
export async function waitForBadge(page, n, timeout = 5_000) {
  try {
    await page.waitForFunction((want) => {
      const badge = document.querySelector('[data-testid="unread-badge"]');
      const shown = !badge || badge.hidden ? 0 : Number(badge.textContent);
      return shown === want;
    }, n, { timeout });
  } catch (err) {
    err.message = `the unread badge did not show ${n} within ${timeout} ms (it shows ${await unreadBadge(page)}): ${err.message}`;
    throw err;
  }
}

/**
 * The seeded catalogue's product ids by slug ({sencha: 'abc…', …}), as
 * anyone may list them.
 */
export async function productIds(shop) {
  const res = await shop.fetch('/api/collections/products/records?perPage=200');
  if (!res.ok) throw new Error(`products: HTTP ${res.status} ${await res.text()}`);
  const { items } = await res.json();
  return Object.fromEntries(items.filter((p) => p.slug).map((p) => [p.slug, p.id]));
}

/** Creates an order as the customer through the REST API; items are {product, qty}. */
export async function placeOrderByApi(shop, customer, items, address = 'Moscow, Tverskaya 7, flat 12') {
  const res = await shop.fetch('/api/collections/orders/records', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: customer.token },
    body: JSON.stringify({ customer: customer.record.id, items, address }),
  });
  if (!res.ok) throw new Error(`order failed: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * Saves a screenshot of the whole page as <page>-<kind>.png. The viewport
 * is stretched to the page's height for the shot, so that fixed bars (the
 * phone's tab bar) sit at the bottom of the page as on a tall screen rather
 * than over the middle of it.
 */
export async function screenshot(page, name, kind) {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}-${kind}.png`);
  // From the top, without the focus ring of the last click or the toasts
  // that click raised (closed as a customer would).
  await page.evaluate(() => {
    if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
    document.querySelectorAll('.toast-close').forEach((button) => button.click());
    window.scrollTo(0, 0);
  });
  const viewport = page.viewportSize();
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  try {
    if (height > viewport.height) await page.setViewportSize({ width: viewport.width, height: Math.min(height, 6000) });
    await page.waitForTimeout(200);
    await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
  } finally {
    await page.setViewportSize(viewport);
  }
  return file;
}

/**
 * A stand-in for Telegram's Bot API on a free loopback port: it answers
 * getMe with the bot `username` and every other method with success, and
 * records the calls. Start the shop with `env` (webhook mode, so a test
 * delivers the bot's updates itself with `deliverUpdate`).
 */
export async function startFakeBotApi({ username = 'leafbean_bot', token = '123456:TEST-token', secret = 'e2e-webhook-secret' } = {}) {
  const calls = [];
  let messageId = 0;
  const server = createServer((req, res) => {
    const method = (req.url || '').split('/').pop().split('?')[0];
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      calls.push({ method, body: Buffer.concat(chunks).toString('utf8') });
      let result = true;
      if (method === 'getMe') result = { id: 1, is_bot: true, first_name: 'Leaf & Bean', username };
      if (method === 'sendMessage') result = { message_id: ++messageId, date: Math.floor(Date.now() / 1000), chat: { id: 1, type: 'private' } };
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ ok: true, result }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    calls,
    env: { NOTIFY_TELEGRAM_TOKEN: token, NOTIFY_TELEGRAM_API_URL: url, NOTIFY_TELEGRAM_WEBHOOK_SECRET: secret },
    /** Sends `update` to the shop's webhook as Telegram would. */
    async deliverUpdate(shop, update) {
      const res = await shop.fetch('/api/notify/telegram/webhook', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Telegram-Bot-Api-Secret-Token': secret },
        body: JSON.stringify(update),
      });
      if (!res.ok) throw new Error(`webhook: HTTP ${res.status} ${await res.text()}`);
    },
    stop: async () => {
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
