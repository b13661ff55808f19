// An OAuth 1.0a service provider for the e2e suite. Every signed request it receives is checked by
// the npm package oauth-1.0a — an implementation of RFC 5849 independent of the server's signer:
// the provider takes the protocol parameters of the Authorization header (nonce, timestamp, token,
// verifier, callback...), asks oauth-1.0a for the signature of that request (method, URL with its
// query, form body) with the consumer secret and the token secret it issued, and compares.
//
//   POST /oauth/request_token   temporary credentials (signed with the consumer secret alone)
//   GET  /oauth/authorize       plays the approving user: back to oauth_callback with a verifier
//   POST /oauth/access_token    token credentials (signed with the request token's secret)
//   ANY  /api/...               protected API (signed with the access token's secret)
//
// Signature methods: HMAC-SHA1 and PLAINTEXT, per consumer.

import crypto from 'node:crypto';
import http from 'node:http';
import OAuth from 'oauth-1.0a';

/**
 * startOAuth1Provider starts the provider on a loopback port.
 * @param {{consumers: Array<{key: string, secret: string, method: 'HMAC-SHA1'|'PLAINTEXT'}>}} o
 */
export async function startOAuth1Provider({ consumers }) {
  const byKey = new Map(consumers.map((c) => [c.key, c]));
  const requestTokens = new Map(); // token -> {secret, callback, verifier, consumer}
  const accessTokens = new Map(); // token -> {secret, consumer}
  const log = []; // {path, method, verified, reason}

  function signer(c) {
    return OAuth({
      consumer: { key: c.key, secret: c.secret },
      signature_method: c.method,
      last_ampersand: true,
      hash_function: c.method === 'HMAC-SHA1'
        ? (base, key) => crypto.createHmac('sha1', key).update(base).digest('base64')
        : (_base, key) => key,
    });
  }

  function authParams(header) {
    if (!header || !header.startsWith('OAuth ')) return null;
    const out = {};
    for (const part of header.slice(6).split(',')) {
      const m = part.trim().match(/^([^=]+)="(.*)"$/);
      if (m) out[decodeURIComponent(m[1])] = decodeURIComponent(m[2]);
    }
    return out;
  }

  /** verify checks the request's signature with oauth-1.0a; returns {ok, params, reason}. */
  function verify(req, url, form, tokenSecret) {
    const p = authParams(req.headers.authorization);
    if (!p) return { ok: false, reason: 'no OAuth Authorization header' };
    const c = byKey.get(p.oauth_consumer_key);
    if (!c) return { ok: false, reason: `unknown consumer ${p.oauth_consumer_key}` };
    if (p.oauth_signature_method !== c.method) return { ok: false, reason: `signature method ${p.oauth_signature_method}, want ${c.method}` };
    if (Math.abs(Date.now() / 1000 - Number(p.oauth_timestamp)) > 300) return { ok: false, reason: 'timestamp too far off' };
    const { oauth_signature: sig, ...oauthData } = p;
    const expected = signer(c).getSignature({ url, method: req.method, data: form || {} }, tokenSecret, oauthData);
    if (!sig || sig !== expected) return { ok: false, reason: 'signature mismatch' };
    return { ok: true, params: p, consumer: c };
  }

  async function body(req) {
    const chunks = [];
    for await (const ch of req) chunks.push(ch);
    return Buffer.concat(chunks).toString('utf8');
  }

  function reply(res, status, type, text) {
    res.writeHead(status, { 'Content-Type': type, Connection: 'close' });
    res.end(text);
  }

  const server = http.createServer(async (req, res) => {
    try {
      const origin = `http://${req.headers.host}`;
      const url = origin + req.url;
      const { pathname, searchParams } = new URL(url);
      const raw = await body(req);
      const isForm = (req.headers['content-type'] || '').startsWith('application/x-www-form-urlencoded');
      const form = isForm ? Object.fromEntries(new URLSearchParams(raw)) : undefined;
      const record = (verified, reason) => log.push({ path: pathname, method: req.method, verified, reason });

      if (pathname === '/oauth/request_token') {
        const v = verify(req, url, form, '');
        record(v.ok, v.reason);
        if (!v.ok) return reply(res, 401, 'text/plain', v.reason);
        const token = `rt-${crypto.randomBytes(6).toString('hex')}`;
        const secret = `rts-${crypto.randomBytes(8).toString('hex')}`;
        requestTokens.set(token, { secret, callback: v.params.oauth_callback, consumer: v.consumer.key, requestParams: form || {} });
        // As Twitter: form-encoded temporary credentials served as text/html.
        return reply(res, 200, 'text/html; charset=utf-8', `oauth_token=${token}&oauth_token_secret=${secret}&oauth_callback_confirmed=true`);
      }
      if (pathname === '/oauth/authorize' && req.method === 'GET') {
        const rt = requestTokens.get(searchParams.get('oauth_token'));
        if (!rt) return reply(res, 400, 'text/plain', 'unknown request token');
        rt.verifier = `ver-${crypto.randomBytes(4).toString('hex')}`;
        rt.authorizeQuery = Object.fromEntries(searchParams);
        const back = new URL(rt.callback);
        back.searchParams.set('oauth_token', searchParams.get('oauth_token'));
        back.searchParams.set('oauth_verifier', rt.verifier);
        res.writeHead(302, { Location: back.href, Connection: 'close' });
        return res.end();
      }
      if (pathname === '/oauth/access_token') {
        const p = authParams(req.headers.authorization) || {};
        const rt = requestTokens.get(p.oauth_token);
        const v = verify(req, url, form, rt ? rt.secret : '');
        record(v.ok, v.reason);
        if (!v.ok || !rt) return reply(res, 401, 'text/plain', v.reason || 'unknown request token');
        if (!rt.verifier || p.oauth_verifier !== rt.verifier) return reply(res, 401, 'text/plain', 'bad verifier');
        requestTokens.delete(p.oauth_token);
        const token = `at-${crypto.randomBytes(6).toString('hex')}`;
        const secret = `ats-${crypto.randomBytes(8).toString('hex')}`;
        accessTokens.set(token, { secret, consumer: rt.consumer });
        return reply(res, 200, 'application/x-www-form-urlencoded', `oauth_token=${token}&oauth_token_secret=${secret}&user_id=42&screen_name=ada`);
      }
      if (pathname.startsWith('/api/')) {
        const p = authParams(req.headers.authorization) || {};
        const at = accessTokens.get(p.oauth_token);
        const v = verify(req, url, form, at ? at.secret : '');
        record(v.ok && Boolean(at), v.reason || (at ? '' : 'unknown access token'));
        if (!v.ok || !at) return reply(res, 401, 'application/json', JSON.stringify({ error: v.reason || 'unknown access token' }));
        return reply(res, 200, 'application/json', JSON.stringify({ ok: true, method: req.method, path: pathname, query: Object.fromEntries(searchParams), form: form || null }));
      }
      reply(res, 404, 'text/plain', 'not found');
    } catch (err) {
      reply(res, 500, 'text/plain', String(err));
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    log,
    accessTokens,
    requestTokens,
    /** providersYAML is a templates file with one OAUTH1 template per signature method. */
    providersYAML() {
      return `# Generated by e2e/test/oauth1.test.js
e2e-oauth1-hmac:
  auth_mode: OAUTH1
  request_url: ${base}/oauth/request_token
  authorization_url: ${base}/oauth/authorize
  token_url: ${base}/oauth/access_token
  signature_method: HMAC-SHA1
  scope_separator: ','
  request_params:
    x_auth_access_type: write
  authorization_params:
    expiration: never
  proxy:
    base_url: ${base}/api
e2e-oauth1-plaintext:
  auth_mode: OAUTH1
  request_url: ${base}/oauth/request_token
  authorization_url: ${base}/oauth/authorize
  token_url: ${base}/oauth/access_token
  signature_method: PLAINTEXT
  proxy:
    base_url: ${base}/api
`;
    },
    close: () => new Promise((r) => server.close(r)),
  };
}
