// The storefront's header on phones, signed out, in both languages: the
// shop's name (from the dashboard's Application settings, through
// /api/shop/info) is shown whole, and nothing in the header overflows it
// or runs under its neighbour. Screenshots in ../test-artifacts/screenshots/.
//
//   make build && cd e2e && node --test header.test.mjs

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { launchBrowser } from './lib/shop.mjs';
import { SCREENSHOT_DIR, openPage, startShopWithStaff } from './lib/storefront.mjs';

const WIDTHS = [320, 360, 390, 414];
const LANGS = ['ru', 'en'];
// The demo shop's name and the Russian one its owner might give instead.
const NAMES = ['Leaf & Bean', 'Лист и Зерно'];

/**
 * What overflows in the header, as a list of sentences (empty when it
 * fits): an element wider than its box (clipped or spilling), an element
 * outside the viewport, or the shop's name overlapping the tools.
 */
function headerProblems() {
  const problems = [];
  const header = document.querySelector('.site-header');
  const inner = header.querySelector('.header-inner');
  const describe = (el) => `${el.tagName.toLowerCase()}${el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : ''}`;
  for (const box of [header, inner]) {
    if (box.scrollWidth > box.clientWidth) problems.push(`${describe(box)} scrolls: ${box.scrollWidth} > ${box.clientWidth}`);
    if (box.scrollHeight > box.clientHeight + 1) problems.push(`${describe(box)} is too short: ${box.scrollHeight} > ${box.clientHeight}`);
  }
  const width = document.documentElement.clientWidth;
  for (const el of inner.querySelectorAll('*')) {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden' || el.closest('.main-nav')) continue; // the tab bar lives at the bottom
    if (style.position === 'absolute' && style.clip !== 'auto') continue; // visually hidden labels
    const rect = el.getBoundingClientRect();
    if (rect.width === 0 && rect.height === 0) continue;
    if (rect.left < -0.5 || rect.right > width + 0.5) problems.push(`${describe(el)} leaves the viewport: ${rect.left}–${rect.right} of ${width}`);
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0 && style.overflow !== 'visible') {
      problems.push(`${describe(el)} clips its content: ${el.scrollWidth} > ${el.clientWidth}`);
    }
  }
  const name = inner.querySelector('.brand-name');
  const tools = inner.querySelector('.header-tools');
  const range = document.createRange();
  range.selectNodeContents(name);
  const text = range.getBoundingClientRect(); // the glyphs, even where they spill
  const brand = inner.querySelector('.brand').getBoundingClientRect();
  const toolsRect = tools.getBoundingClientRect();
  if (text.right > toolsRect.left + 0.5) problems.push(`the name ends at ${text.right}, under the tools that start at ${toolsRect.left}`);
  if (text.right > brand.right + 0.5) problems.push(`the name spills out of the brand: ${text.right} > ${brand.right}`);
  const innerRect = inner.getBoundingClientRect();
  if (text.top < innerRect.top - 0.5 || text.bottom > innerRect.bottom + 0.5) problems.push(`the name spills out of the header vertically: ${text.top}–${text.bottom}`);
  return problems;
}

describe('storefront header on phones', () => {
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

  for (const name of NAMES) {
    test(`signed out, "${name}" fits at ${WIDTHS.join(', ')} px in ${LANGS.join(' and ')}`, { timeout: 60_000 }, async () => {
      await shop.staff('PATCH', '/api/settings', { meta: { appName: name } });
      const page = await openPage(browser.context, { width: WIDTHS[0], height: 700 });
      try {
        await mkdir(SCREENSHOT_DIR, { recursive: true });
        const failures = [];
        for (const lang of LANGS) {
          await page.goto(`${shop.origin}/#/`);
          await page.evaluate((code) => {
            localStorage.clear();
            localStorage.setItem('shop.lang', code);
          }, lang);
          for (const width of WIDTHS) {
            await page.setViewportSize({ width, height: 700 });
            await page.reload();
            await page.locator('[data-testid="brand-name"]', { hasText: name }).waitFor({ timeout: 5_000 });
            await page.getByTestId('signin-link').waitFor();
            assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
            const problems = await page.evaluate(headerProblems);
            if (problems.length) failures.push(`${lang} ${width} px: ${problems.join('; ')}`);
            const slug = name === NAMES[0] ? 'latin' : 'cyrillic';
            await page.screenshot({
              path: path.join(SCREENSHOT_DIR, `header-${slug}-${lang}-${width}.png`),
              clip: { x: 0, y: 0, width, height: 80 },
              animations: 'disabled',
              caret: 'hide',
            });
          }
        }
        assert.deepEqual(failures, []);
        // The sign-in link is an icon on phones but keeps its name.
        assert.equal(await page.getByRole('link', { name: /Sign in|Войти/ }).count(), 1);
        assert.deepEqual(page.errors, []);
      } finally {
        await page.close();
      }
    });
  }

  test('the storefront shows the shop\'s name and address from the dashboard settings', { timeout: 30_000 }, async () => {
    await shop.staff('PATCH', '/api/settings', { meta: { appName: 'Чайная Лавка', senderAddress: 'shop@lavka.example' } });
    const page = await openPage(browser.context);
    try {
      await page.goto(`${shop.origin}/#/`);
      await page.locator('[data-testid="brand-name"]', { hasText: 'Чайная Лавка' }).waitFor({ timeout: 5_000 });
      await page.locator('[data-testid="shop-email"]', { hasText: 'shop@lavka.example' }).waitFor();
      assert.match(await page.getByTestId('footer').textContent(), /^Чайная Лавка · /);
      assert.equal(await page.getByTestId('shop-email').getAttribute('href'), 'mailto:shop@lavka.example');
      await page.waitForFunction(() => document.title.endsWith(' · Чайная Лавка'));
      assert.deepEqual(page.errors, []);
    } finally {
      await page.close();
    }
  });
});
