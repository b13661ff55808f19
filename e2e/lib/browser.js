// Launches Debian's Chromium headless through playwright-core, with the flags our machines need
// (no sandbox as root, no GPU, no QUIC, no background network traffic to Google), a fresh profile
// directory per launch, and collection of console errors and page errors from every page and popup.

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * launchBrowser starts headless Chromium with a new empty user-data-dir.
 * Returns {context, page, problems, popups, close}:
 *   - problems: [{kind:'console'|'pageerror', url, text}] from every page (popups included);
 *   - popups: every page opened after the first one, in order;
 *   - close(): closes the browser and removes the profile directory.
 */
export async function launchBrowser({ headless = true } = {}) {
  try {
    await fs.access(CHROMIUM_PATH, fs.constants.X_OK);
  } catch {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: run e2e/scripts/ensure-chromium.sh`);
  }
  const userDataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'nango-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 800 },
  });
  const problems = [];
  const popups = [];
  const watch = (page) => {
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push({ kind: 'console', url: page.url(), text: msg.text() });
    });
    page.on('pageerror', (err) => problems.push({ kind: 'pageerror', url: page.url(), text: String(err?.stack || err) }));
  };
  const first = context.pages()[0] || (await context.newPage());
  watch(first);
  context.on('page', (p) => {
    if (p !== first) popups.push(p);
    watch(p);
  });
  return {
    context,
    page: first,
    problems,
    popups,
    async close() {
      await context.close().catch(() => {});
      await fs.rm(userDataDir, { recursive: true, force: true });
    },
  };
}
