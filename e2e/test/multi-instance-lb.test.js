// Three nango instances on one PostgreSQL behind a real nginx (round-robin, WebSocket upgrades passed,
// no sticky sessions). Runs only with PostgreSQL (NANGO_E2E_DATABASE_URL) and nginx installed
// (apt-get install -y nginx-light); see docs/testing.md and docs/operations.md.
//
//   - the three instances start at the same moment on an empty schema (migrations serialise);
//   - the browser OAuth flow (Chromium, @nangohq/frontend@0.16.1) runs repeatedly through the load
//     balancer: the SDK's WebSocket, /oauth/connect and the provider's redirect to /oauth/callback are
//     spread over the instances, so callbacks land on other instances than the socket; no flow hangs;
//   - an expiring connection (60 s access tokens: every read refreshes) is hammered from all three
//     instances and through the balancer: every token works, the rotating provider never sees a
//     reused refresh token;
//   - one instance is killed with SIGKILL while its refresh request waits at a slow token endpoint:
//     the survivors wait for its lease to lapse, refresh with the stored (still unused) refresh token,
//     and serve everyone; no refresh token is lost or reused; flows keep working.
//
// The slow endpoint is a hop in front of the authorization server (lib/lb.js startTokenGate): the held
// request never reaches the provider if its sender dies. Had the provider already rotated the token
// when the process died, the new one would be lost whatever the server did; what the server must get
// right is everything else, which is what this checks.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Nango as NodeNango } from '@nangohq/node';
import { launchBrowser } from '../lib/browser.js';
import { startHarness } from '../lib/harness.js';
import { freePort, randomId } from '../lib/http.js';
import { nginxPath, startNginx, startTokenGate } from '../lib/lb.js';
import { ensureBinary, startNango, usingPostgres } from '../lib/nango.js';
import { startOAuthServer } from '../lib/oauth-server.js';
import { callApi } from '../lib/stack.js';

const INSTANCES = 3;
const FLOWS = 6;

describe('three instances behind nginx on one PostgreSQL', () => {
  let skipAll = '';
  const st = {};
  const keys = {};
  let victim = -1;

  before(async () => {
    if (!usingPostgres()) { skipAll = 'needs PostgreSQL: set NANGO_E2E_DATABASE_URL'; return; }
    if (!nginxPath()) {
      // CI installs nginx and sets NANGO_E2E_REQUIRE_LB=1: there, a missing nginx is a failure.
      if (process.env.NANGO_E2E_REQUIRE_LB === '1') throw new Error('NANGO_E2E_REQUIRE_LB=1 but nginx is not installed');
      skipAll = 'needs nginx: apt-get install -y nginx-light'; return;
    }
    const bin = await ensureBinary();
    if (bin.missing) { skipAll = bin.missing; return; }

    st.runId = randomId('lb');
    st.secretKey = crypto.randomUUID();
    st.schema = `nango_${st.runId}`.replace(/[^a-z0-9_]/gi, '_').toLowerCase();
    st.tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'nango-e2e-lb-'));
    const lbPort = await freePort();
    st.lbUrl = `http://127.0.0.1:${lbPort}`;
    const callback = `${st.lbUrl}/oauth/callback`;

    st.clientSecrets = { 'e2e-lb': `lb-${crypto.randomBytes(12).toString('hex')}`, 'e2e-lb-hot': `hot-${crypto.randomBytes(12).toString('hex')}` };
    st.oauth = await startOAuthServer({
      clients: [
        { clientId: 'e2e-lb', clientSecret: st.clientSecrets['e2e-lb'], redirectUris: [callback], accessTokenTTL: 3600 },
        { clientId: 'e2e-lb-hot', clientSecret: st.clientSecrets['e2e-lb-hot'], redirectUris: [callback], accessTokenTTL: 60 },
      ],
    });
    st.gate = await startTokenGate({ target: st.oauth.tokenUrl, instances: INSTANCES });

    const ports = [];
    for (let i = 0; i < INSTANCES; i++) ports.push(await freePort());
    const envFor = async (i) => {
      // Each instance has its own token URL on the gate, so the gate knows who is refreshing.
      const file = path.join(st.tmp, `providers-${i}.yaml`);
      await fs.writeFile(file, `e2e-lb-oidc:
  auth_mode: OAUTH2
  authorization_url: ${st.oauth.issuer}/auth
  token_url: ${st.gate.tokenUrl(i)}
  base_api_url: ${st.oauth.issuer}/api
  default_scopes:
    - openid
    - offline_access
`);
      return {
        NANGO_SECRET_KEY: st.secretKey,
        NANGO_PROVIDERS_FILE: file,
        NANGO_DB_SCHEMA: st.schema,
        NANGO_SERVER_URL: st.lbUrl,
        NANGO_CALLBACK_URL: callback,
        NANGO_DATA_DIR: path.join(st.tmp, `data-${i}`),
      };
    };
    const envs = await Promise.all(ports.map((_, i) => envFor(i)));
    // All three at once on an empty schema: migrations must serialise.
    const started = await Promise.allSettled(ports.map((port, i) => startNango({ binary: bin.binary, port, env: envs[i], name: `lb-${i}` })));
    st.nangos = started.map((r) => (r.status === 'fulfilled' ? r.value : null));
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;

    st.nginx = await startNginx({ port: lbPort, upstreams: st.nangos.map((n) => n.url), name: 'lb-nginx' });
    st.harness = await startHarness();
    st.browser = await launchBrowser();
    await st.browser.page.goto(st.harness.pageUrl({ sdk: 'frontend' }));
    await st.browser.page.evaluate(() => window.harnessReady);

    keys.lb = `${st.runId}-lb`;
    keys.hot = `${st.runId}-hot`;
    for (const [name, client] of [['lb', 'e2e-lb'], ['hot', 'e2e-lb-hot']]) {
      const r = await api('POST', '/config', {
        provider_config_key: keys[name], provider: 'e2e-lb-oidc', oauth_client_id: client,
        oauth_client_secret: st.clientSecrets[client], oauth_scopes: 'openid,offline_access',
      });
      assert.ok(r.status < 300, `POST /config ${name}: ${r.status} ${r.text}`);
    }
  });

  after(async () => {
    if (st.browser) await st.browser.close();
    if (st.harness) await st.harness.close();
    if (st.nginx) await st.nginx.stop();
    if (st.nangos) await Promise.all(st.nangos.filter(Boolean).map((n) => n.stop()));
    if (st.gate) await st.gate.close();
    if (st.oauth) await st.oauth.close();
    if (st.tmp) await fs.rm(st.tmp, { recursive: true, force: true });
    if (st.schema) spawnSync('psql', [process.env.NANGO_E2E_DATABASE_URL, '-q', '-c', `DROP SCHEMA IF EXISTS "${st.schema}" CASCADE`], { stdio: 'ignore', timeout: 20000 });
  });

  const need = (t) => { if (skipAll) { t.skip(skipAll); return false; } return true; };

  /** api calls the server through the balancer (or instance i) with the secret key. */
  async function api(method, p, body, { instance } = {}) {
    const base = instance === undefined ? st.lbUrl : st.nangos[instance].url;
    const res = await fetch(`${base}${p}`, {
      method,
      headers: {
        Authorization: `Bearer ${st.secretKey}`,
        Accept: 'application/json',
        ...(body ? { 'Content-Type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(150000),
    });
    const text = await res.text();
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, text, json };
  }

  const node = (base) => new NodeNango({ host: base, secretKey: st.secretKey });

  /** auth runs @nangohq/frontend's auth() in the harness page against the balancer. */
  async function auth(key, connectionId, timeoutMs = 30000) {
    const { page, context } = st.browser;
    await page.evaluate((a) => window.prepareAuth(...a), [st.lbUrl, key, connectionId, null, null]);
    const popupP = context.waitForEvent('page', { timeout: 5000 }).catch(() => null);
    await page.click('#connect');
    const popup = await popupP;
    let timer;
    const outcome = await Promise.race([
      page.evaluate(() => window.lastAuth),
      new Promise((r) => { timer = setTimeout(() => r({ timeout: true }), timeoutMs); }),
    ]);
    clearTimeout(timer);
    if (popup && !popup.isClosed()) await popup.waitForEvent('close', { timeout: 5000 }).catch(() => popup.close().catch(() => {}));
    return outcome;
  }

  /** crossDeliveries counts results that reached a socket on another instance than the callback's. */
  const crossDeliveries = () => st.nangos.filter(Boolean).reduce((n, inst) => n + (inst.logs().match(/flow result delivered from another instance/g) || []).length, 0);

  test('the three instances started together on an empty schema and all serve /ready', async (t) => {
    if (!need(t)) return;
    for (const n of st.nangos) {
      const r = await fetch(`${n.url}/ready`);
      assert.equal(r.status, 200, `${n.url}/ready: ${await r.text()}`);
    }
  });

  test(`${FLOWS} browser OAuth flows through nginx; callbacks land on other instances; none hangs`, async (t) => {
    if (!need(t)) return;
    for (let i = 0; i < FLOWS; i++) {
      // A flow makes three requests (WebSocket, /oauth/connect, /oauth/callback); one more shifts the
      // round-robin so that flows put their callbacks on different instances.
      await (await fetch(`${st.lbUrl}/health`)).arrayBuffer();
      const r = await auth(keys.lb, `lb-user-${i}`);
      assert.ok(!r.timeout, `flow ${i} hung (auth() never settled)`);
      assert.deepEqual(r.result, { providerConfigKey: keys.lb, connectionId: `lb-user-${i}` }, `flow ${i}: ${JSON.stringify(r.error)}`);
    }
    const log = st.nginx.upstreamLog();
    const callbacks = new Set(log.filter((e) => e.uri.startsWith('/oauth/callback')).map((e) => e.upstream));
    const sockets = new Set(log.filter((e) => e.status === 101).map((e) => e.upstream));
    assert.ok(callbacks.size >= 2, `callbacks served by ${[...callbacks]}: want several instances`);
    assert.ok(sockets.size >= 2, `WebSockets served by ${[...sockets]}: want several instances`);
    const crossed = crossDeliveries();
    assert.ok(crossed >= 1, 'no flow result crossed instances (callback and socket always on one instance)');
    t.diagnostic(`${crossed} of ${FLOWS} results delivered to a socket on another instance than the callback's`);
    const list = await api('GET', '/connection');
    assert.equal(list.status, 200);
    const ids = list.json.connections.map((c) => c.connection_id);
    for (let i = 0; i < FLOWS; i++) assert.ok(ids.includes(`lb-user-${i}`), `lb-user-${i} listed`);
  });

  test('an expiring connection hammered from all three instances and the balancer: every token works, no reuse', async (t) => {
    if (!need(t)) return;
    const r = await auth(keys.hot, 'hot-user');
    assert.deepEqual(r.result, { providerConfigKey: keys.hot, connectionId: 'hot-user' }, JSON.stringify(r));
    const clients = [node(st.lbUrl), ...st.nangos.map((n) => node(n.url))];
    const before = st.oauth.tokenRequestCount('refresh_token', 'e2e-lb-hot');
    for (let round = 0; round < 3; round++) {
      const calls = [];
      for (let i = 0; i < 24; i++) calls.push(clients[i % clients.length].getToken(keys.hot, 'hot-user'));
      const tokens = await Promise.all(calls);
      const distinct = [...new Set(tokens)];
      const results = await Promise.all(distinct.map((tk) => callApi(st.oauth, tk)));
      assert.ok(results.every((x) => x.status === 200), `round ${round}: tokens rejected: ${JSON.stringify(results.map((x) => x.status))}`);
    }
    const s = st.oauth.stats('e2e-lb-hot');
    assert.equal(s.refreshTokenReuse, 0, 'a refresh token was reused');
    assert.equal(s.tokenRequests.refresh_token?.error || 0, 0, 'a refresh failed');
    t.diagnostic(`${st.oauth.tokenRequestCount('refresh_token', 'e2e-lb-hot') - before} refreshes for 72 reads; by instance: ${JSON.stringify(st.gate.counts().byInstance)}`);
  });

  test('SIGKILL of the instance whose refresh is in flight: survivors take over, no refresh token lost or reused', async (t) => {
    if (!need(t)) return;
    const heldP = st.gate.holdNextRefresh();
    const started = Date.now();
    const calls = [];
    for (let i = 0; i < 6; i++) calls.push({ via: 'lb', p: node(st.lbUrl).getToken(keys.hot, 'hot-user') });
    st.nangos.forEach((n, i) => { for (let k = 0; k < 3; k++) calls.push({ via: i, p: node(n.url).getToken(keys.hot, 'hot-user') }); });
    const held = await Promise.race([heldP, new Promise((_, rej) => setTimeout(() => rej(new Error('no refresh reached the token endpoint')), 30000))]);
    victim = held.instance;
    st.nangos[victim].process.kill('SIGKILL');
    const settled = await Promise.all(calls.map((c) => c.p.then((v) => ({ ok: true, v }), (e) => ({ ok: false, e }))));
    const waited = Date.now() - started;

    // The held request's sender died: it was dropped, never forwarded.
    const counts = st.gate.counts();
    assert.equal(counts.abandoned, 1, `gate: ${JSON.stringify(counts)}`);
    // Everyone not talking to the dead instance directly got a working token.
    const tokens = [];
    calls.forEach((c, i) => {
      if (c.via === victim) return; // its clients lose their connection: expected
      assert.ok(settled[i].ok, `getToken via ${c.via === 'lb' ? 'nginx' : `instance ${c.via}`} failed: ${settled[i].e?.message}`);
      tokens.push(settled[i].v);
    });
    for (const tk of new Set(tokens)) assert.equal((await callApi(st.oauth, tk)).status, 200, 'a token handed out after the kill is rejected');

    const s = st.oauth.stats('e2e-lb-hot');
    assert.equal(s.refreshTokenReuse, 0, 'the provider saw a reused refresh token');
    assert.equal(s.tokenRequests.refresh_token?.error || 0, 0, 'a refresh failed');

    // No refresh token lost: the stored one is the last the provider issued, and it still works.
    const survivor = [0, 1, 2].find((i) => i !== victim);
    const conn = await api('GET', `/connection/hot-user?provider_config_key=${keys.hot}`, undefined, { instance: survivor });
    assert.equal(conn.status, 200, conn.text);
    const issued = st.oauth.issuedTokens('e2e-lb-hot').filter((x) => x.refreshToken);
    assert.equal(conn.json.credentials.refresh_token, issued.at(-1).refreshToken, 'the stored refresh token is not the last one issued');
    const forced = await api('GET', `/connection/hot-user?provider_config_key=${keys.hot}&force_refresh=true`, undefined, { instance: survivor });
    assert.equal(forced.status, 200, `forced refresh after the kill: ${forced.text}`);
    assert.equal((await callApi(st.oauth, forced.json.credentials.access_token)).status, 200);
    t.diagnostic(`killed instance ${victim} mid-refresh; its lease lapsed and the others were served after ${waited} ms`);
  });

  test('the survivors keep serving: /ready, flows and reads through nginx', async (t) => {
    if (!need(t)) return;
    if (victim < 0) { t.skip('prerequisite failed: no instance was killed'); return; }
    st.nangos.forEach((n, i) => { if (i !== victim) assert.ok(n.exited() === null, `instance ${i} died`); });
    for (const [i, n] of st.nangos.entries()) {
      if (i === victim) continue;
      const r = await fetch(`${n.url}/ready`);
      assert.equal(r.status, 200, `instance ${i} /ready`);
    }
    for (let i = 0; i < 3; i++) {
      const r = await auth(keys.lb, `lb-after-${i}`);
      assert.ok(!r.timeout, `flow ${i} after the kill hung`);
      assert.deepEqual(r.result, { providerConfigKey: keys.lb, connectionId: `lb-after-${i}` }, JSON.stringify(r.error));
    }
    for (let i = 0; i < 9; i++) {
      const r = await api('GET', `/connection/lb-user-${i % FLOWS}?provider_config_key=${keys.lb}`);
      assert.equal(r.status, 200, r.text);
    }
  });

  test('server logs contain no secrets', (t) => {
    if (!need(t)) return;
    const logs = st.nangos.map((n) => n.logs()).join('\n');
    const found = [];
    if (logs.includes(st.secretKey)) found.push('NANGO_SECRET_KEY');
    for (const [id, sec] of Object.entries(st.clientSecrets)) if (logs.includes(sec)) found.push(`client secret of ${id}`);
    for (const tk of st.oauth.issuedTokens()) {
      if (tk.accessToken && logs.includes(tk.accessToken)) found.push(`access token of ${tk.clientId}`);
      if (tk.refreshToken && logs.includes(tk.refreshToken)) found.push(`refresh token of ${tk.clientId}`);
    }
    assert.deepEqual([...new Set(found)], []);
  });
});
