// Two nango instances on one PostgreSQL (only when NANGO_E2E_DATABASE_URL is set):
//   - the SDK talks to instance 0 (WebSocket + popup) while the provider redirects to instance 1's
//     callback (NANGO_CALLBACK_URL), and auth() still resolves;
//   - 50 concurrent getToken calls on an expiring token, split across both instances: every token
//     works and the rotating provider never sees a reused refresh token.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { usingPostgres } from '../lib/nango.js';
import { callApi, startStack } from '../lib/stack.js';

describe('two instances sharing PostgreSQL', () => {
  let s;
  let skipAll = '';
  let connected = false;
  const id = 'multi-user-1';
  before(async () => {
    if (!usingPostgres()) { skipAll = 'needs PostgreSQL: set NANGO_E2E_DATABASE_URL'; return; }
    s = await startStack({ name: 'multi', instances: 2, callbackVia: 1 });
    if (s.skip) { skipAll = s.skip; return; }
    const f = await s.probe();
    for (const k of ['config', 'connect', 'callback', 'connection']) if (!f[k].ok) { skipAll = f[k].reason; return; }
    if (!(await s.websocketAck())) { skipAll = 'server lacks the WebSocket channel (no connection_ack on ws://host/)'; return; }
    const r = await s.createIntegration('multi');
    if (r.status >= 300) throw new Error(`POST /config failed: ${r.status} ${r.text}`);
  });
  after(async () => { if (s && !s.skip) await s.stop(); });
  const need = (t) => { if (skipAll) { t.skip(skipAll); return false; } return true; };

  test('the callback lands on the other instance and auth() still resolves', async (t) => {
    if (!need(t)) return;
    const r = await s.auth(s.keys.multi, id, { instance: 0, timeoutMs: 20000 });
    assert.ok(!r.timeout, `auth() did not settle: the success did not cross instances (popup: ${JSON.stringify(r.popupUrls)})`);
    assert.deepEqual(r.result, { providerConfigKey: s.keys.multi, connectionId: id }, JSON.stringify(r.error));
    assert.ok(r.popupUrls.some((u) => u.startsWith(`${s.nangos[1].url}/oauth/callback`)), `callback served by instance 1: ${JSON.stringify(r.popupUrls)}`);
    assert.ok(r.popupClosed);
    connected = true;
  });

  test('50 concurrent reads of an expiring token across both instances: no reuse, all tokens work', async (t) => {
    if (!need(t)) return;
    if (!connected) { t.skip('prerequisite failed: auth()'); return; }
    const nodes = [s.node(0), s.node(1)];
    const before = s.oauth.tokenRequestCount('refresh_token', 'e2e-multi');
    const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => nodes[i % 2].getToken(s.keys.multi, id)));
    const distinct = [...new Set(tokens)];
    const results = await Promise.all(distinct.map((tk) => callApi(s.oauth, tk)));
    assert.ok(results.every((r) => r.status === 200), `all tokens accepted: ${JSON.stringify(results.map((r) => r.status))}`);
    const st = s.oauth.stats('e2e-multi');
    assert.equal(st.refreshTokenReuse, 0, 'no reused refresh token');
    assert.equal(st.tokenRequests.refresh_token?.error || 0, 0, 'no failed refresh');
    t.diagnostic(`${s.oauth.tokenRequestCount('refresh_token', 'e2e-multi') - before} refresh request(s) for 50 reads, ${distinct.length} distinct token(s)`);
  });

  test('server logs contain no secrets', (t) => {
    if (!need(t)) return;
    assert.deepEqual(s.secretsFound(), []);
  });
});
