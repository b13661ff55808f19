// HMAC on /oauth/connect (SPEC §3.10) with @nangohq/frontend@0.16.1's {hmac} option:
// NANGO_HMAC_ENABLED=true requires a hex HMAC-SHA256 of "<providerConfigKey>:<connectionId>".

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { callApi, startStack } from '../lib/stack.js';

const HMAC_KEY = crypto.randomBytes(24).toString('hex');
const digest = (key, id, secret = HMAC_KEY) => crypto.createHmac('sha256', secret).update(`${key}:${id}`).digest('hex');

describe('HMAC-protected connect flow', () => {
  let s;
  let skipAll = '';
  before(async () => {
    s = await startStack({ name: 'hmac', env: { NANGO_HMAC_ENABLED: 'true', NANGO_HMAC_KEY: HMAC_KEY } });
    if (s.skip) { skipAll = s.skip; return; }
    const f = await s.probe();
    for (const k of ['config', 'connect', 'callback']) if (!f[k].ok) { skipAll = f[k].reason; return; }
    if (!(await s.websocketAck())) { skipAll = 'server lacks the WebSocket channel (no connection_ack on ws://host/)'; return; }
    const r = await s.createIntegration('long');
    if (r.status >= 300) throw new Error(`POST /config failed: ${r.status} ${r.text}`);
  });
  after(async () => { if (s && !s.skip) await s.stop(); });
  const need = (t) => { if (skipAll) { t.skip(skipAll); return false; } return true; };

  test('without hmac: missing_hmac', async (t) => {
    if (!need(t)) return;
    const r = await s.auth(s.keys.long, 'hmac-user-1', { timeoutMs: 20000 });
    assert.ok(!r.timeout, 'auth() settled');
    assert.deepEqual(r.error, { type: 'missing_hmac', message: 'Missing HMAC digest.' });
    assert.ok(r.popupClosed);
  });

  test('wrong hmac: invalid_hmac', async (t) => {
    if (!need(t)) return;
    const cases = [
      digest(s.keys.long, 'someone-else'),
      digest(s.keys.long, 'hmac-user-1', 'another-key'),
    ];
    for (const hmac of cases) {
      const r = await s.auth(s.keys.long, 'hmac-user-1', { hmac, timeoutMs: 20000 });
      assert.ok(!r.timeout, 'auth() settled');
      assert.deepEqual(r.error, { type: 'invalid_hmac', message: 'Invalid HMAC digest.' });
    }
    assert.equal(s.oauth.tokenRequestCount('authorization_code'), 0, 'the provider was never reached');
  });

  test('right hmac: the flow completes and the token works', async (t) => {
    if (!need(t)) return;
    const id = 'hmac-user-1';
    const r = await s.auth(s.keys.long, id, { hmac: digest(s.keys.long, id), timeoutMs: 20000 });
    assert.deepEqual(r.result, { providerConfigKey: s.keys.long, connectionId: id }, JSON.stringify(r.error || r));
    assert.ok(r.popupClosed);
    const f = await s.probe();
    if (!f.connection.ok) { t.diagnostic(f.connection.reason); return; }
    const token = await s.node().getToken(s.keys.long, id);
    assert.equal((await callApi(s.oauth, token)).status, 200);
  });

  test('server logs contain neither the HMAC key nor other secrets', (t) => {
    if (!need(t)) return;
    assert.ok(!s.allLogs().includes(HMAC_KEY), 'HMAC key not logged');
    assert.deepEqual(s.secretsFound(), []);
  });
});
