// Helpers for browser end-to-end tests of the shop binary: start the real
// binary on a free loopback port with a fresh data directory, drive Debian's
// Chromium through playwright-core, and deliver web push messages to a
// page's service worker through the DevTools protocol.
//
// Nothing here builds anything: run `make build` first (or point SHOP_BIN at
// a binary).
//
// Environment:
//   SHOP_BIN         the shop binary (default: ../shop relative to e2e/)
//   SHOP_PUBLIC_DIR  serve this directory as pb_public instead of the copy
//                    embedded in the binary (e.g. ../pb_public while editing)
//   CHROMIUM_BIN     the browser (default: /usr/bin/chromium)
//   E2E_DEBUG=1      echo the shop's log to stderr as it runs

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const E2E_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The shop binary the tests run: $SHOP_BIN or ../shop next to e2e/. */
export const SHOP_BIN = path.resolve(E2E_DIR, process.env.SHOP_BIN || '../shop');

/** The Chromium binary: $CHROMIUM_BIN or Debian's /usr/bin/chromium. */
export const CHROMIUM_BIN = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

/** Flags for a quiet, reproducible headless Chromium that works as root. */
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

// Shops still running when the test process exits (a test runner killed by
// its timeout, an uncaught error) are killed so that no server outlives it.
const running = new Set();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Resolves to a TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Starts the shop binary with a fresh --dir on a free loopback port and
 * waits until GET /api/health answers 200.
 *
 * @param {object}   [opts]
 * @param {string}   [opts.bin]        binary (default SHOP_BIN)
 * @param {string}   [opts.publicDir]  serve this pb_public directory live
 *                                     (default $SHOP_PUBLIC_DIR, else the embedded one)
 * @param {object}   [opts.env]        extra environment variables, e.g.
 *                                     { NOTIFY_WEBPUSH_ALLOWED_ORIGINS: '...' }
 * @param {string[]} [opts.args]       extra arguments after `serve`
 * @param {number}   [opts.timeoutMs]  how long to wait for health (default 20 s)
 * @returns {Promise<Shop>}
 *
 * @typedef {object} Shop
 * @property {string} origin  e.g. "http://127.0.0.1:41234"
 * @property {number} port
 * @property {string} dir     the data directory (removed by stop())
 * @property {import('node:child_process').ChildProcess} process
 * @property {() => string} output  everything the shop printed so far
 * @property {(p: string, init?: RequestInit) => Promise<Response>} fetch  fetch relative to origin
 * @property {(args: string[], opts?: {timeoutMs?: number}) => Promise<{code: number, stdout: string, stderr: string}>} cli
 *           runs another command of the binary on the same data directory,
 *           e.g. cli(['notify', 'vapid', '--rotate']) or cli(['superuser', 'upsert', EMAIL, PASS])
 * @property {() => Promise<void>} stop  SIGTERM, wait, remove the data directory; safe to call twice
 */
export async function startShop(opts = {}) {
  const bin = opts.bin || SHOP_BIN;
  const publicDir = opts.publicDir ?? process.env.SHOP_PUBLIC_DIR;
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const dir = await mkdtemp(path.join(tmpdir(), 'shop-e2e-data-'));
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;

  const args = ['serve', '--dir', dir, '--http', `127.0.0.1:${port}`];
  if (publicDir) args.push('--publicDir', path.resolve(E2E_DIR, publicDir));
  args.push(...(opts.args || []));

  const child = spawn(bin, args, {
    // A VAPID subject by default: without one the shop runs no web push,
    // and the storefront offers none (GET /api/notify/channels).
    env: { NOTIFY_VAPID_SUBJECT: 'mailto:e2e@example.org', ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);

  let log = '';
  const collect = (chunk) => {
    log += chunk;
    if (log.length > 200_000) log = log.slice(-100_000);
    if (process.env.E2E_DEBUG) process.stderr.write(chunk);
  };
  child.stdout.setEncoding('utf8').on('data', collect);
  child.stderr.setEncoding('utf8').on('data', collect);

  let exited = null;
  const exit = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      exited = { code, signal };
      resolve(exited);
    });
    child.once('error', (err) => {
      running.delete(child);
      exited = { error: err };
      resolve(exited);
    });
  });

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      child.kill('SIGTERM');
      // The shop exits at once when idle and within ~10 s when sends are in
      // flight (README, "Shutdown"); do not wait longer than that.
      const timer = setTimeout(() => child.kill('SIGKILL'), 12_000);
      await exit;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const shop = {
    origin,
    port,
    dir,
    process: child,
    output: () => log,
    fetch: (p, init) => fetch(new URL(p, origin), init),
    cli: (cliArgs, cliOpts = {}) => runCli(bin, [...cliArgs, '--dir', dir], { env: opts.env, ...cliOpts }),
    stop,
  };

  try {
    await waitForHealth(shop, () => exited, timeoutMs);
  } catch (err) {
    await stop();
    err.message += `\n--- shop output (${bin} ${args.join(' ')}) ---\n${log.slice(-4000)}`;
    throw err;
  }
  return shop;
}

function runCli(bin, args, { env, timeoutMs = 20_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(bin)} ${args.join(' ')} did not finish in ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function waitForHealth(shop, exitedState, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    const exited = exitedState();
    if (exited) {
      throw new Error(
        exited.error
          ? `could not start the shop: ${exited.error.message}`
          : `the shop exited before it was healthy (code ${exited.code}, signal ${exited.signal})`,
      );
    }
    try {
      const res = await shop.fetch('/api/health', { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err.cause?.code || err.message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the shop at ${shop.origin} was not healthy after ${timeoutMs} ms (last: ${last})`);
}

/**
 * Launches headless Chromium with a fresh profile.
 *
 * @param {object}   [opts]
 * @param {string}   [opts.origin]       origin to grant `permissions` for
 * @param {string[]} [opts.permissions]  default ['notifications']
 * @param {object}   [opts.env]          extra environment for the browser, e.g.
 *                                       the notification center's `env`
 * @param {object}   [opts.contextOptions]  more launchPersistentContext options
 * @returns {Promise<Browser>}
 *
 * @typedef {object} Browser
 * @property {import('playwright-core').BrowserContext} context
 * @property {string} profileDir
 * @property {() => Promise<void>} close  closes the browser, removes the profile; safe to call twice
 */
export async function launchBrowser(opts = {}) {
  const profileDir = await mkdtemp(path.join(tmpdir(), 'shop-e2e-profile-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM_BIN,
      headless: true, // the real mode comes from --headless=new in args
      args: CHROMIUM_ARGS,
      env: { ...process.env, ...opts.env },
      timeout: 30_000,
      ...opts.contextOptions,
    });
    if (opts.origin) {
      await context.grantPermissions(opts.permissions || ['notifications'], { origin: opts.origin });
    }
  } catch (err) {
    await context?.close().catch(() => {});
    await rm(profileDir, { recursive: true, force: true });
    throw err;
  }
  let closed = false;
  return {
    context,
    profileDir,
    close: async () => {
      if (closed) return;
      closed = true;
      await context.close().catch(() => {});
      await rm(profileDir, { recursive: true, force: true });
    },
  };
}

/**
 * Waits until a service worker is active and controls `page` (the shop's
 * worker claims pages on activation, so no reload is needed). Returns the
 * worker's script URL.
 */
export async function waitForServiceWorker(page, { timeoutMs = 15_000 } = {}) {
  return page.evaluate(async (timeout) => {
    const deadline = new Promise((_, reject) =>
      setTimeout(() => reject(new Error('no service worker controls the page')), timeout),
    );
    const controlled = (async () => {
      const registration = await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller) {
        await new Promise((resolve) =>
          navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }),
        );
      }
      return registration.active.scriptURL;
    })();
    return Promise.race([controlled, deadline]);
  }, timeoutMs);
}

/**
 * Attaches to the DevTools ServiceWorker domain of `page`'s browser and
 * returns a push deliverer for the registration whose scope is `scope`
 * (default: the page's origin + "/").
 *
 *   const push = await attachPush(page);
 *   await push.deliver({ title: 'Hi', body: '…' }); // resolves once it is shown
 *   await push.detach();
 *
 * ServiceWorker.deliverPushMessage fires the worker's `push` event with the
 * given data without a push service or a subscription, which is what the
 * tests need offline.
 */
export async function attachPush(page, { scope, timeoutMs = 15_000 } = {}) {
  const context = page.context();
  const wanted = scope || new URL('/', page.url()).href;
  const origin = new URL(wanted).origin;
  const cdp = await context.newCDPSession(page);
  const registrations = new Map(); // registrationId → {scopeURL, isDeleted}
  const versions = new Map(); // versionId → {registrationId, scriptURL, status, runningStatus}
  const listeners = new Set();
  const changed = () => listeners.forEach((fn) => fn());
  cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations: list }) => {
    for (const r of list) registrations.set(r.registrationId, r);
    changed();
  });
  cdp.on('ServiceWorker.workerVersionUpdated', ({ versions: list }) => {
    for (const v of list) versions.set(v.versionId, v);
    changed();
  });
  await cdp.send('ServiceWorker.enable');

  const until = (find, what) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const hit = find();
        if (!hit) return false;
        listeners.delete(check);
        clearTimeout(timer);
        resolve(hit);
        return true;
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      if (!check()) listeners.add(check);
    });

  const registration = await until(
    () => [...registrations.values()].find((r) => r.scopeURL === wanted && !r.isDeleted),
    `a service worker registration for scope ${wanted}`,
  );

  // The Playwright handle of the registration's active worker, to instrument
  // it (see deliver).
  const activeWorker = async () => {
    // A worker that went idle is stopped; start it so it can be instrumented
    // (a no-op when it runs).
    await cdp.send('ServiceWorker.startWorker', { scopeURL: wanted });
    const version = await until(
      () => [...versions.values()].find((v) => v.registrationId === registration.registrationId && v.status === 'activated' && v.runningStatus === 'running'),
      `the active, running worker of ${wanted}`,
    );
    const match = (w) => w.url() === version.scriptURL;
    return context.serviceWorkers().find(match) || context.waitForEvent('serviceworker', { predicate: match, timeout: timeoutMs });
  };

  return {
    registrationId: registration.registrationId,
    origin,
    scope: wanted,

    /**
     * Fires the worker's push event with `data` (a string; anything else is
     * JSON-encoded). With `waitShown` (the default) it resolves only once the
     * worker's showNotification() call has settled, to {title}, and rejects
     * if it failed.
     *
     * Why wait this way rather than poll getNotifications(): Chromium drops
     * a notification from getNotifications() for good when that call races
     * with its display (it prunes entries that the platform does not show
     * yet). So the test wraps showNotification in the worker, from the
     * test side, and reads the notification list only after it settled.
     */
    async deliver(data, { waitShown = true } = {}) {
      const payload = typeof data === 'string' ? data : JSON.stringify(data);
      const worker = waitShown ? await activeWorker() : null;
      const seen = worker ? await worker.evaluate(INSTALL_SHOW_PROBE) : 0;
      await cdp.send('ServiceWorker.deliverPushMessage', {
        origin,
        registrationId: registration.registrationId,
        data: payload,
      });
      if (!worker) return undefined;
      const [first] = await waitFor(
        () => worker.evaluate((n) => self.__e2eShown.slice(n), seen),
        (list) => list.length > 0,
        { timeoutMs, what: `the service worker to show a notification for push ${payload}` },
      );
      if (first.error) throw new Error(`the service worker failed to show the notification: ${first.error}`);
      return first;
    },

    detach: async () => {
      listeners.clear();
      await cdp.send('ServiceWorker.disable').catch(() => {});
      await cdp.detach().catch(() => {});
    },
  };
}

// Runs in the service worker (test side only): records the outcome of every
// showNotification() call in self.__e2eShown; returns how many are recorded.
function INSTALL_SHOW_PROBE() {
  if (!self.__e2eShown) {
    self.__e2eShown = [];
    const proto = ServiceWorkerRegistration.prototype;
    const show = proto.showNotification;
    proto.showNotification = function (title, options) {
      const shown = show.call(this, title, options);
      shown.then(
        () => self.__e2eShown.push({ title }),
        (err) => self.__e2eShown.push({ title, error: String(err) }),
      );
      return shown;
    };
  }
  return self.__e2eShown.length;
}

/**
 * The notifications the page's service worker registration shows now, as
 * plain objects {title, body, tag, icon, data}. With `tag`, only those.
 */
export function shownNotifications(page, { tag } = {}) {
  return page.evaluate(async (filterTag) => {
    const registration = await navigator.serviceWorker.ready;
    const list = await registration.getNotifications(filterTag ? { tag: filterTag } : undefined);
    return list.map((n) => ({ title: n.title, body: n.body, tag: n.tag, icon: n.icon, data: n.data }));
  }, tag);
}

/**
 * Polls `fn` (async, returns a value) until `predicate(value)` holds; returns
 * that value. Throws with the last value after `timeoutMs`; `what` (a string
 * or a function returning one) names what was awaited.
 */
export async function waitFor(fn, predicate, { timeoutMs = 10_000, intervalMs = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let value;
  for (;;) {
    value = await fn();
    if (predicate(value)) return value;
    if (Date.now() > deadline) {
      const name = typeof what === 'function' ? what() : what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${name}; last value: ${JSON.stringify(value)}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Resolves to the page of `context` whose URL is exactly `url`, waiting for
 * one to be opened or navigated there (e.g. by a notification click).
 */
export async function waitForPageWithUrl(context, url, { timeoutMs = 10_000 } = {}) {
  const pages = await waitFor(
    () => context.pages().filter((p) => p.url() === url),
    (list) => list.length > 0,
    { timeoutMs, what: () => `a page at ${url} (open: ${context.pages().map((p) => p.url()).join(', ')})` },
  );
  return pages[0];
}

/**
 * Signs a new customer up and in through PocketBase's API; returns
 * {token, record, email, password}.
 */
export async function signUp(shop, { email, password = 'correct-horse-battery', name = 'E2E Customer', locale = 'en' } = {}) {
  email ||= `e2e-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.org`;
  const created = await shop.fetch('/api/collections/users/records', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password, passwordConfirm: password, name, locale }),
  });
  if (!created.ok) throw new Error(`sign-up failed: HTTP ${created.status} ${await created.text()}`);
  const auth = await shop.fetch('/api/collections/users/auth-with-password', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ identity: email, password }),
  });
  if (!auth.ok) throw new Error(`sign-in failed: HTTP ${auth.status} ${await auth.text()}`);
  const { token, record } = await auth.json();
  return { token, record, email, password };
}
