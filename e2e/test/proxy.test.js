// Issue 5's e2e criterion: @nangohq/node@0.16.0 proxy/get/post/patch/delete through nango's
// ALL /proxy/* against the real OAuth server's protected API, including a header forwarded with the
// Nango-Proxy- prefix.
//
// The connection comes from the browser flow, or, when the server can import connections
// (POST /connection, SPEC Part A), from tokens obtained from the provider over plain HTTP, so the
// proxy is tested even before the popup flow works.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { axiosError, startStack } from '../lib/stack.js';

// The axios instance @nangohq/node uses: 0.16.0's proxy() ignores config.headers, so a request
// interceptor on that instance is how an app adds Nango-Proxy-* headers. npm hoists axios, so this
// import resolves to the very module the SDK imports (checked below: no nested copy).
const require = createRequire(import.meta.url);
const sdkAxios = (await import('axios')).default;
const nested = path.join(path.dirname(require.resolve('@nangohq/node/package.json')), 'node_modules', 'axios');
if (fs.existsSync(nested)) throw new Error(`@nangohq/node has its own axios at ${nested}; the interceptor would not apply`);

describe('proxy through @nangohq/node@0.16.0', () => {
  let s;
  let skipAll = '';
  let f = {};
  let key;
  let connectionId;
  let how = '';
  let accessToken;

  before(async () => {
    s = await startStack({ name: 'proxy' });
    if (s.skip) { skipAll = s.skip; return; }
    f = await s.probe();
    if (!f.config.ok) { skipAll = f.config.reason; return; }
    if (!f.proxy.ok) { skipAll = f.proxy.reason; return; }
    const created = await s.createIntegration('proxy');
    if (created.status >= 300) throw new Error(`POST /config failed: ${created.status} ${created.text}`);
    key = s.keys.proxy;
    connectionId = `${s.runId}-proxy-user`;

    if (f.import.ok) {
      // Tokens straight from the provider (code flow by hand), imported into nango.
      const tok = await s.tokensByHand('e2e-proxy');
      const imp = await s.api('POST', '/connection', {
        connection_id: connectionId,
        provider_config_key: key,
        access_token: tok.access_token,
        refresh_token: tok.refresh_token,
        expires_in: tok.expires_in,
        raw: tok,
      });
      if (imp.status !== 201 && imp.status !== 200) throw new Error(`POST /connection import failed: ${imp.status} ${imp.text}`);
      accessToken = tok.access_token;
      how = 'import';
      return;
    }
    if (f.connect.ok && f.callback.ok && (await s.websocketAck())) {
      const r = await s.auth(key, connectionId, { timeoutMs: 20000 });
      if (!r.result) throw new Error(`auth() for the proxy connection failed: ${JSON.stringify(r)}`);
      accessToken = s.oauth.issuedTokens('e2e-proxy').at(-1).accessToken;
      how = 'flow';
      return;
    }
    skipAll = 'no way to create a connection: server lacks POST /connection (import) and the OAuth popup flow';
  });
  after(async () => { if (s && !s.skip) await s.stop(); });

  function need(t) {
    if (skipAll) { t.skip(skipAll); return false; }
    return true;
  }
  const base = () => ({ providerConfigKey: key, connectionId });

  test('get: upstream sees GET with the connection\'s bearer token, never the secret key', async (t) => {
    if (!need(t)) return;
    const res = await s.node().get({ ...base(), endpoint: '/echo' });
    assert.equal(res.status, 200);
    const echo = res.data;
    assert.equal(echo.method, 'GET');
    assert.equal(echo.path, '/api/echo');
    assert.equal(echo.token.client_id, 'e2e-proxy', 'the provider accepted the injected token');
    assert.equal(echo.headers.authorization, `Bearer ${accessToken}`);
    assert.ok(!JSON.stringify(echo.headers).includes(s.secretKey), 'the Nango secret key is not forwarded');
    assert.equal(echo.headers['connection-id'], undefined, 'nango\'s own headers are not forwarded');
    assert.equal(echo.headers['provider-config-key'], undefined);
    t.diagnostic(`connection created by ${how}`);
  });

  test('endpoint without a leading slash and with a query string', async (t) => {
    if (!need(t)) return;
    const res = await s.node().get({ ...base(), endpoint: 'echo/deeper?a=1&b=x%20y' });
    assert.equal(res.data.path, '/api/echo/deeper');
    assert.deepEqual(res.data.query, { a: '1', b: 'x y' }, 'the query string is passed on');
  });

  test('a Nango-Proxy- header is forwarded with the prefix stripped', async (t) => {
    if (!need(t)) return;
    const id = sdkAxios.interceptors.request.use((cfg) => {
      cfg.headers.set('Nango-Proxy-X-E2e-Trace', 'trace-42');
      cfg.headers.set('X-Not-Forwarded', 'nope');
      return cfg;
    });
    try {
      const res = await s.node().get({ ...base(), endpoint: '/echo' });
      assert.equal(res.data.headers['x-e2e-trace'], 'trace-42');
      assert.equal(res.data.headers['nango-proxy-x-e2e-trace'], undefined);
      assert.equal(res.data.headers['x-not-forwarded'], undefined, 'unprefixed headers are not forwarded');
    } finally {
      sdkAxios.interceptors.request.eject(id);
    }
  });

  test('post, patch and delete reach upstream with their method and body', async (t) => {
    if (!need(t)) return;
    const node = s.node();
    const post = await node.post({ ...base(), endpoint: '/echo', data: { hello: 'world', n: 1 } });
    assert.equal(post.data.method, 'POST');
    assert.deepEqual(post.data.json, { hello: 'world', n: 1 });
    assert.match(post.data.headers['content-type'], /application\/json/);
    const patch = await node.patch({ ...base(), endpoint: '/echo/item/7', data: { done: true } });
    assert.equal(patch.data.method, 'PATCH');
    assert.equal(patch.data.path, '/api/echo/item/7');
    assert.deepEqual(patch.data.json, { done: true });
    const del = await node.delete({ ...base(), endpoint: '/echo/item/7' });
    assert.equal(del.data.method, 'DELETE');
    assert.equal(del.data.body, '');
    const viaProxy = await node.proxy({ ...base(), method: 'PUT', endpoint: '/echo', data: { put: 1 } });
    assert.equal(viaProxy.data.method, 'PUT');
    assert.deepEqual(viaProxy.data.json, { put: 1 });
  });

  test('an upstream error comes back with its status and body', async (t) => {
    if (!need(t)) return;
    let err;
    try { await s.node().get({ ...base(), endpoint: '/status/418' }); } catch (e) { err = axiosError(e); }
    assert.equal(err?.status, 418);
    assert.deepEqual(err.data, { status: 418, message: 'status 418 requested' });
  });

  test('unknown connection answers 400 unkown_connection', async (t) => {
    if (!need(t)) return;
    let err;
    try { await s.node().get({ providerConfigKey: key, connectionId: 'nobody', endpoint: '/echo' }); } catch (e) { err = axiosError(e); }
    assert.equal(err?.status, 400);
    assert.equal(err.data?.type, 'unkown_connection');
  });

  test('missing Connection-Id answers 400 with the error envelope', async (t) => {
    if (!need(t)) return;
    const r = await s.api('GET', '/proxy/echo', undefined, { headers: { 'Provider-Config-Key': key } });
    assert.equal(r.status, 400);
    assert.equal(r.json?.type, 'missing_connection_id');
  });

  test('server logs contain no secret key, client secret or token', (t) => {
    if (!need(t)) return;
    assert.deepEqual(s.secretsFound(), []);
  });
});
