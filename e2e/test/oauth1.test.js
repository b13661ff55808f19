// OAuth 1.0a end to end: the built nango binary, @nangohq/frontend@0.16.1 in Chromium driving the
// popup, @nangohq/node@0.16.0's getToken and proxy, against an OAuth 1.0a provider whose signature
// checks are the npm package oauth-1.0a (not the server's signer): every request of the dance and
// every proxied call must pass them, for HMAC-SHA1 and PLAINTEXT consumers.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Nango as NodeNango } from '@nangohq/node';
import { launchBrowser } from '../lib/browser.js';
import { startHarness } from '../lib/harness.js';
import { ensureBinary, startNango } from '../lib/nango.js';

let oauth1;
let skip = '';
try {
  ({ startOAuth1Provider: oauth1 } = await import('../lib/oauth1-provider.js'));
} catch (err) {
  skip = `npm package oauth-1.0a is not installed (${err.message.split('\n')[0]}): add it to e2e/package.json`;
}

const CONSUMERS = [
  { key: 'e2e-hmac-consumer', secret: `hmac secret&+/${crypto.randomBytes(6).toString('hex')}`, method: 'HMAC-SHA1', template: 'e2e-oauth1-hmac', integration: 'o1-hmac' },
  { key: 'e2e-plain-consumer', secret: `plain-${crypto.randomBytes(6).toString('hex')}`, method: 'PLAINTEXT', template: 'e2e-oauth1-plaintext', integration: 'o1-plain' },
];

let provider;
let nango;
let tmp;
let harness;
let browser;
const secretKey = crypto.randomUUID();

before(async () => {
  if (skip) return;
  const bin = await ensureBinary();
  if (bin.missing) { skip = bin.missing; return; }
  provider = await oauth1({ consumers: CONSUMERS });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'nango-e2e-oauth1-'));
  const providersFile = path.join(tmp, 'providers.yaml');
  await fs.writeFile(providersFile, provider.providersYAML());
  nango = await startNango({ binary: bin.binary, name: 'oauth1', env: { NANGO_SECRET_KEY: secretKey, NANGO_PROVIDERS_FILE: providersFile } });
  for (const c of CONSUMERS) {
    const r = await api('POST', '/config', {
      provider_config_key: c.integration, provider: c.template, oauth_client_id: c.key, oauth_client_secret: c.secret, oauth_scopes: 'read,write',
    });
    assert.equal(r.status, 200, `POST /config ${c.integration}: ${r.status} ${r.text}`);
  }
  harness = await startHarness();
  browser = await launchBrowser();
  await browser.page.goto(harness.pageUrl({ sdk: 'frontend', host: nango.url }));
  await browser.page.evaluate(() => window.harnessReady);
});

after(async () => {
  await browser?.close();
  await harness?.close();
  await nango?.stop();
  await provider?.close();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

async function api(method, p, body, headers = {}) {
  const res = await fetch(`${nango.url}${p}`, {
    method,
    headers: { Authorization: `Basic ${Buffer.from(`${secretKey}:`).toString('base64')}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
    signal: AbortSignal.timeout(20000),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, json, text };
}

/** auth clicks Connect on the harness page: @nangohq/frontend opens the popup and waits on its socket. */
async function auth(key, connectionId) {
  const { page, context } = browser;
  await page.evaluate((a) => window.prepareAuth(...a), [nango.url, key, connectionId, null, null]);
  const popupP = context.waitForEvent('page', { timeout: 5000 }).catch(() => null);
  await page.click('#connect');
  const popup = await popupP;
  let timer;
  const outcome = await Promise.race([
    page.evaluate(() => window.lastAuth),
    new Promise((r) => { timer = setTimeout(() => r({ timeout: true }), 20000); }),
  ]);
  clearTimeout(timer);
  const closed = popup ? (popup.isClosed() || await popup.waitForEvent('close', { timeout: 5000 }).then(() => true, () => false)) : false;
  return { ...outcome, popupClosed: closed };
}

for (const c of CONSUMERS) {
  test(`${c.method}: browser flow, getToken, and proxied calls the oauth-1.0a verifier accepts`, { skip: skip || false }, async () => {
    const before = provider.log.length;
    const connId = `user-${c.method.toLowerCase()}`;
    const out = await auth(c.integration, connId);
    assert.deepEqual(out.result, { providerConfigKey: c.integration, connectionId: connId }, `auth outcome: ${JSON.stringify(out)}\n${nango.logs().slice(-2000)}`);
    assert.equal(out.popupClosed, true);

    const dance = provider.log.slice(before);
    assert.deepEqual(dance.map((l) => [l.path, l.verified, l.reason]), [
      ['/oauth/request_token', true, undefined],
      ['/oauth/access_token', true, undefined],
    ]);
    const rt = [...provider.requestTokens.values()];
    assert.equal(rt.length, 0, 'the request token was exchanged');

    // @nangohq/node 0.16 getToken returns both values of an OAUTH1 connection.
    const node = new NodeNango({ host: nango.url, secretKey });
    const tok = await node.getToken(c.integration, connId);
    assert.ok(provider.accessTokens.has(tok.oAuthToken), `getToken = ${JSON.stringify(tok)}`);
    assert.equal(provider.accessTokens.get(tok.oAuthToken).secret, tok.oAuthTokenSecret);
    const conn = await node.getConnection(c.integration, connId);
    assert.equal(conn.credentials.type, 'OAUTH1');
    assert.equal(conn.credentials.raw.screen_name, 'ada');

    // Proxied calls: a GET with a query, a JSON POST through the SDK, a form POST signed over its body.
    const n0 = provider.log.length;
    const get = await node.proxy({ method: 'GET', endpoint: '/1.1/account/verify_credentials.json?include_email=true&skip_status=1', providerConfigKey: c.integration, connectionId: connId });
    assert.equal(get.status, 200);
    assert.deepEqual(get.data.query, { include_email: 'true', skip_status: '1' });
    const post = await node.post({ endpoint: '/1.1/statuses/update.json', providerConfigKey: c.integration, connectionId: connId, data: { status: 'hello' } });
    assert.equal(post.status, 200);
    const form = await api('POST', '/proxy/1.1/statuses/update.json', 'status=hello%20world&media_ids=1%2C2', {
      'Connection-Id': connId, 'Provider-Config-Key': c.integration, 'Content-Type': 'application/x-www-form-urlencoded',
    });
    assert.equal(form.status, 200, form.text);
    assert.deepEqual(form.json.form, { status: 'hello world', media_ids: '1,2' });
    assert.deepEqual(provider.log.slice(n0).map((l) => l.verified), [true, true, true], JSON.stringify(provider.log.slice(n0)));
  });
}

test('the verifier is not a rubber stamp: a forged signature is refused', { skip: skip || false }, async () => {
  const [tokenValue] = provider.accessTokens.keys();
  const h = `OAuth oauth_consumer_key="${CONSUMERS[0].key}", oauth_nonce="n", oauth_signature="Zm9yZ2Vk", oauth_signature_method="HMAC-SHA1", oauth_timestamp="${Math.floor(Date.now() / 1000)}", oauth_token="${tokenValue}", oauth_version="1.0"`;
  const r = await fetch(`${provider.base}/api/x`, { headers: { Authorization: h } });
  assert.equal(r.status, 401);
  assert.equal(provider.log.at(-1).reason, 'signature mismatch');
});

test('the request-token call carries the state in oauth_callback and the template parameters', { skip: skip || false }, async () => {
  const before = provider.log.length;
  const res = await fetch(`${nango.url}/oauth/connect/o1-hmac?connection_id=peek`, { redirect: 'manual' });
  assert.equal(res.status, 302);
  const loc = new URL(res.headers.get('location'));
  assert.equal(loc.origin + loc.pathname, `${provider.base}/oauth/authorize`);
  assert.equal(loc.searchParams.get('scope'), 'read,write');
  assert.equal(loc.searchParams.get('expiration'), 'never');
  const rt = provider.requestTokens.get(loc.searchParams.get('oauth_token'));
  assert.match(rt.callback, new RegExp(`^${nango.url}/oauth/callback\\?state=[A-Za-z0-9_-]{40,}$`));
  assert.deepEqual(rt.requestParams, { x_auth_access_type: 'write' });
  assert.equal(provider.log[before].verified, true);
});
