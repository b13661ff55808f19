// Issue 3's done criteria, end to end: the built nango binary, @nangohq/frontend@0.16.1 in headless
// Chromium, @nangohq/node@0.16.0 with NANGO_SECRET_KEY set (the SDK sends Bearer), and a real OAuth
// server (oidc-provider) whose protected API decides whether a token works.
//
// Tests run in order and share state (integrations, connections). A test whose server feature is
// missing (route answers the catch-all 404) or whose prerequisite failed is skipped with the reason.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { axiosError, callApi, startStack } from '../lib/stack.js';

const FLOW = { timeoutMs: 20000 };


describe('OAuth flow: @nangohq/frontend@0.16.1 + @nangohq/node@0.16.0 against nango', () => {
  let s; // the stack
  let skipAll = '';
  let f = {}; // feature probes
  const done = {}; // prerequisites established by earlier tests
  const conn = {}; // connection ids by integration name

  before(async () => {
    s = await startStack({ name: 'oauth-flow' });
    if (s.skip) { skipAll = s.skip; return; }
    f = await s.probe();
  });
  after(async () => { if (s && !s.skip) await s.stop(); });

  /** need skips t unless every condition holds; each condition is [ok, reason]. */
  function need(t, ...conds) {
    if (skipAll) { t.skip(skipAll); return false; }
    for (const [ok, reason] of conds) {
      if (!ok) { t.skip(reason); return false; }
    }
    return true;
  }
  const feat = (name) => [f[name]?.ok, f[name]?.reason];
  const prereq = (name, what) => [done[name], `prerequisite failed or skipped: ${what}`];
  let wsChecked;
  async function flowReady(t) {
    if (!need(t, feat('config'), feat('connect'), feat('callback'), prereq('integrations', 'POST /config'))) return false;
    wsChecked ??= await s.websocketAck();
    return need(t, [wsChecked, 'server lacks the WebSocket channel (no connection_ack on ws://host/)']);
  }
  /** sdkReady: flowReady, plus /sdk/nango.js when the test runs with our browser SDK. */
  async function sdkReady(t, sdk) {
    if (!(await flowReady(t))) return false;
    return sdk === 'frontend' || need(t, feat('sdk'));
  }
  async function authOK(t, name, connectionId, opts = {}) {
    const r = await s.auth(s.keys[name], connectionId, { ...FLOW, ...opts });
    assert.ok(!r.timeout, `auth(${name}) did not settle within ${FLOW.timeoutMs} ms; popup went through ${JSON.stringify(r.popupUrls)}`);
    assert.equal(r.error, undefined, `auth(${name}) rejected: ${JSON.stringify(r.error)}`);
    assert.deepEqual(r.result, { providerConfigKey: s.keys[name], connectionId });
    assert.ok(r.popupClosed, 'the popup closes itself after success');
    return r;
  }
  async function authError(t, name, connectionId, opts = {}) {
    const key = opts.key || s.keys[name];
    const r = await s.auth(key, connectionId, { ...FLOW, ...opts });
    assert.ok(!r.timeout, `auth(${key}) did not settle within ${FLOW.timeoutMs} ms; popup went through ${JSON.stringify(r.popupUrls)}`);
    assert.equal(r.result, undefined, `auth(${key}) resolved but should reject: ${JSON.stringify(r.result)}`);
    assert.ok(r.popupClosed, 'the popup closes itself after an error');
    return r.error;
  }
  const refreshes = (client) => s.oauth.tokenRequestCount('refresh_token', client);

  test('GET /health answers {"result":"ok"}', async (t) => {
    if (!need(t)) return;
    const r = await s.api('GET', '/health', undefined, { auth: 'none' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { result: 'ok' });
  });

  test('POST /config creates integrations on custom templates from NANGO_PROVIDERS_FILE', async (t) => {
    if (!need(t, feat('config'))) return;
    for (const name of Object.keys(s.keys)) {
      const r = await s.createIntegration(name);
      assert.ok(r.status === 200 || r.status === 201, `POST /config ${name}: ${r.status} ${r.text}`);
    }
    const g = await s.api('GET', `/config/${s.keys.long}`);
    assert.equal(g.status, 200, g.text);
    assert.equal(g.json.config.unique_key, s.keys.long);
    assert.equal(g.json.config.provider, 'e2e-oidc');
    assert.equal(g.json.config.oauth_client_id, 'e2e-long');
    const dup = await s.createIntegration('long');
    assert.equal(dup.status, 400);
    assert.equal(dup.json?.type, 'duplicate_provider_config');
    done.integrations = true;
  });

  test('auth() resolves {providerConfigKey, connectionId} and the popup closes', async (t) => {
    if (!(await flowReady(t))) return;
    const before = s.oauth.stats('e2e-long');
    conn.long = `${s.runId}-user-1`;
    await authOK(t, 'long', conn.long);
    const st = s.oauth.stats('e2e-long');
    assert.equal(st.tokenRequests.authorization_code?.success, (before.tokenRequests.authorization_code?.success || 0) + 1, 'one code exchange');
    assert.ok(st.events.filter((e) => e.grantType === 'authorization_code').every((e) => e.clientAuth === 'client_secret_post'));
    assert.deepEqual(s.harnessProblems(), [], 'no console errors on the app page');
    assert.deepEqual(s.pageErrors(), [], 'no uncaught errors on any page');
    done.long = true;
  });

  let longToken;
  test('getToken returns a token the provider accepts (Bearer secret key)', async (t) => {
    if (!need(t, prereq('long', 'auth() for the long-lived connection'), feat('connection'))) return;
    const node = s.node();
    const token = await node.getToken(s.keys.long, conn.long);
    assert.equal(typeof token, 'string');
    const me = await callApi(s.oauth, token);
    assert.equal(me.status, 200, `provider refused the token: ${JSON.stringify(me.json)}`);
    assert.equal(me.json.client_id, 'e2e-long');
    assert.equal(me.json.sub, s.oauth.account.sub);
    assert.equal(refreshes('e2e-long'), 0, 'a token far from expiry is not refreshed');
    assert.equal(await node.getToken(s.keys.long, conn.long), token, 'the same token on the next read');
    longToken = token;
    done.token = true;
  });

  test('getConnection returns the documented connection', async (t) => {
    if (!need(t, prereq('token', 'getToken'))) return;
    const c = await s.node().getConnection(s.keys.long, conn.long);
    assert.equal(c.connection_id, conn.long);
    assert.equal(c.provider_config_key, s.keys.long);
    for (const k of ['id', 'created_at', 'updated_at', 'credentials', 'connection_config', 'metadata']) {
      assert.ok(k in c, `field ${k} present`);
    }
    assert.equal(c.credentials.type, 'OAUTH2');
    assert.equal(c.credentials.access_token, longToken);
    assert.equal(typeof c.credentials.refresh_token, 'string');
    const exp = Date.parse(c.credentials.expires_at);
    assert.ok(exp > Date.now() + 50 * 60e3 && exp < Date.now() + 61 * 60e3, `expires_at ${c.credentials.expires_at} is ~1 h ahead`);
    assert.equal(c.credentials.raw.access_token, longToken);
    assert.equal(c.credentials.raw.token_type, 'Bearer');
    assert.ok(c.credentials.raw.expires_at, 'raw carries the computed expires_at');
    assert.deepEqual(c.connection_config, {});
    const internal = Object.keys(c).filter((k) => /(_iv|_tag)$|encrypt/.test(k));
    assert.deepEqual(internal, [], 'no internal encryption columns');
    assert.equal(refreshes('e2e-long'), 0);
  });

  test('listConnections includes the connection', async (t) => {
    if (!need(t, prereq('token', 'getToken'), feat('connectionList'))) return;
    const { connections } = await s.node().listConnections();
    const mine = connections.find((c) => c.connection_id === conn.long && c.provider === s.keys.long);
    assert.ok(mine, `connection listed: ${JSON.stringify(connections)}`);
    assert.equal(mine.credentials, undefined, 'the list carries no credentials');
    const filtered = await s.api('GET', `/connection?connectionId=${encodeURIComponent(conn.long)}`);
    assert.equal(filtered.status, 200);
    assert.ok(filtered.json.connections.length >= 1);
    assert.ok(filtered.json.connections.every((c) => c.connection_id === conn.long));
  });

  test('forced refresh (getToken(key, id, true)) returns a new working token, rotation without reuse', async (t) => {
    if (!need(t, prereq('token', 'getToken'))) return;
    const node = s.node();
    const before = refreshes('e2e-long');
    const t1 = await node.getToken(s.keys.long, conn.long, true);
    assert.notEqual(t1, longToken, 'a new access token');
    assert.equal(refreshes('e2e-long'), before + 1, 'exactly one refresh request');
    assert.equal((await callApi(s.oauth, t1)).status, 200);
    const t2 = await node.getToken(s.keys.long, conn.long, true);
    assert.notEqual(t2, t1);
    assert.equal((await callApi(s.oauth, t2)).status, 200);
    assert.equal(await node.getToken(s.keys.long, conn.long), t2, 'the refreshed token was stored');
    const st = s.oauth.stats('e2e-long');
    assert.equal(st.refreshTokenReuse, 0, 'the rotated refresh token was stored and used');
    assert.equal(st.tokenRequests.refresh_token.error, 0);
    longToken = t2;
  });

  test('expiry refresh: a token inside the refresh margin is refreshed on read', async (t) => {
    if (!(await flowReady(t))) return;
    if (!need(t, feat('connection'))) return;
    conn.short = `${s.runId}-user-short`;
    await authOK(t, 'short', conn.short); // e2e-short tokens live 60 s, inside the 15 min margin
    assert.equal(refreshes('e2e-short'), 0);
    const token = await s.node().getToken(s.keys.short, conn.short);
    assert.equal(refreshes('e2e-short'), 1, 'the read refreshed the expiring token');
    assert.equal((await callApi(s.oauth, token)).status, 200);
    const issued = s.oauth.issuedTokens('e2e-short');
    assert.equal(token, issued.at(-1).accessToken, 'getToken returned the freshly refreshed token');
    assert.equal(s.oauth.stats('e2e-short').refreshTokenReuse, 0);
    done.short = true;
  });

  test('concurrent reads of an expiring token: every token works, no refresh token reused', async (t) => {
    if (!need(t, prereq('short', 'expiry refresh'))) return;
    const node = s.node();
    const tokens = await Promise.all(Array.from({ length: 20 }, () => node.getToken(s.keys.short, conn.short)));
    const results = await Promise.all([...new Set(tokens)].map((tk) => callApi(s.oauth, tk)));
    assert.ok(results.every((r) => r.status === 200), `all tokens accepted: ${JSON.stringify(results.map((r) => r.status))}`);
    const st = s.oauth.stats('e2e-short');
    assert.equal(st.refreshTokenReuse, 0, 'a rotating provider never sees a reused refresh token');
    assert.equal(st.tokenRequests.refresh_token.error, 0, 'no refresh failed');
    assert.equal((await callApi(s.oauth, await node.getToken(s.keys.short, conn.short))).status, 200, 'the grant is still alive');
  });

  test('a failed refresh leaves the stored credentials usable', async (t) => {
    if (!(await flowReady(t))) return;
    if (!need(t, feat('connection'))) return;
    conn.fail = `${s.runId}-user-fail`;
    await authOK(t, 'fail', conn.fail);
    const node = s.node();
    const before = await node.getToken(s.keys.fail, conn.fail);
    s.oauth.failTokenRequests(1, 503);
    let err;
    try {
      await node.getToken(s.keys.fail, conn.fail, true);
    } catch (e) { err = axiosError(e); }
    assert.ok(err, 'the forced refresh fails while the provider answers 503');
    // The provider failed (503): 502, never a 500 (SPEC Part A).
    assert.equal(err.status, 502, `status ${err.status}`);
    assert.equal(err.data?.type, 'refresh_token_external_error', 'error envelope with a type');
    assert.ok(!JSON.stringify(err.data).includes(before), 'the error does not carry the token');
    assert.equal(s.oauth.stats('e2e-fail').injectedFailures, 1);
    const after = await node.getToken(s.keys.fail, conn.fail, true);
    assert.notEqual(after, before);
    assert.equal((await callApi(s.oauth, after)).status, 200, 'the kept refresh token still works');
    assert.equal(s.oauth.stats('e2e-fail').refreshTokenReuse, 0);
  });

  test('authorization_method: header sends client credentials as Basic on code and refresh', async (t) => {
    if (!(await flowReady(t))) return;
    if (!need(t, feat('connection'))) return;
    conn.basic = `${s.runId}-user-basic`;
    await authOK(t, 'basic', conn.basic);
    const token = await s.node().getToken(s.keys.basic, conn.basic, true);
    assert.equal((await callApi(s.oauth, token)).status, 200);
    const evs = s.oauth.stats('e2e-basic').events;
    assert.deepEqual([...new Set(evs.map((e) => `${e.grantType}:${e.clientAuth}:${e.outcome}`))].sort(),
      ['authorization_code:client_secret_basic:success', 'refresh_token:client_secret_basic:success']);
  });

  test('connection config params interpolate the template URLs (connect, callback and refresh)', async (t) => {
    if (!(await flowReady(t))) return;
    if (!need(t, feat('connection'))) return;
    const host = new URL(s.oauth.issuer).host;
    conn.host = `${s.runId}-user-host`;
    await authOK(t, 'host', conn.host, { params: { host } });
    const c = await s.node().getConnection(s.keys.host, conn.host);
    assert.deepEqual(c.connection_config, { host }, 'stored with plain keys (SPEC Part A)');
    const token = await s.node().getToken(s.keys.host, conn.host, true);
    assert.equal((await callApi(s.oauth, token)).status, 200, 'refresh used the interpolated token_url');
  });

  test('a second auth() for the same connection id replaces its credentials', async (t) => {
    if (!need(t, prereq('token', 'getToken'))) return;
    if (!(await flowReady(t))) return;
    const old = await s.node().getToken(s.keys.long, conn.long);
    const codes = s.oauth.tokenRequestCount('authorization_code', 'e2e-long');
    await authOK(t, 'long', conn.long);
    assert.equal(s.oauth.tokenRequestCount('authorization_code', 'e2e-long'), codes + 1);
    const fresh = await s.node().getToken(s.keys.long, conn.long);
    assert.notEqual(fresh, old);
    assert.equal(fresh, s.oauth.issuedTokens('e2e-long').at(-1).accessToken);
    assert.equal((await callApi(s.oauth, fresh)).status, 200);
    longToken = fresh;
  });

  // --- flow errors (SPEC §2.5) ------------------------------------------------------------------

  for (const sdk of ['frontend', 'ours']) {
    test(`[${sdk}] error: unknown integration rejects with provider_config_err`, async (t) => {
      if (!(await sdkReady(t, sdk))) return;
      const key = `${s.runId}-no-such-integration-${sdk}`;
      const e = await authError(t, 'long', 'u1', { key, sdk });
      assert.deepEqual(e, { type: 'provider_config_err', message: `Could not find a Provider Config matching the "${key}" key.` });
    });

    test(`[${sdk}] error: the provider denies consent (error=access_denied) rejects with callback_err`, async (t) => {
      if (!(await sdkReady(t, sdk))) return;
      const e = await authError(t, 'deny', `${s.runId}-${sdk}-user-deny`, { sdk });
      assert.equal(e.type, 'callback_err');
      assert.match(e.message, /access_denied/, 'the provider\'s error is reported');
      assert.ok(s.oauth.stats().interactions.denied >= 1, 'the test user denied');
      assert.equal(s.oauth.tokenRequestCount('authorization_code', 'e2e-deny'), 0, 'no token request after a denial');
    });

    test(`[${sdk}] error: token exchange refused (wrong client secret) rejects with unknown_err`, async (t) => {
      if (!(await sdkReady(t, sdk))) return;
      const e = await authError(t, 'wrongsecret', `${s.runId}-${sdk}-user-wrong`, { sdk });
      assert.deepEqual(e, { type: 'unknown_err', message: 'Unkown error during the Oauth flow.' });
      const st = s.oauth.stats('e2e-long').events.filter((ev) => ev.grantType === 'authorization_code');
      assert.equal(st.at(-1).error, 'invalid_client', 'the provider refused the exchange');
    });

    test(`[${sdk}] error: missing connection config param rejects with url_param_err`, async (t) => {
      if (!(await sdkReady(t, sdk))) return;
      const e = await authError(t, 'host', `${s.runId}-${sdk}-user-noparam`, { sdk });
      assert.equal(e.type, 'url_param_err');
      assert.ok(e.message.startsWith('Missing Connection Config param(s) in Auth request to interpolate url '), e.message);
    });

    test(`[${sdk}] error: template grant_type other than authorization_code rejects with grant_type_err`, async (t) => {
      if (!(await sdkReady(t, sdk))) return;
      const e = await authError(t, 'badgrant', `${s.runId}-${sdk}-user-grant`, { sdk });
      assert.deepEqual(e, { type: 'grant_type_err', message: 'The grant type "client_credentials" is not supported by this OAuth flow.' });
    });

    test(`[${sdk}] error: callback without code rejects with callback_err`, async (t) => {
      if (!(await sdkReady(t, sdk))) return;
      // e2e-nocode's provider redirects back with the state only.
      const e = await authError(t, 'nocode', `${s.runId}-${sdk}-user-nocode`, { sdk });
      assert.deepEqual(e, { type: 'callback_err', message: 'Did not get authorization code in the callback.' });
    });
  }

  test('error: no connection_id reports missing_connection_id over the WebSocket', async (t) => {
    if (!(await flowReady(t))) return;
    const r = await s.rawFlow(`/oauth/connect/${s.keys.long}`);
    assert.ok(r.message, `a terminal message arrived: ${JSON.stringify(r)}`);
    assert.equal(r.message.message_type, 'error');
    assert.equal(r.message.error_type, 'missing_connection_id');
    assert.equal(r.message.error_desc, 'Missing Connection ID.');
  });

  test('callback with a missing or unknown state answers an error page (no hang)', async (t) => {
    if (!need(t, feat('callback'))) return;
    const evil = '<script>alert(1)</script>';
    for (const q of ['', '?state=not-a-state', `?state=${encodeURIComponent(evil)}&code=abc`]) {
      const res = await fetch(`${s.nango.url}/oauth/callback${q}`, { signal: AbortSignal.timeout(5000) });
      const body = await res.text();
      // The reference answered every failed flow with a 500 page; a bad state is bad input: 400 (SPEC Part A).
      assert.equal(res.status, 400, `GET /oauth/callback${q}: status ${res.status}`);
      assert.match(res.headers.get('content-type') || '', /text\/html/);
      assert.ok(!body.includes(evil), 'a value put in the page is escaped');
    }
  });

  // --- the API around connections ----------------------------------------------------------------

  test('@nangohq/node errors: unknown connection, wrong and empty secret key', async (t) => {
    if (!need(t, prereq('token', 'getToken'))) return;
    const cases = [
      ['unknown connection', s.node(), s.keys.long, 'nobody', 400, 'unkown_connection'],
      ['wrong secret key', s.node(0, 'wrong-key'), s.keys.long, conn.long, 401, 'invalid_secret_key'],
      ['empty secret key ("Bearer ")', s.node(0, ''), s.keys.long, conn.long, 401, null],
    ];
    for (const [name, node, key, id, status, type] of cases) {
      let err;
      try { await node.getToken(key, id); } catch (e) { err = axiosError(e); }
      assert.ok(err, `${name}: rejected`);
      assert.equal(err.status, status, `${name}: ${JSON.stringify(err)}`);
      if (type) assert.equal(err.data?.type, type, name);
      else assert.equal(typeof err.data?.type, 'string', name);
    }
  });

  test('curl-style Basic <key>: auth reads the same connection', async (t) => {
    if (!need(t, prereq('token', 'getToken'))) return;
    const r = await s.api('GET', `/connection/${encodeURIComponent(conn.long)}?provider_config_key=${encodeURIComponent(s.keys.long)}`, undefined, { auth: 'basic' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.credentials.access_token, longToken);
    const none = await s.api('GET', `/connection/${encodeURIComponent(conn.long)}?provider_config_key=${encodeURIComponent(s.keys.long)}`, undefined, { auth: 'none' });
    assert.equal(none.status, 401);
    assert.equal(none.json?.type, 'missing_auth_header');
  });

  test('DELETE /connection removes it; getToken then rejects with unkown_connection', async (t) => {
    if (!(await flowReady(t))) return;
    if (!need(t, feat('connectionDelete'), feat('connection'))) return;
    const id = `${s.runId}-user-del`;
    await authOK(t, 'long', id);
    const del = await s.api('DELETE', `/connection/${encodeURIComponent(id)}?provider_config_key=${encodeURIComponent(s.keys.long)}`);
    assert.equal(del.status, 200, del.text);
    let err;
    try { await s.node().getToken(s.keys.long, id); } catch (e) { err = axiosError(e); }
    assert.equal(err?.status, 400);
    assert.equal(err?.data?.type, 'unkown_connection');
  });

  test('POST /connection imports tokens obtained elsewhere; getToken and refresh use them', async (t) => {
    if (!need(t, feat('config'), prereq('integrations', 'POST /config'), feat('import'), feat('connection'))) return;
    const tok = await s.tokensByHand('e2e-long');
    const id = `${s.runId}-imported`;
    const body = {
      connection_id: id,
      provider_config_key: s.keys.long,
      access_token: tok.access_token,
      refresh_token: tok.refresh_token,
      expires_in: tok.expires_in,
      raw: tok,
    };
    const r = await s.api('POST', '/connection', body);
    assert.equal(r.status, 201, r.text);
    const token = await s.node().getToken(s.keys.long, id);
    assert.equal(token, tok.access_token);
    const c = await s.node().getConnection(s.keys.long, id);
    assert.equal(c.credentials.refresh_token, tok.refresh_token);
    const exp = Date.parse(c.credentials.expires_at);
    assert.ok(Math.abs(exp - (Date.now() + tok.expires_in * 1000)) < 60e3, `expires_at from expires_in: ${c.credentials.expires_at}`);
    const fresh = await s.node().getToken(s.keys.long, id, true);
    assert.notEqual(fresh, tok.access_token);
    assert.equal((await callApi(s.oauth, fresh)).status, 200, 'the imported refresh token works');
    const again = await s.api('POST', '/connection', { ...body, access_token: 'replaced-token', refresh_token: undefined });
    assert.equal(again.status, 201, `import is an upsert: ${again.text}`);
    assert.equal(await s.node().getToken(s.keys.long, id), 'replaced-token');
  });

  test('POST /connection rejects bad input with a clear 4xx', async (t) => {
    if (!need(t, feat('config'), prereq('integrations', 'POST /config'), feat('import'))) return;
    const cases = [
      ['no connection_id', { provider_config_key: s.keys.long, access_token: 'x' }, 'missing_connection'],
      ['no provider_config_key', { connection_id: 'c', access_token: 'x' }, 'missing_provider_config'],
      ['no access_token', { connection_id: 'c', provider_config_key: s.keys.long }, 'missing_access_token'],
      ['unknown integration', { connection_id: 'c', provider_config_key: `${s.runId}-nope`, access_token: 'x' }, 'unknown_provider_config'],
    ];
    for (const [name, body, type] of cases) {
      const r = await s.api('POST', '/connection', body);
      assert.equal(r.status, 400, `${name}: ${r.status} ${r.text}`);
      assert.equal(r.json?.type, type, name);
    }
    const bad = await fetch(`${s.nango.url}/connection`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${s.secretKey}`, 'Content-Type': 'application/json' },
      body: '{"connection_id": ',
    });
    assert.ok(bad.status >= 400 && bad.status < 500, `malformed JSON: ${bad.status}`);
  });

  // --- our browser SDK, same checks --------------------------------------------------------------

  test('our /sdk/nango.js: auth() resolves, the popup closes, the token works', async (t) => {
    if (!(await flowReady(t))) return;
    if (!need(t, feat('sdk'), feat('connection'))) return;
    const r = await s.auth(s.keys.ours, `${s.runId}-user-ours`, { ...FLOW, sdk: 'ours' });
    assert.ok(!r.timeout, `auth() did not settle; popup went through ${JSON.stringify(r.popupUrls)}`);
    assert.deepEqual(r.result, { providerConfigKey: s.keys.ours, connectionId: `${s.runId}-user-ours` }, JSON.stringify(r.error));
    assert.ok(r.popupClosed);
    const token = await s.node().getToken(s.keys.ours, `${s.runId}-user-ours`);
    assert.equal((await callApi(s.oauth, token)).status, 200);
    assert.deepEqual(s.harnessProblems(), []);
  });

  // --- restarts ----------------------------------------------------------------------------------

  test('connections survive a restart', async (t) => {
    if (!need(t, prereq('token', 'getToken'))) return;
    await s.restart(0);
    const token = await s.node().getToken(s.keys.long, conn.long);
    assert.equal(token, longToken, 'the stored token, no refresh needed');
    assert.equal((await callApi(s.oauth, token)).status, 200);
  });

  test('error: integration whose template disappeared rejects with unknown_config_key', async (t) => {
    if (!(await flowReady(t))) return;
    await s.restart(0, { NANGO_PROVIDERS_FILE: undefined });
    try {
      const e = await authError(t, 'long', `${s.runId}-user-notemplate`);
      assert.deepEqual(e, { type: 'unknown_config_key', message: 'No Provider Configuration with key "e2e-oidc".' });
    } finally {
      await s.restart(0);
    }
  });

  test('server logs contain no secret key, client secret or token', (t) => {
    if (!need(t)) return;
    assert.deepEqual(s.secretsFound(), []);
  });
});
