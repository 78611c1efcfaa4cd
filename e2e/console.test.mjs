// The Notifications page in the PocketBase dashboard (the plugin's UI
// extension, notify/internal/console) against the real shop binary in
// headless Chromium: sign in to /_/, follow the header link, see numbers
// that match the API and follow realtime, retry a failure group and see the
// messages reach the SMTP server, edit a template with a live preview, see a
// broken one refused on the right line, send a test, simulate a rule; and
// screenshots of every view at 1366 px, light and dark.
//
//   make build && cd e2e && npm ci && node --test console.test.mjs

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, waitFor } from './lib/shop.mjs';
import { SCREENSHOT_DIR, startShopWithStaff } from './lib/storefront.mjs';

const STAFF = { email: 'staff@example.org', password: 'staff-password-123' };
const VIEWPORT = { width: 1366, height: 900 };

/**
 * A plain SMTP server on loopback (the shop allows SMTP without TLS only
 * there): it accepts every message except to the addresses in `rejected`,
 * which get 550 at RCPT TO as a mail server with no such mailbox answers.
 */
async function startSMTPSink() {
  const messages = [];
  const rejected = new Set();
  const sockets = new Set();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.setEncoding('utf8');
    let buffer = '';
    let inData = false;
    let current = null;
    const reply = (line) => socket.write(line + '\r\n');
    reply('220 sink.test ESMTP');
    socket.on('data', (chunk) => {
      buffer += chunk;
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          current.data = buffer.slice(0, end);
          buffer = buffer.slice(end + 5);
          inData = false;
          messages.push(current);
          current = null;
          reply('250 2.0.0 queued as ' + messages.length);
          continue;
        }
        const nl = buffer.indexOf('\r\n');
        if (nl < 0) return;
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') reply('250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8');
        else if (verb === 'HELO') reply('250 sink.test');
        else if (verb === 'MAIL') {
          current = { from: line.slice(10).replace(/[<>]/g, '').split(' ')[0], to: [], data: '' };
          reply('250 2.1.0 ok');
        } else if (verb === 'RCPT') {
          const addr = line.slice(8).replace(/[<>]/g, '').split(' ')[0].toLowerCase();
          if (rejected.has(addr)) reply('550 5.1.1 mailbox unavailable');
          else {
            current?.to.push(addr);
            reply('250 2.1.5 ok');
          }
        } else if (verb === 'DATA') {
          inData = true;
          reply('354 go ahead');
        } else if (verb === 'RSET') {
          current = null;
          reply('250 ok');
        } else if (verb === 'NOOP') reply('250 ok');
        else if (verb === 'QUIT') {
          reply('221 bye');
          socket.end();
        } else reply('502 5.5.2 not implemented');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: server.address().port,
    messages,
    rejected,
    to: (addr) => messages.filter((m) => m.to.includes(addr.toLowerCase())),
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** The subject of a raw message (RFC 2047 words decoded). */
function subjectOf(raw) {
  const m = raw.match(/^Subject: (.*(?:\r\n[ \t].*)*)/m);
  if (!m) return '';
  return m[1].replace(/\r\n[ \t]/g, ' ').replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_, enc, text) =>
    enc.toLowerCase() === 'b'
      ? Buffer.from(text, 'base64').toString('utf8')
      : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (__, h) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'));
}

/**
 * Replaces the text of a dashboard code editor as a person types it, Enter
 * between lines (Playwright's fill() on a contenteditable drops newlines).
 */
async function typeInto(page, editor, text) {
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  for (const [i, line] of text.split('\n').entries()) {
    if (i) await page.keyboard.press('Enter');
    if (line) await page.keyboard.insertText(line);
  }
}

async function signUp(shop, name, email) {
  const res = await shop.fetch('/api/collections/users/records', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: 'password-123', passwordConfirm: 'password-123', name, locale: 'en' }),
  });
  if (!res.ok) throw new Error(`sign-up ${email}: HTTP ${res.status} ${await res.text()}`);
  const auth = await shop.fetch('/api/collections/users/auth-with-password', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ identity: email, password: 'password-123' }),
  });
  const { token, record } = await auth.json();
  return { id: record.id, email, token };
}

async function messagesWhere(shop, filter) {
  const q = new URLSearchParams({ filter, perPage: '200', sort: 'created' });
  return (await shop.staff('GET', `/api/collections/notifyMessages/records?${q}`)).items;
}

async function shot(page, name, scheme) {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.evaluate((s) => {
    app.store.userColorScheme = s;
    document.activeElement?.blur?.();
    app.toasts.removeAll(false);
    document.querySelector('.page-content')?.scrollTo(0, 0);
  }, scheme);
  await page.waitForTimeout(300); // the dashboard re-enables its transitions 100 ms after a scheme change
  const file = path.join(SCREENSHOT_DIR, `console-${name}-${scheme}.png`);
  await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
  return file;
}

describe('the Notifications page in the dashboard', () => {
  let shop;
  let smtp;
  let browser;
  let page;
  const gone = ['gone1@example.org', 'gone2@example.org'];

  before(async () => {
    smtp = await startSMTPSink();
    shop = await startShopWithStaff();
    await shop.staff('PATCH', '/api/settings', {
      meta: { appName: 'Leaf & Bean', senderName: 'Leaf & Bean', senderAddress: 'shop@example.org' },
      smtp: { enabled: true, host: '127.0.0.1', port: smtp.port, tls: false },
    });
    for (const addr of gone) smtp.rejected.add(addr);
    await signUp(shop, 'Gone One', gone[0]);
    await signUp(shop, 'Gone Two', gone[1]);
    const anna = await signUp(shop, 'Anna Petrova', 'anna@example.org');
    shop.anna = anna;
    await waitFor(() => messagesWhere(shop, `status = "failed"`), (items) => items.length === 2, { timeoutMs: 15_000 });
    await waitFor(() => Promise.resolve(smtp.to('anna@example.org')), (m) => m.length === 1, { timeoutMs: 15_000 });

    browser = await launchBrowser();
    page = await browser.context.newPage();
    await page.setViewportSize(VIEWPORT);
    page.on('pageerror', (err) => console.error('page error:', err.message));
  }, { timeout: 60_000 });

  after(async () => {
    await browser?.close();
    await shop?.stop();
    await smtp?.close();
  }, { timeout: 30_000 });

  test('sign in, follow the header link, see the health that the API reports, live', { timeout: 60_000 }, async () => {
    await page.goto(shop.origin + '/_/#/login');
    await page.fill('#login_identity', STAFF.email);
    await page.fill('#login_pass', STAFF.password);
    await page.keyboard.press('Enter');
    const link = page.locator('.app-main-nav a.header-link', { hasText: 'Notifications' });
    await link.waitFor();
    assert.equal(await link.getAttribute('href'), '#/notify');
    await link.click();
    await page.waitForURL(/#\/notify$/);
    assert.match(await link.getAttribute('class'), /active/);
    await page.locator('[data-stat="failed24h"] .notify-stat-value').waitFor();

    const statValue = (key) => page.locator(`[data-stat="${key}"] .notify-stat-value`).textContent();
    const health = await shop.staff('GET', '/api/notify/console/health');
    for (const key of ['queued', 'due', 'retrying', 'sending', 'failed24h']) {
      assert.equal(await statValue(key), String(health[key]), `${key} on the page and in the API`);
    }
    assert.equal(health.failed24h, 2);
    const emailRow = page.locator('tr[data-channel="email"]');
    assert.match(await emailRow.textContent(), /configured/);
    assert.match(await emailRow.locator('.notify-last-error').textContent(), /550/);
    assert.match(await page.locator('tr[data-channel="telegram"]').textContent(), /not configured\s*set up: NOTIFY_TELEGRAM_TOKEN/);

    // Live: a third refused welcome shows without a reload.
    smtp.rejected.add('gone3@example.org');
    gone.push('gone3@example.org');
    const before = await page.evaluate(() => location.href + performance.getEntriesByType('navigation').length);
    await signUp(shop, 'Gone Three', 'gone3@example.org');
    await page.waitForFunction(
      () => document.querySelector('[data-stat="failed24h"] .notify-stat-value')?.textContent === '3',
      null,
      { timeout: 15_000 },
    );
    assert.equal(await page.evaluate(() => location.href + performance.getEntriesByType('navigation').length), before);
    const after = await shop.staff('GET', '/api/notify/console/health');
    assert.equal(after.failed24h, 3);
    await shot(page, 'health', 'light');
    await shot(page, 'health', 'dark');
    await page.evaluate(() => (app.store.userColorScheme = 'light'));
  });

  test('failures are grouped by reason; retrying the group sends them', { timeout: 60_000 }, async () => {
    await page.locator('.notify-sidebar a', { hasText: 'Failures' }).click();
    const group = page.locator('.notify-group');
    await group.first().waitFor();
    assert.equal(await group.count(), 1, 'the three 550s are one group');
    assert.equal(await group.locator('.notify-group-count').textContent(), '3');
    assert.match(await group.locator('.notify-group-reason').textContent(), /550 "5\.1\.1 mailbox unavailable"/);
    await group.getByRole('button', { name: 'Show messages' }).click();
    assert.equal(await group.locator('tbody tr').count(), 3);

    await shot(page, 'failures', 'light');
    await shot(page, 'failures', 'dark');
    await page.evaluate(() => (app.store.userColorScheme = 'light'));

    // The mailboxes exist again: the retry reaches them.
    for (const addr of gone) smtp.rejected.delete(addr);
    await group.getByRole('button', { name: 'Retry group' }).click();
    await page.locator('.modal .modal-footer button', { hasText: 'Retry group' }).click();
    for (const addr of gone) {
      await waitFor(() => Promise.resolve(smtp.to(addr)), (m) => m.length === 1, { timeoutMs: 15_000 });
    }
    await page.locator('.notify-failures .alert.success', { hasText: 'No failed messages' }).waitFor({ timeout: 15_000 });
    const sent = await messagesWhere(shop, `to ~ "gone" && status = "sent"`);
    assert.equal(sent.length, 3);

    // The Skipped tab lists what the API lists.
    await page.locator('.notify-failures button[data-status="skipped"]').click();
    const skipped = await shop.staff('GET', '/api/notify/console/failures?status=skipped');
    if (skipped.groups.length === 0) {
      await page.locator('.notify-failures .alert.success', { hasText: 'No skipped messages' }).waitFor();
    } else {
      await page.locator('.notify-group').first().waitFor();
      assert.equal(await page.locator('.notify-group').count(), skipped.groups.length);
    }
  });

  test('per-rule charts match the API, screenshots light and dark', { timeout: 60_000 }, async () => {
    await page.locator('.notify-sidebar a', { hasText: 'Per rule' }).click();
    await page.locator('.notify-rule-card').first().waitFor();
    const stats = await shop.staff('GET', '/api/notify/console/stats?range=7d');
    const welcomeRule = Object.entries(stats.rules).find(([, name]) => /welcome/i.test(name))?.[0];
    assert.ok(welcomeRule, 'a welcome rule exists');
    const welcomes = stats.rows.filter((r) => r.rule === welcomeRule);
    const sentInAPI = welcomes.reduce((n, r) => n + r.sent, 0);
    const emailsInAPI = welcomes.filter((r) => r.channel === 'email').reduce((n, r) => n + r.sent, 0);
    assert.equal(emailsInAPI, 4, 'four welcome emails went out (one at once, three after the retry)');
    const card = page.locator(`.notify-rule-card[data-rule="${welcomeRule}"]`);
    assert.equal(await card.locator('[data-total="sent"]').textContent(), `sent ${sentInAPI}`);
    const emailRow = card.locator('tr[data-channel="email"] td');
    assert.equal(await emailRow.nth(1).textContent(), String(emailsInAPI));
    assert.ok((await card.locator('svg rect[data-series="sent"]').count()) >= 1, 'the chart draws the sent messages');
    await shot(page, 'rules', 'light');
    await shot(page, 'rules', 'dark');
    await page.evaluate(() => (app.store.userColorScheme = 'light'));
  });

  test('edit a template: live preview, a broken field refused on its line, save, send a test', { timeout: 90_000 }, async () => {
    await page.locator('.notify-sidebar a', { hasText: 'Templates' }).click();
    await page.locator('#notify-tpl-key').waitFor();
    await page.selectOption('#notify-tpl-key', 'order.shipped');
    await page.selectOption('#notify-tpl-locale', 'en');
    const subject = page.locator('.notify-pv-subject');
    await subject.waitFor();
    assert.match(await subject.textContent(), /has shipped/);
    const smsSegments = page.locator('.notify-sms-segments');
    assert.equal(await smsSegments.getAttribute('data-segments'), '1');

    // The preview follows the typing.
    await page.locator('#notify-tpl-subject .editor-content').fill('Parcel {{.Record.number}} is on its way to you');
    await page.waitForFunction(() => /Parcel .* is on its way to you/.test(document.querySelector('.notify-pv-subject')?.textContent || ''));
    await page.locator('#notify-tpl-sms .editor-content').fill('Заказ {{.Record.number}} отправлен. '.repeat(6));
    await page.waitForFunction(() => document.querySelector('.notify-sms-segments')?.dataset.segments === '3');

    // A broken line 3 of the HTML is named as the reader types it.
    const html = page.locator('#notify-tpl-html .editor-content');
    const goodHTML = await html.textContent();
    await typeInto(page, html, '<p>Hello</p>\n<p>Your order</p>\n<p>{{if .Record.number}</p>');
    const err = page.locator('[data-field="html"] .notify-field-error');
    await err.waitFor();
    assert.equal(await err.getAttribute('data-line'), '3');
    assert.match(await err.textContent(), /^Line 3: /);
    // ...and marked in the editor, on the third line of its text.
    const mark = await page.locator('[data-field="html"] .notify-line-mark').boundingBox();
    const box = await html.boundingBox();
    const lineHeight = await html.evaluate((el) => parseFloat(getComputedStyle(el).lineHeight));
    assert.ok(Math.abs(mark.y - (box.y + 2 * lineHeight)) < 2, `mark at ${mark.y}, third line at ${box.y + 2 * lineHeight}`);
    await shot(page, 'templates-error', 'light');

    // Saving it is refused the same way and nothing is stored.
    await page.locator('button.notify-save').click();
    await page.locator('.toast', { hasText: 'was not saved' }).waitFor();
    const tpl = (await shop.staff('GET', `/api/collections/notifyTemplates/records?filter=${encodeURIComponent('key="order.shipped" && locale="en"')}`)).items[0];
    assert.match(tpl.subject, /has shipped/);

    // Fixed, it saves.
    await typeInto(page, html, goodHTML);
    await err.waitFor({ state: 'detached' });
    await page.locator('.notify-pv-email iframe').waitFor();
    await page.locator('button.notify-save').click();
    await page.locator('.toast', { hasText: 'Template saved' }).waitFor();
    const saved = await shop.staff('GET', `/api/collections/notifyTemplates/records/${tpl.id}`);
    assert.equal(saved.subject, 'Parcel {{.Record.number}} is on its way to you');
    assert.equal(saved.html, tpl.html, 'the HTML is back as it was, line by line');

    await shot(page, 'templates', 'light');
    await shot(page, 'templates', 'dark');
    await page.evaluate(() => (app.store.userColorScheme = 'light'));

    // A test to a typed address arrives at the SMTP server with the new subject.
    await page.selectOption('#notify-test-channel', 'email');
    await page.fill('#notify-test-to', 'owner@example.org');
    await page.locator('button.notify-test-send').click();
    await page.locator('.notify-test-result.success').waitFor({ timeout: 30_000 });
    const [mail] = await waitFor(() => Promise.resolve(smtp.to('owner@example.org')), (m) => m.length === 1, { timeoutMs: 15_000 });
    assert.match(subjectOf(mail.data), /^Parcel .+ is on its way to you$/);
  });

  test('the rule simulator says what an update would send', { timeout: 60_000 }, async () => {
    // Written by the staff, who may set free-form items (a customer's must
    // name catalogue products).
    const order = await shop.staff('POST', '/api/collections/orders/records', {
      customer: shop.anna.id, items: [{ name: 'Sencha', qty: 1, price: 590 }], address: 'Moscow',
    });
    assert.ok(order.id, JSON.stringify(order));
    const before = (await messagesWhere(shop, `sourceRecord = "${order.id}"`)).length;

    await page.locator('.notify-sidebar a', { hasText: 'Rule simulator' }).click();
    await page.locator('#notify-sim-collection').waitFor();
    await page.selectOption('#notify-sim-collection', 'orders');
    // The dashboard's own record picker (the only order there is).
    await page.getByRole('button', { name: 'Pick', exact: true }).click();
    await page.locator('.records-picker-modal .records-picker-list .list-item.handle').first().click();
    await page.locator('.records-picker-modal .modal-footer button', { hasText: 'Simulate with this record' }).click();
    assert.equal(await page.inputValue('#notify-sim-record'), order.id);
    await page.selectOption('#notify-sim-event', 'update');
    await page.locator('#notify-sim-changes .editor-content').fill('{"status": "shipped"}');
    await page.locator('button.notify-sim-run').click();
    const fires = page.locator('.notify-verdict.fires');
    await fires.first().waitFor();
    const firing = await fires.allTextContents();
    assert.ok(firing.some((s) => /order\.shipped/.test(s)), firing.join('\n'));
    assert.ok(!firing.some((s) => /order\.created/.test(s)), 'the create rule does not fire on an update');
    const notFiring = await page.locator('.notify-verdict:not(.fires) .notify-verdict-reason').allTextContents();
    assert.ok(notFiring.some((s) => /fires on create, not update/.test(s)), notFiring.join('\n'));
    await shot(page, 'simulator', 'light');
    await shot(page, 'simulator', 'dark');

    // Nothing was written.
    const stored = await shop.staff('GET', `/api/collections/orders/records/${order.id}`);
    assert.equal(stored.status, 'new');
    assert.equal((await messagesWhere(shop, `sourceRecord = "${order.id}"`)).length, before);

    // The template editor previews against that real order once it is picked.
    await page.locator('.notify-sidebar a', { hasText: 'Templates' }).click();
    await page.locator('.notify-pv-subject').waitFor();
    await page.selectOption('#notify-tpl-key', 'order.shipped');
    await page.getByRole('button', { name: 'Pick a record' }).click();
    await page.locator('.records-picker-modal .records-picker-list .list-item.handle').first().click();
    await page.locator('.records-picker-modal .modal-footer button', { hasText: 'Preview with this record' }).click();
    await page.waitForFunction(
      (n) => document.querySelector('.notify-pv-subject')?.textContent.includes(`Parcel ${n} is on its way`),
      stored.number,
    );
    assert.match(await page.locator('.notify-preview-source').textContent(), /^record /);
  });
});
