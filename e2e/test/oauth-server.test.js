// Standalone checks of the test authorization server (lib/oauth-server.js) with plain HTTP: the full
// authorization-code + PKCE flow by hand, refresh with rotation, rejected reuse, TTLs, denial,
// injected failures, client_secret_basic, the protected API and the CLI wrapper.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CookieJar, followUntil, pkce, postForm } from '../lib/http.js';
import { startOAuthServer } from '../lib/oauth-server.js';

const REDIRECT = 'http://127.0.0.1:9/callback'; // never contacted: redirects are followed by hand
const here = path.dirname(fileURLToPath(import.meta.url));

/** authorize runs the authorization request and returns the callback URL's query. */
async function authorize(srv, { clientId, scope = 'openid offline_access', challenge, state = 'st-123', jar }) {
  const u = new URL(srv.authorizationUrl);
  u.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    scope,
    state,
    ...(challenge ? { code_challenge: challenge, code_challenge_method: 'S256' } : {}),
  }).toString();
  const cb = await followUntil(u, REDIRECT, jar);
  return cb.searchParams;
}

async function codeExchange(srv, { clientId, clientSecret, code, verifier }) {
  return postForm(srv.tokenUrl, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
    ...(verifier ? { code_verifier: verifier } : {}),
    client_id: clientId,
    client_secret: clientSecret,
  });
}

async function refresh(srv, { clientId, clientSecret, refreshToken }) {
  return postForm(srv.tokenUrl, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId, client_secret: clientSecret });
}

async function me(srv, token) {
  const res = await fetch(`${srv.apiBaseUrl}/me`, { headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } });
  return { status: res.status, json: await res.json() };
}

describe('oauth-server', () => {
  let srv;
  const c1 = { clientId: 'client-one', clientSecret: 'secret-one' };
  before(async () => {
    srv = await startOAuthServer({
      accessTokenTTL: 60,
      clients: [
        { ...c1, redirectUris: [REDIRECT] },
        { clientId: 'client-deny', clientSecret: 'secret-deny', redirectUris: [REDIRECT], deny: true },
        { clientId: 'client basic+', clientSecret: 's3cret:with/odd&+', redirectUris: [REDIRECT], tokenEndpointAuthMethod: 'client_secret_basic' },
        { clientId: 'client-long', clientSecret: 'secret-long', redirectUris: [REDIRECT], accessTokenTTL: 3600 },
      ],
    });
  });
  after(() => srv.close());

  test('authorization code + PKCE, refresh with rotation, reuse rejected and counted', async () => {
    const { verifier, challenge } = pkce();
    const q = await authorize(srv, { ...c1, challenge, state: 'state-abc', jar: new CookieJar() });
    assert.equal(q.get('state'), 'state-abc');
    assert.equal(q.get('error'), null, `authorization failed: ${q}`);
    const code = q.get('code');
    assert.ok(code, 'callback has a code');

    const tok = await codeExchange(srv, { ...c1, code, verifier });
    assert.equal(tok.status, 200, tok.text);
    assert.match(tok.headers.get('content-type'), /application\/json/);
    assert.equal(tok.json.token_type, 'Bearer');
    assert.ok(tok.json.access_token);
    assert.ok(tok.json.refresh_token, 'a refresh token is issued');
    assert.ok(tok.json.expires_in > 50 && tok.json.expires_in <= 60, `expires_in ${tok.json.expires_in}`);

    const m = await me(srv, tok.json.access_token);
    assert.equal(m.status, 200, JSON.stringify(m.json));
    assert.equal(m.json.sub, 'e2e-user');
    assert.equal(m.json.client_id, c1.clientId);

    const r1 = await refresh(srv, { ...c1, refreshToken: tok.json.refresh_token });
    assert.equal(r1.status, 200, r1.text);
    assert.notEqual(r1.json.access_token, tok.json.access_token);
    assert.ok(r1.json.refresh_token);
    assert.notEqual(r1.json.refresh_token, tok.json.refresh_token, 'refresh token rotated');
    assert.equal((await me(srv, r1.json.access_token)).status, 200);

    const r2 = await refresh(srv, { ...c1, refreshToken: r1.json.refresh_token });
    assert.equal(r2.status, 200, r2.text);
    assert.notEqual(r2.json.refresh_token, r1.json.refresh_token);
    assert.equal(srv.stats(c1.clientId).refreshTokenReuse, 0);

    // Reuse of a rotated refresh token: rejected, counted, and the grant is revoked.
    const reuse = await refresh(srv, { ...c1, refreshToken: tok.json.refresh_token });
    assert.equal(reuse.status, 400);
    assert.equal(reuse.json.error, 'invalid_grant');
    const s = srv.stats(c1.clientId);
    assert.equal(s.refreshTokenReuse, 1);
    assert.deepEqual(s.tokenRequests.authorization_code, { total: 1, success: 1, error: 0 });
    assert.deepEqual(s.tokenRequests.refresh_token, { total: 3, success: 2, error: 1 });
    assert.equal((await me(srv, r2.json.access_token)).status, 401, 'tokens of a revoked grant are refused');
    const after = await refresh(srv, { ...c1, refreshToken: r2.json.refresh_token });
    assert.equal(after.status, 400);
  });

  test('an authorization code is single use; replaying it revokes what it issued', async () => {
    const q = await authorize(srv, { ...c1, jar: new CookieJar() });
    const tok = await codeExchange(srv, { ...c1, code: q.get('code') });
    assert.equal(tok.status, 200, tok.text);
    const again = await codeExchange(srv, { ...c1, code: q.get('code') });
    assert.equal(again.status, 400);
    assert.equal(again.json.error, 'invalid_grant');
    assert.equal((await me(srv, tok.json.access_token)).status, 401);
  });

  test('PKCE verifier is checked', async () => {
    const { challenge } = pkce();
    const q = await authorize(srv, { ...c1, challenge, jar: new CookieJar() });
    const bad = await codeExchange(srv, { ...c1, code: q.get('code'), verifier: pkce().verifier });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error, 'invalid_grant');
  });

  test('without PKCE (disable_pkce templates) the flow still works', async () => {
    const q = await authorize(srv, { ...c1, jar: new CookieJar() });
    const tok = await codeExchange(srv, { ...c1, code: q.get('code') });
    assert.equal(tok.status, 200, tok.text);
  });

  test('a second flow in the same browser session skips login and consent', async () => {
    const jar = new CookieJar();
    await authorize(srv, { ...c1, jar });
    const before = srv.stats().interactions;
    const q = await authorize(srv, { ...c1, jar });
    assert.ok(q.get('code'));
    assert.deepEqual(srv.stats().interactions, before);
  });

  test('wrong client secret is refused at the token endpoint', async () => {
    const q = await authorize(srv, { ...c1, jar: new CookieJar() });
    const tok = await codeExchange(srv, { ...c1, clientSecret: 'wrong', code: q.get('code') });
    assert.equal(tok.status, 401);
    assert.equal(tok.json.error, 'invalid_client');
  });

  test('a denying client gets error=access_denied at the redirect URI', async () => {
    const q = await authorize(srv, { clientId: 'client-deny', state: 'deny-state', jar: new CookieJar() });
    assert.equal(q.get('error'), 'access_denied');
    assert.equal(q.get('state'), 'deny-state');
    assert.equal(q.get('code'), null);
  });

  test('client_secret_basic with form-encoded credentials', async () => {
    const id = 'client basic+';
    const secret = 's3cret:with/odd&+';
    const q = await authorize(srv, { clientId: id, jar: new CookieJar() });
    const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+');
    const basic = Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64');
    const tok = await postForm(srv.tokenUrl, { grant_type: 'authorization_code', code: q.get('code'), redirect_uri: REDIRECT }, { Authorization: `Basic ${basic}` });
    assert.equal(tok.status, 200, tok.text);
    assert.equal(srv.stats(id).events.at(-1).clientAuth, 'client_secret_basic');
    const viaBody = await refresh(srv, { clientId: id, clientSecret: secret, refreshToken: tok.json.refresh_token });
    assert.equal(viaBody.status, 401, 'a basic client may not authenticate in the body');
    assert.equal(viaBody.json.error, 'invalid_client');
    const viaHeader = await postForm(srv.tokenUrl, { grant_type: 'refresh_token', refresh_token: tok.json.refresh_token }, { Authorization: `Basic ${basic}` });
    assert.equal(viaHeader.status, 200, viaHeader.text);
  });

  test('access-token TTL per client and changeable at run time', async () => {
    const get = async (clientId, clientSecret) => {
      const q = await authorize(srv, { clientId, jar: new CookieJar() });
      return (await codeExchange(srv, { clientId, clientSecret, code: q.get('code') })).json;
    };
    const long = await get('client-long', 'secret-long');
    assert.ok(long.expires_in > 3500, `client TTL: ${long.expires_in}`);
    srv.setAccessTokenTTL(2, c1.clientId);
    try {
      const short = await get(c1.clientId, c1.clientSecret);
      assert.ok(short.expires_in <= 2, `run-time TTL: ${short.expires_in}`);
      assert.equal((await me(srv, short.access_token)).status, 200);
      await new Promise((r) => setTimeout(r, 3100));
      const expired = await me(srv, short.access_token);
      assert.equal(expired.status, 401, 'an expired access token is refused');
      assert.equal(expired.json.error, 'invalid_token');
      const r = await refresh(srv, { ...c1, refreshToken: short.refresh_token });
      assert.equal(r.status, 200, 'refresh after expiry works');
      assert.equal((await me(srv, r.json.access_token)).status, 200);
    } finally {
      srv.setAccessTokenTTL(60, c1.clientId);
    }
  });

  test('injected token failures do not consume the refresh token', async () => {
    const q = await authorize(srv, { ...c1, jar: new CookieJar() });
    const tok = (await codeExchange(srv, { ...c1, code: q.get('code') })).json;
    srv.failTokenRequests(1, 503);
    const failed = await refresh(srv, { ...c1, refreshToken: tok.refresh_token });
    assert.equal(failed.status, 503);
    const ok = await refresh(srv, { ...c1, refreshToken: tok.refresh_token });
    assert.equal(ok.status, 200, ok.text);
    const evs = srv.stats(c1.clientId).events.slice(-2);
    assert.deepEqual(evs.map((e) => [e.injected, e.outcome, e.reuse]), [[true, 'error', false], [false, 'success', false]]);
  });

  test('revokeGrants kills a client\'s tokens', async () => {
    const q = await authorize(srv, { clientId: 'client-long', jar: new CookieJar() });
    const tok = (await codeExchange(srv, { clientId: 'client-long', clientSecret: 'secret-long', code: q.get('code') })).json;
    assert.equal((await me(srv, tok.access_token)).status, 200);
    assert.ok(await srv.revokeGrants('client-long') >= 1);
    assert.equal((await me(srv, tok.access_token)).status, 401);
    const r = await refresh(srv, { clientId: 'client-long', clientSecret: 'secret-long', refreshToken: tok.refresh_token });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_grant');
  });

  test('protected API: echo, status pass-through, refusals', async () => {
    const q = await authorize(srv, { ...c1, jar: new CookieJar() });
    const { access_token: at } = (await codeExchange(srv, { ...c1, code: q.get('code') })).json;
    const res = await fetch(`${srv.apiBaseUrl}/echo/sub?a=1&b=two`, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${at}`, 'Content-Type': 'application/json', 'X-Custom': 'yes' },
      body: JSON.stringify({ hello: 'world' }),
    });
    assert.equal(res.status, 200);
    const echo = await res.json();
    assert.equal(echo.method, 'PATCH');
    assert.equal(echo.path, '/api/echo/sub');
    assert.deepEqual(echo.query, { a: '1', b: 'two' });
    assert.equal(echo.headers['x-custom'], 'yes');
    assert.deepEqual(echo.json, { hello: 'world' });
    assert.equal(echo.token.client_id, c1.clientId);

    const st = await fetch(`${srv.apiBaseUrl}/status/418`, { headers: { Authorization: `Bearer ${at}` } });
    assert.equal(st.status, 418);
    assert.equal((await st.json()).status, 418);

    assert.equal((await me(srv, undefined)).status, 401);
    assert.equal((await me(srv, 'not-a-token')).status, 401);
    assert.equal((await srv.validateAccessToken(at)).token.clientId, c1.clientId);
  });

  test('HTTP control endpoints', async () => {
    const s = await (await fetch(`${srv.issuer}/__e2e/stats?client_id=${c1.clientId}`)).json();
    assert.ok(s.tokenRequests.authorization_code.total >= 1);
    assert.equal((await fetch(`${srv.issuer}/__e2e/config`, { method: 'POST', body: JSON.stringify({ accessTokenTTL: 0 }) })).status, 500);
    assert.equal((await fetch(`${srv.issuer}/__e2e/reset`, { method: 'POST' })).status, 200);
    assert.deepEqual(srv.stats().tokenRequests, {});
  });
});

test('CLI wrapper starts, serves discovery and stats, stops on SIGTERM', async () => {
  const child = spawn(process.execPath, [path.join(here, '..', 'bin', 'oauth-server.js'), '--ttl', '30', '--client', `cli-client:cli-secret:${REDIRECT}:basic,ttl=45`], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const [line] = await once(child.stdout, 'data', { signal: AbortSignal.timeout(10000) });
    const info = JSON.parse(line.toString());
    const disc = await (await fetch(`${info.issuer}/.well-known/openid-configuration`)).json();
    assert.equal(disc.issuer, info.issuer);
    assert.equal(disc.token_endpoint, info.tokenUrl);
    assert.equal(disc.authorization_endpoint, info.authorizationUrl);
    const stats = await (await fetch(info.statsUrl)).json();
    assert.deepEqual(stats.tokenRequests, {});
  } finally {
    child.kill('SIGTERM');
  }
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
});

test('a noCode client is sent back with the state only', async () => {
  const srv = await startOAuthServer({ clients: [{ clientId: 'nc', clientSecret: 's', redirectUris: [REDIRECT], noCode: true }] });
  try {
    const q = await authorize(srv, { clientId: 'nc', state: 'only-state', jar: new CookieJar() });
    assert.deepEqual(Object.fromEntries(q), { state: 'only-state' });
    const u = new URL(srv.authorizationUrl);
    u.search = new URLSearchParams({ client_id: 'nc', redirect_uri: 'http://evil.test/cb', state: 'x' }).toString();
    assert.equal((await fetch(u, { redirect: 'manual' })).status, 400, 'unregistered redirect URIs are refused');
  } finally {
    await srv.close();
  }
});
