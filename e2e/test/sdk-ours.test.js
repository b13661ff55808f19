// Our browser SDK (the server's /sdk/nango.js) through the same checks as @nangohq/frontend@0.16.1,
// side by side with it where the two must agree: constructor and URL errors, query strings (no
// URL-encoding), the popup's window features and URL, debug lines, the outcome of every flow
// (success, params, each flow error type, HMAC). Then what ours adds: {type:'window_closed'} when
// the user closes the popup, {type:'timeout'}, {type:'connection_error'}, and the credentials
// (API key / Basic) request.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { callApi, startStack } from '../lib/stack.js';

const FLOW = { timeoutMs: 20000 };

/**
 * clickAuth runs `new Nango({host, ...ctor}).auth(key, id, config)` with the current harness SDK from
 * a click on the harness's Connect button (so the popup opens inside a user gesture). Unlike
 * stack.auth it passes any auth() option (timeout, credentials) and any constructor option.
 * Resolves {result} | {error:{type,message}} | {thrown} | {timeout:true}, plus the popup.
 */
async function clickAuth(s, { host, key, id, config, ctor = {}, sdk = 'ours', timeoutMs = 20000, popup: wantPopup = true, onPopup } = {}) {
  const b = await s.browser(sdk);
  const { page, context } = b;
  await page.evaluate(([h, k, i, cfg, c]) => {
    const orig = window.runAuth;
    // The harness's click handler calls window.runAuth(...prepared): run ours once, then restore.
    window.runAuth = () => {
      window.runAuth = orig;
      try {
        return new window.NangoSDK({ host: h, ...c }).auth(k, i, cfg === null ? undefined : cfg).then(
          (result) => ({ result }),
          (e) => ({ error: { type: e && e.type !== undefined ? e.type : null, message: e && e.message !== undefined ? e.message : String(e) } }),
        );
      } catch (e) {
        return Promise.resolve({ thrown: e.message });
      }
    };
    window.prepareAuth('custom');
  }, [host ?? s.nango.url, key, id, config ?? null, ctor]);
  const popupP = wantPopup ? context.waitForEvent('page', { timeout: 5000 }).catch(() => null) : Promise.resolve(null);
  await page.click('#connect');
  const popup = await popupP;
  if (popup && onPopup) await onPopup(popup);
  let timer;
  const outcome = await Promise.race([
    page.evaluate(() => window.lastAuth),
    new Promise((r) => { timer = setTimeout(() => r({ timeout: true }), timeoutMs); }),
  ]);
  clearTimeout(timer);
  let popupClosed = false;
  if (popup) {
    popupClosed = popup.isClosed() || (await popup.waitForEvent('close', { timeout: 5000 }).then(() => true, () => false));
    if (!popupClosed) await popup.close().catch(() => {});
  }
  return { ...outcome, popup, popupClosed };
}

/** stall holds every request to /oauth/connect until released, so a flow waits with its popup open. */
async function stall(context) {
  let seen;
  const requested = new Promise((r) => { seen = r; });
  await context.route('**/oauth/connect/**', () => { seen(); });
  return { requested, release: () => context.unrouteAll({ behavior: 'ignoreErrors' }) };
}

describe('our /sdk/nango.js against @nangohq/frontend@0.16.1', () => {
  let s;
  let skipAll = '';
  before(async () => {
    s = await startStack({ name: 'sdk-ours' });
    if (s.skip) { skipAll = s.skip; return; }
    const f = await s.probe();
    for (const k of ['config', 'connect', 'callback', 'sdk']) if (!f[k].ok) { skipAll = f[k].reason; return; }
    for (const name of Object.keys(s.keys)) {
      const r = await s.createIntegration(name);
      if (r.status >= 300) throw new Error(`POST /config ${name}: ${r.status} ${r.text}`);
    }
    if (!(await s.websocketAck())) skipAll = 'server lacks the WebSocket channel (no connection_ack on ws://host/)';
  });
  after(async () => { if (s && !s.skip) await s.stop(); });
  const need = (t) => { if (skipAll) { t.skip(skipAll); return false; } return true; };

  test('the harness imports /sdk/nango.js cross-origin as an ES module, with no console errors', async (t) => {
    if (!need(t)) return;
    const b = await s.browser('ours');
    assert.deepEqual(await b.page.evaluate(() => window.harnessReady), { sdk: 'ours', url: `${s.nango.url}/sdk/nango.js` });
    const exportsOK = await b.page.evaluate(async (u) => {
      const m = await import(u);
      return typeof m.default === 'function' && m.default === m.Nango;
    }, `${s.nango.url}/sdk/nango.js`);
    assert.ok(exportsOK, 'default and named export Nango');
    assert.deepEqual(s.harnessProblems(), []);
  });

  test('constructor errors, host handling and query strings are identical', async (t) => {
    if (!need(t)) return;
    const b = await s.browser('ours');
    const results = await b.page.evaluate(async () => {
      const theirs = (await import('/sdk/frontend.js')).default;
      const ours = window.NangoSDK;
      const ctors = [{}, { host: 'not a url' }, { host: 'https://api.nango.dev' }, { host: 'https://api.nango.dev/' },
        { host: 'https://staging.nango.dev', publicKey: 'pk-1' }, { host: 'http://127.0.0.1:3003/' }, { host: 'http://h:3003/base//' },
        { host: 'http://h', publicKey: 'pk 2' }];
      const queries = [['u1'], ['u 1&x=y#z', { params: { a: 'b c', n: 5, e: '', u: undefined }, hmac: 'abc' }], ['', {}],
        [undefined, { params: { x: '1' } }], ['ü', { hmac: '' }], ['id', null]];
      const run = (Sdk) => ctors.map((c) => {
        try {
          const n = new Sdk({ ...c });
          return { host: n.hostBaseUrl, cloud: n.isCloud(), qs: queries.map((q) => n.toQueryString(...q)) };
        } catch (e) {
          return { thrown: e.message };
        }
      });
      return { theirs: run(theirs), ours: run(ours) };
    });
    assert.deepEqual(results.ours, results.theirs);
    assert.equal(results.ours[1].thrown, 'Invalid URL provided for the Nango host: not a url');
    assert.equal(results.ours[2].thrown, 'You should specify a Public Key when using Nango Cloud (cf. documentation).');
  });

  test('the popup opens with the same window features and goes to the same URL', async (t) => {
    if (!need(t)) return;
    const seen = {};
    for (const sdk of ['frontend', 'ours']) {
      const b = await s.browser(sdk);
      await b.page.evaluate(() => {
        window.__opens = [];
        const orig = window.open;
        window.open = (...args) => { window.__opens.push(args); return orig.apply(window, args); };
      });
      const id = `${s.runId}-same-url-${sdk}`;
      const requested = [];
      const onRequest = (req) => { if (req.url().includes('/oauth/connect/')) requested.push(req.url()); };
      b.context.on('request', onRequest);
      const r = await s.auth(s.keys.long, id, { ...FLOW, sdk, params: { extra: 'v w' } });
      b.context.off('request', onRequest);
      assert.deepEqual(r.result, { providerConfigKey: s.keys.long, connectionId: id }, `${sdk}: ${JSON.stringify(r.error)}`);
      const opens = await b.page.evaluate(() => window.__opens);
      const first = requested[0];
      assert.ok(first && requested.length === 1, `${sdk}: the popup went once to /oauth/connect: ${JSON.stringify(requested)}`);
      const u = new URL(first);
      assert.match(u.searchParams.get('ws_client_id') || '', /^[0-9a-f-]{36}$/);
      u.searchParams.delete('ws_client_id');
      seen[sdk] = { opens, url: u.href.replaceAll(`-${sdk}`, '-SDK') };
    }
    assert.deepEqual(seen.ours, seen.frontend);
    assert.equal(seen.ours.opens[0][0], '');
    assert.equal(seen.ours.opens[0][1], '_blank');
    assert.match(seen.ours.opens[0][2], /^width=500,height=600,top=\d+(\.\d+)?,left=\d+(\.\d+)?,scrollbars=yes,resizable=yes,status=no,toolbar=no,location=no,copyhistory=no,menubar=no,directories=no$/);
  });

  test('auth() resolves, the popup closes itself and the token works', async (t) => {
    if (!need(t)) return;
    const id = `${s.runId}-ours-ok`;
    const r = await s.auth(s.keys.ours, id, { ...FLOW, sdk: 'ours' });
    assert.deepEqual(r.result, { providerConfigKey: s.keys.ours, connectionId: id }, JSON.stringify(r.error || r));
    assert.ok(r.popupClosed, 'the popup closes itself after success');
    const token = await s.node().getToken(s.keys.ours, id);
    assert.equal((await callApi(s.oauth, token)).status, 200);
    assert.deepEqual(s.harnessProblems(), []);
  });

  test('connection config params interpolate the template URLs', async (t) => {
    if (!need(t)) return;
    const host = new URL(s.oauth.issuer).host;
    const id = `${s.runId}-ours-host`;
    const r = await s.auth(s.keys.host, id, { ...FLOW, sdk: 'ours', params: { host } });
    assert.deepEqual(r.result, { providerConfigKey: s.keys.host, connectionId: id }, JSON.stringify(r.error || r));
    const c = await s.node().getConnection(s.keys.host, id);
    assert.deepEqual(c.connection_config, { host });
  });

  test('every flow error rejects with the same {type, message} as @nangohq/frontend', async (t) => {
    if (!need(t)) return;
    const cases = [
      ['unknown integration', `${s.runId}-no-such-integration`, {}, 'provider_config_err'],
      ['consent denied', s.keys.deny, {}, 'callback_err'],
      ['token exchange refused', s.keys.wrongsecret, {}, 'unknown_err'],
      ['missing connection config param', s.keys.host, {}, 'url_param_err'],
      ['unsupported grant type', s.keys.badgrant, {}, 'grant_type_err'],
      ['callback without code', s.keys.nocode, {}, 'callback_err'],
    ];
    for (const [name, key, opts, type] of cases) {
      const got = {};
      for (const sdk of ['frontend', 'ours']) {
        const r = await s.auth(key, `${s.runId}-err-${type}`, { ...FLOW, ...opts, sdk });
        assert.ok(!r.timeout, `${name} (${sdk}): auth() did not settle; popup went through ${JSON.stringify(r.popupUrls)}`);
        assert.equal(r.result, undefined, `${name} (${sdk}) resolved`);
        assert.ok(r.popupClosed, `${name} (${sdk}): the popup closes itself`);
        got[sdk] = r.error;
      }
      assert.equal(got.ours.type, type, name);
      assert.deepEqual(got.ours, got.frontend, name);
    }
  });

  test('debug: true logs the same lines', async (t) => {
    if (!need(t)) return;
    const lines = {};
    for (const sdk of ['frontend', 'ours']) {
      const b = await s.browser(sdk);
      const logged = [];
      const onConsole = (m) => { if (m.text().includes('NANGO DEBUG LOG')) logged.push(m.text()); };
      b.page.on('console', onConsole);
      const r = await clickAuth(s, { sdk, key: s.keys.long, id: `${s.runId}-debug`, ctor: { debug: true } });
      b.page.off('console', onConsole);
      assert.ok(r.result, `${sdk}: ${JSON.stringify(r)}`);
      lines[sdk] = logged;
    }
    assert.ok(lines.ours.length >= 4, JSON.stringify(lines.ours));
    assert.deepEqual(lines.ours, lines.frontend);
  });

  // --- what @nangohq/frontend lacks ----------------------------------------------------------------

  test('closing the popup rejects with {type: "window_closed"}', async (t) => {
    if (!need(t)) return;
    const b = await s.browser('ours');
    const st = await stall(b.context);
    try {
      const started = Date.now();
      const r = await clickAuth(s, {
        key: s.keys.long,
        id: `${s.runId}-closed`,
        timeoutMs: 10000,
        onPopup: async (popup) => { await st.requested; await popup.close(); },
      });
      assert.equal(r.error?.type, 'window_closed', JSON.stringify(r));
      assert.match(r.error.message, /closed/);
      assert.ok(Date.now() - started < 8000, 'rejected within seconds of the close');
    } finally {
      await st.release();
    }
    assert.deepEqual(s.harnessProblems(), []);
  });

  test('closing the popup before the server acknowledges also rejects window_closed', async (t) => {
    if (!need(t)) return;
    // The popup is closed as soon as it opens, without waiting for the
    // acknowledgement. /oauth/connect is held so that, however the close and
    // the acknowledgement race, the flow itself cannot finish first (on a
    // fast machine it did, and the test saw a success).
    const b = await s.browser('ours');
    const st = await stall(b.context);
    try {
      const r = await clickAuth(s, {
        key: s.keys.long,
        id: `${s.runId}-closed-early`,
        timeoutMs: 10000,
        onPopup: (popup) => popup.close(),
      });
      assert.equal(r.error?.type, 'window_closed', JSON.stringify(r));
    } finally {
      await st.release();
    }
  });

  test('the timeout option rejects with {type: "timeout"} and closes the popup', async (t) => {
    if (!need(t)) return;
    const b = await s.browser('ours');
    for (const where of ['auth', 'constructor']) {
      const st = await stall(b.context);
      try {
        const opts = where === 'auth'
          ? { config: { timeout: 800 } }
          : { ctor: { timeout: 800 } };
        const started = Date.now();
        const r = await clickAuth(s, { key: s.keys.long, id: `${s.runId}-timeout-${where}`, timeoutMs: 10000, ...opts });
        assert.deepEqual(r.error, { type: 'timeout', message: 'The authorization did not finish within 800 ms.' }, `${where}: ${JSON.stringify(r)}`);
        assert.ok(Date.now() - started < 5000);
        assert.ok(r.popupClosed, `${where}: the popup is closed on timeout`);
      } finally {
        await st.release();
      }
    }
    const bad = await clickAuth(s, { key: s.keys.long, id: 'x', config: { timeout: -1 }, popup: false, timeoutMs: 5000 });
    assert.equal(bad.thrown, 'timeout must be a positive number of milliseconds, not -1.');
  });

  test('a host without the WebSocket channel rejects with {type: "connection_error"}', async (t) => {
    if (!need(t)) return;
    const b = await s.browser('ours');
    const harnessOrigin = new URL(b.page.url()).origin; // serves pages, no WebSocket
    const r = await clickAuth(s, { host: harnessOrigin, key: 'k', id: 'c', timeoutMs: 10000 });
    assert.equal(r.error?.type, 'connection_error', JSON.stringify(r));
    assert.ok(r.popupClosed, 'the blank popup is closed');
  });

  test('credentials: API key and Basic are posted to /api-auth/... with the same query string', async (t) => {
    if (!need(t)) return;
    const b = await s.browser('ours');
    const requests = [];
    let answer = { status: 200, body: null };
    await b.context.route('**/api-auth/**', async (route) => {
      const req = route.request();
      requests.push({ method: req.method(), url: req.url(), type: req.headers()['content-type'], body: req.postData() });
      await route.fulfill({ status: answer.status, contentType: 'application/json', body: JSON.stringify(answer.body) });
    });
    try {
      answer = { status: 201, body: { providerConfigKey: 'api-int', connectionId: 'user-7' } };
      const ok = await clickAuth(s, { key: 'api-int', id: 'user-7', config: { params: { region: 'eu' }, hmac: 'h1', credentials: { apiKey: 'sk-live-1' } }, popup: false });
      assert.deepEqual(ok.result, { providerConfigKey: 'api-int', connectionId: 'user-7' }, JSON.stringify(ok));
      assert.deepEqual(requests[0], {
        method: 'POST',
        url: `${s.nango.url}/api-auth/api-key/api-int?connection_id=user-7&params[region]=eu&hmac=h1`,
        type: 'application/json',
        body: '{"apiKey":"sk-live-1"}',
      });

      answer = { status: 200, body: {} };
      const basic = await clickAuth(s, { key: 'basic-int', id: 'u8', config: { credentials: { username: 'bob', password: 'pw' } }, popup: false });
      assert.deepEqual(basic.result, { providerConfigKey: 'basic-int', connectionId: 'u8' });
      assert.equal(requests[1].url, `${s.nango.url}/api-auth/basic/basic-int?connection_id=u8`);
      assert.equal(requests[1].body, '{"username":"bob","password":"pw"}');

      answer = { status: 400, body: { error: "Missing param 'api_key'.", type: 'missing_api_key', payload: {} } };
      const failed = await clickAuth(s, { key: 'api-int', id: 'u9', config: { credentials: { apiKey: '' } }, popup: false });
      assert.deepEqual(failed.error, { type: 'missing_api_key', message: "Missing param 'api_key'." });
    } finally {
      await b.context.unrouteAll({ behavior: 'ignoreErrors' });
    }
    // Against the server itself: whatever it answers, the promise settles with {type, message}.
    const real = await clickAuth(s, { key: s.keys.long, id: 'u10', config: { credentials: { apiKey: 'k' } }, popup: false, timeoutMs: 10000 });
    assert.ok(real.result || (real.error && typeof real.error.type === 'string' && real.error.message), JSON.stringify(real));
  });

  test('server logs contain no secret key, client secret or token', (t) => {
    if (!need(t)) return;
    assert.deepEqual(s.secretsFound(), []);
  });
});

describe('our /sdk/nango.js with HMAC enabled', () => {
  const HMAC_KEY = crypto.randomBytes(24).toString('hex');
  const digest = (key, id) => crypto.createHmac('sha256', HMAC_KEY).update(`${key}:${id}`).digest('hex');
  let s;
  let skipAll = '';
  before(async () => {
    s = await startStack({ name: 'sdk-ours-hmac', env: { NANGO_HMAC_ENABLED: 'true', NANGO_HMAC_KEY: HMAC_KEY } });
    if (s.skip) { skipAll = s.skip; return; }
    const f = await s.probe();
    for (const k of ['config', 'connect', 'callback', 'sdk']) if (!f[k].ok) { skipAll = f[k].reason; return; }
    const r = await s.createIntegration('long');
    if (r.status >= 300) throw new Error(`POST /config failed: ${r.status} ${r.text}`);
  });
  after(async () => { if (s && !s.skip) await s.stop(); });
  const need = (t) => { if (skipAll) { t.skip(skipAll); return false; } return true; };

  test('missing, wrong and right digests', async (t) => {
    if (!need(t)) return;
    const id = 'hmac-ours-1';
    const missing = await s.auth(s.keys.long, id, { ...FLOW, sdk: 'ours' });
    assert.deepEqual(missing.error, { type: 'missing_hmac', message: 'Missing HMAC digest.' });
    const wrong = await s.auth(s.keys.long, id, { ...FLOW, sdk: 'ours', hmac: digest(s.keys.long, 'someone-else') });
    assert.deepEqual(wrong.error, { type: 'invalid_hmac', message: 'Invalid HMAC digest.' });
    const right = await s.auth(s.keys.long, id, { ...FLOW, sdk: 'ours', hmac: digest(s.keys.long, id) });
    assert.deepEqual(right.result, { providerConfigKey: s.keys.long, connectionId: id }, JSON.stringify(right.error));
    assert.ok(right.popupClosed);
    const token = await s.node().getToken(s.keys.long, id);
    assert.equal((await callApi(s.oauth, token)).status, 200);
  });
});
