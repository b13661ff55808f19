// The browser harness on its own (no nango server): Debian's Chromium starts through playwright-core,
// the harness page imports @nangohq/frontend@0.16.1 from node_modules without errors, the SDK's
// synchronous errors come back as {type, message}, and a click opens the SDK's popup.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser } from '../lib/browser.js';
import { startHarness } from '../lib/harness.js';

let browser;
let harness;
before(async () => {
  harness = await startHarness();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await harness?.close();
});

test('harness page loads @nangohq/frontend@0.16.1 with no console or page errors', async () => {
  const { page, problems } = browser;
  await page.goto(harness.pageUrl({ sdk: 'frontend' }));
  const info = await page.evaluate(() => window.harnessReady);
  assert.deepEqual(info, { sdk: 'frontend', url: '/sdk/frontend.js' });
  assert.equal(await page.evaluate(() => typeof window.NangoSDK), 'function');
  assert.deepEqual(problems, []);
});

test('SDK errors thrown synchronously come back as {type, message}', async () => {
  const { page } = browser;
  const r = await page.evaluate(() => window.runAuth('not a url', 'k', 'c'));
  assert.deepEqual(r, { error: { type: null, message: 'Invalid URL provided for the Nango host: not a url' } });
  const cloud = await page.evaluate(() => window.runAuth('https://api.nango.dev', 'k', 'c'));
  assert.equal(cloud.error.message, 'You should specify a Public Key when using Nango Cloud (cf. documentation).');
});

test('a click on Connect opens the SDK popup', async () => {
  const { page, context, popups } = browser;
  const before = popups.length;
  // A host without a WebSocket endpoint: the SDK still opens its blank popup first, inside the click.
  await page.evaluate((origin) => window.prepareAuth(origin, 'some-key', 'conn-1'), harness.origin);
  const popupP = context.waitForEvent('page', { timeout: 5000 });
  await page.click('#connect');
  const popup = await popupP;
  assert.equal(popups.length, before + 1);
  assert.equal(popup.url(), 'about:blank');
  await popup.close();
});
