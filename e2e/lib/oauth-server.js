// A real OAuth 2.0 / OpenID Connect authorization server for the e2e suite, built on the npm package
// `oidc-provider`, plus a small protected API that only accepts the access tokens this server issued.
//
// What it adds around oidc-provider:
//   - interactions (login + consent) complete by redirects alone, as a fixed test user, so a browser
//     popup flow needs no clicks; a client marked `deny` gets `error=access_denied` instead, and one
//     marked `noCode` is sent back to its redirect URI with the state only (a broken provider);
//   - refresh tokens on every code grant (no consent friction around offline_access), rotated on every
//     refresh; presenting an already-rotated refresh token is rejected by oidc-provider (which then
//     revokes the whole grant, as the OAuth security BCP recommends) and counted here as a reuse;
//   - per-client access-token TTL, changeable at run time, so tests can make tokens "about to expire";
//   - injected token-endpoint failures (e.g. a 503 for the next N token requests);
//   - counters of token requests by grant type and outcome, reuse attempts, API calls, readable
//     in-process (`stats()`) or over HTTP (`GET /__e2e/stats`).
//
// Protected API (Bearer access token validated against the provider's own token store):
//   GET  /api/me              -> {sub, client_id, scope, expires_at}
//   ANY  /api/echo[/...]      -> {method, path, query, headers, body, json, token:{sub, client_id}}
//   ANY  /api/status/<code>   -> answers <code> with {status, message} (for error pass-through checks)
// An invalid/expired/revoked token gets 401 {"error":"invalid_token"}.
//
// Control endpoints (loopback test server, no auth): GET /__e2e/stats, POST /__e2e/reset,
// POST /__e2e/config {"accessTokenTTL":60,"clientId":"x"?}, POST /__e2e/fail-token {"count":1,"status":503},
// POST /__e2e/revoke {"clientId":"x"}.

import crypto from 'node:crypto';
import http from 'node:http';
import querystring from 'node:querystring';
import Provider from 'oidc-provider';

const DEFAULT_ACCOUNT = Object.freeze({ sub: 'e2e-user', email: 'e2e-user@example.test', name: 'E2E Test User' });

/**
 * Starts the authorization server on a loopback port.
 *
 * @param {object} opts
 * @param {string} [opts.host='127.0.0.1']
 * @param {number} [opts.port=0] 0 = any free port
 * @param {Array<{clientId:string, clientSecret:string, redirectUris:string[], accessTokenTTL?:number,
 *   tokenEndpointAuthMethod?:'client_secret_post'|'client_secret_basic', deny?:boolean, noCode?:boolean}>} opts.clients
 *   deny: interactions end with error=access_denied; noCode: /auth redirects back with the state only
 * @param {number} [opts.accessTokenTTL=60] seconds, default for clients without their own
 * @param {number} [opts.refreshTokenTTL=1209600] seconds
 * @param {{sub:string,email?:string,name?:string}} [opts.account] the fixed test user
 * @param {(msg:string)=>void} [opts.log] diagnostics sink (default: silent)
 */
export async function startOAuthServer(opts = {}) {
  const host = opts.host || '127.0.0.1';
  const log = opts.log || (() => {});
  const account = { ...DEFAULT_ACCOUNT, ...(opts.account || {}) };
  const refreshTokenTTL = opts.refreshTokenTTL || 14 * 24 * 3600;
  let defaultTTL = opts.accessTokenTTL || 60;
  const clientTTL = new Map();
  const clientDeny = new Set();
  const clientAuthMethod = new Map();
  const clientNoCode = new Set();
  const clientRedirects = new Map();

  const clients = (opts.clients || []).map((c) => {
    if (!c.clientId || !c.clientSecret || !Array.isArray(c.redirectUris) || c.redirectUris.length === 0) {
      throw new Error(`oauth-server: client needs clientId, clientSecret and redirectUris: ${JSON.stringify(c.clientId)}`);
    }
    if (c.accessTokenTTL) clientTTL.set(c.clientId, c.accessTokenTTL);
    if (c.deny) clientDeny.add(c.clientId);
    if (c.noCode) clientNoCode.add(c.clientId);
    clientRedirects.set(c.clientId, new Set(c.redirectUris));
    clientAuthMethod.set(c.clientId, c.tokenEndpointAuthMethod || 'client_secret_post');
    return {
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: c.redirectUris,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: c.tokenEndpointAuthMethod || 'client_secret_post',
    };
  });

  // --- statistics -------------------------------------------------------------------------------
  const emptyStats = () => ({ events: [], api: { accepted: 0, rejected: 0 }, interactions: { login: 0, consent: 0, denied: 0 } });
  let st = emptyStats();
  const rotated = new Set(); // refresh tokens already exchanged (consumed by rotation)
  const issued = []; // every token response, for log scans (in-process only, never served over HTTP)
  let failNext = { count: 0, status: 503 };

  // --- the HTTP server; the provider needs the port for its issuer, so listen first ---------------
  // Idle keep-alive sockets stay open longer than a test pauses (Node's 5 s default races with the
  // browser reusing a socket the server is just closing).
  const server = http.createServer({ keepAliveTimeout: 120000, headersTimeout: 125000 });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port || 0, host, resolve);
  });
  const { port } = server.address();
  const issuer = `http://${host}:${port}`;

  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'e2e-rs256', use: 'sig', alg: 'RS256' };

  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: [jwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'api'],
    claims: { openid: ['sub'], email: ['email'], profile: ['name'] },
    findAccount: async (_ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: id, email: account.email, name: account.name }),
    }),
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    pkce: { required: () => false }, // PKCE is verified when the client sends it (S256); templates may disable it
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    ttl: {
      AccessToken: (_ctx, _token, client) => clientTTL.get(client.clientId) || defaultTTL,
      AuthorizationCode: 120,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
      Grant: refreshTokenTTL,
      RefreshToken: refreshTokenTTL,
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = `<!doctype html><title>oauth-server error</title><pre>${escapeHTML(JSON.stringify(out))}</pre>`;
    },
  });
  provider.proxy = false;

  const tokenEvent = new WeakMap(); // req -> its stats event, to attach the outcome
  const grantIds = new Map(); // clientId -> Set(grantId), for revokeGrants
  provider.on('grant.success', (ctx) => {
    const ev = tokenEvent.get(ctx.req);
    if (ev) ev.outcome = 'success';
    if (ctx.oidc.params.grant_type === 'refresh_token') rotated.add(ctx.oidc.params.refresh_token);
    const g = ctx.oidc.entities.Grant;
    const cid = ctx.oidc.client?.clientId;
    const b = ctx.body || {};
    issued.push({ clientId: cid, grantType: ctx.oidc.params.grant_type, accessToken: b.access_token, refreshToken: b.refresh_token, idToken: b.id_token });
    if (g && cid) {
      if (!grantIds.has(cid)) grantIds.set(cid, new Set());
      grantIds.get(cid).add(g.jti);
    }
  });
  provider.on('grant.error', (ctx, err) => {
    const ev = tokenEvent.get(ctx.req);
    if (ev) {
      ev.outcome = 'error';
      ev.error = err.error;
      ev.errorDescription = err.error_description;
    }
  });
  provider.on('server_error', (_ctx, err) => log(`oidc-provider server_error: ${err.stack || err}`));
  const providerCallback = provider.callback();

  // --- request handlers ---------------------------------------------------------------------------
  async function handleInteraction(req, res) {
    const details = await provider.interactionDetails(req, res);
    const { prompt, params } = details;
    const clientId = String(params.client_id);
    if (clientDeny.has(clientId)) {
      st.interactions.denied++;
      await provider.interactionFinished(req, res, {
        error: 'access_denied',
        error_description: 'The test user denied the authorization request',
      }, { mergeWithLastSubmission: false });
      return;
    }
    let result;
    if (prompt.name === 'login') {
      st.interactions.login++;
      result = { login: { accountId: account.sub } };
    } else if (prompt.name === 'consent') {
      st.interactions.consent++;
      let grant = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
      if (!grant) grant = new provider.Grant({ accountId: details.session.accountId, clientId });
      const d = prompt.details || {};
      if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
      if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
      if (d.missingResourceScopes) {
        for (const [indicator, scopes] of Object.entries(d.missingResourceScopes)) {
          grant.addResourceScope(indicator, scopes.join(' '));
        }
      }
      const grantId = await grant.save();
      result = { consent: { grantId } };
    } else {
      throw new Error(`oauth-server: unexpected interaction prompt ${prompt.name}`);
    }
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
  }

  async function validateBearer(req) {
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization || '');
    if (!m) return { error: 'missing bearer token' };
    const at = await provider.AccessToken.find(m[1].trim());
    if (!at) return { error: 'unknown, expired or revoked access token' };
    if (at.isExpired) return { error: 'expired access token' }; // find() allows clockTolerance; we don't
    const grant = await provider.Grant.find(at.grantId);
    if (!grant) return { error: 'the grant of this access token was revoked' };
    return { token: at };
  }

  async function handleApi(req, res, url) {
    const body = await readBody(req);
    const v = await validateBearer(req);
    if (!v.token) {
      st.api.rejected++;
      return sendJSON(res, 401, { error: 'invalid_token', error_description: v.error },
        { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${v.error}"` });
    }
    st.api.accepted++;
    const at = v.token;
    const tokenInfo = { sub: at.accountId, client_id: at.clientId, scope: at.scope };
    const path = url.pathname;
    if (path === '/api/me') {
      return sendJSON(res, 200, { ...tokenInfo, expires_at: new Date(at.exp * 1000).toISOString() });
    }
    if (path === '/api/echo' || path.startsWith('/api/echo/')) {
      const text = body.toString('utf8');
      let json;
      if (/json/i.test(req.headers['content-type'] || '') && text !== '') {
        try { json = JSON.parse(text); } catch { json = undefined; }
      }
      return sendJSON(res, 200, {
        method: req.method,
        path,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body: text,
        json,
        token: tokenInfo,
      });
    }
    const sm = /^\/api\/status\/(\d{3})$/.exec(path);
    if (sm) {
      const code = Number(sm[1]);
      return sendJSON(res, code, { status: code, message: `status ${code} requested` });
    }
    return sendJSON(res, 404, { error: 'not_found', path });
  }

  async function handleControl(req, res, url) {
    const body = await readBody(req);
    let input = {};
    if (body.length) {
      try { input = JSON.parse(body.toString('utf8')); } catch { return sendJSON(res, 400, { error: 'body must be JSON' }); }
    }
    switch (`${req.method} ${url.pathname}`) {
      case 'GET /__e2e/stats':
        return sendJSON(res, 200, api.stats(url.searchParams.get('client_id') || undefined));
      case 'POST /__e2e/reset':
        api.resetStats();
        return sendJSON(res, 200, {});
      case 'POST /__e2e/config':
        api.setAccessTokenTTL(Number(input.accessTokenTTL), input.clientId);
        return sendJSON(res, 200, {});
      case 'POST /__e2e/fail-token':
        api.failTokenRequests(Number(input.count ?? 1), Number(input.status ?? 503));
        return sendJSON(res, 200, {});
      case 'POST /__e2e/revoke':
        return sendJSON(res, 200, { revoked: await api.revokeGrants(input.clientId) });
      default:
        return sendJSON(res, 404, { error: 'unknown control endpoint' });
    }
  }

  // A misbehaving provider: answers the authorization request by redirecting back with the state
  // only (neither code nor error).
  async function handleNoCode(req, res, url) {
    const redirect = url.searchParams.get('redirect_uri');
    if (!clientRedirects.get(url.searchParams.get('client_id')).has(redirect)) {
      return sendJSON(res, 400, { error: 'invalid_redirect_uri' });
    }
    const to = new URL(redirect);
    if (url.searchParams.has('state')) to.searchParams.set('state', url.searchParams.get('state'));
    res.writeHead(303, { Location: to.href });
    res.end();
  }

  // Reads the token request body itself (oidc-provider accepts a pre-read body) to count every
  // request by grant type, spot refresh-token reuse, and inject failures.
  async function handleToken(req, res) {
    const raw = await readBody(req);
    const text = raw.toString('utf8');
    const ct = req.headers['content-type'] || '';
    let params = {};
    try {
      params = /json/i.test(ct) ? JSON.parse(text || '{}') : querystring.parse(text);
    } catch { params = {}; }
    let clientId = typeof params.client_id === 'string' ? params.client_id : undefined;
    const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization || '');
    if (!clientId && basic) {
      const dec = Buffer.from(basic[1], 'base64').toString('utf8');
      try { clientId = decodeURIComponent(dec.slice(0, dec.indexOf(':')).replace(/\+/g, ' ')); } catch { clientId = undefined; }
    }
    let clientAuth = 'none';
    if (basic) clientAuth = 'client_secret_basic';
    else if (typeof params.client_secret === 'string') clientAuth = 'client_secret_post';
    const ev = {
      at: new Date().toISOString(),
      grantType: String(params.grant_type || ''),
      clientId,
      clientAuth,
      outcome: 'pending',
      reuse: false,
      injected: false,
    };
    if (ev.grantType === 'refresh_token' && rotated.has(params.refresh_token)) ev.reuse = true;
    st.events.push(ev);
    // oidc-provider accepts either method whatever the registration says; be strict, so a template's
    // authorization_method is really exercised.
    const want = clientAuthMethod.get(clientId);
    if (want && want !== clientAuth) {
      ev.outcome = 'error';
      ev.error = 'invalid_client';
      return sendJSON(res, 401, { error: 'invalid_client', error_description: `client authentication must use ${want}, got ${clientAuth}` });
    }
    if (failNext.count > 0) {
      failNext.count--;
      ev.injected = true;
      ev.outcome = 'error';
      ev.error = 'injected_failure';
      return sendJSON(res, failNext.status, { error: 'temporarily_unavailable', error_description: 'injected by the e2e test' });
    }
    req.body = text;
    tokenEvent.set(req, ev);
    res.on('finish', () => { if (ev.outcome === 'pending') ev.outcome = res.statusCode < 400 ? 'success' : 'error'; });
    return providerCallback(req, res);
  }

  server.on('request', (req, res) => {
    const url = new URL(req.url, issuer);
    let p;
    if (url.pathname.startsWith('/interaction/')) p = handleInteraction(req, res);
    else if (url.pathname.startsWith('/api/')) p = handleApi(req, res, url);
    else if (url.pathname.startsWith('/__e2e/')) p = handleControl(req, res, url);
    else if (req.method === 'POST' && url.pathname === '/token') p = handleToken(req, res);
    else if (url.pathname === '/auth' && clientNoCode.has(url.searchParams.get('client_id'))) p = handleNoCode(req, res, url);
    else return providerCallback(req, res);
    p.catch((err) => {
      log(`oauth-server: ${req.method} ${url.pathname}: ${err.stack || err}`);
      if (!res.headersSent) sendJSON(res, 500, { error: 'server_error', error_description: String(err.message || err) });
      else res.destroy();
    });
  });

  const sockets = new Set();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });

  const api = {
    issuer,
    url: issuer,
    port,
    authorizationUrl: `${issuer}/auth`,
    tokenUrl: `${issuer}/token`,
    apiBaseUrl: `${issuer}/api`,
    account,
    provider,

    /** Counters, all clients or one client's. */
    stats(clientId) {
      const evs = st.events.filter((e) => !clientId || e.clientId === clientId);
      const byGrant = {};
      for (const e of evs) {
        const g = (byGrant[e.grantType || '(none)'] ||= { total: 0, success: 0, error: 0 });
        g.total++;
        if (e.outcome === 'success') g.success++;
        else if (e.outcome === 'error') g.error++;
      }
      return {
        tokenRequests: byGrant,
        refreshTokenReuse: evs.filter((e) => e.reuse).length,
        injectedFailures: evs.filter((e) => e.injected).length,
        events: evs.map((e) => ({ ...e })),
        api: { ...st.api },
        interactions: { ...st.interactions },
      };
    },
    /** Number of token requests of a grant type (any outcome), optionally for one client. */
    tokenRequestCount(grantType, clientId) {
      return st.events.filter((e) => e.grantType === grantType && (!clientId || e.clientId === clientId)).length;
    },
    resetStats() { st = emptyStats(); },
    /** Every token response issued so far ({clientId, grantType, accessToken, refreshToken, idToken}). */
    issuedTokens(clientId) { return issued.filter((t) => !clientId || t.clientId === clientId).map((t) => ({ ...t })); },
    /** Sets the access-token TTL (seconds) for tokens issued from now on: one client's, or the default. */
    setAccessTokenTTL(seconds, clientId) {
      if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`oauth-server: bad accessTokenTTL ${seconds}`);
      if (clientId) clientTTL.set(clientId, seconds);
      else defaultTTL = seconds;
    },
    /** Makes the next `count` token requests fail with `status` without reaching oidc-provider. */
    failTokenRequests(count, status = 503) { failNext = { count, status }; },
    /** Revokes every grant (and so every token) of a client, as a user revoking the app would. */
    async revokeGrants(clientId) {
      let n = 0;
      for (const id of grantIds.get(clientId) || []) {
        const g = await provider.Grant.find(id);
        if (g) { await g.destroy(); n++; }
        await Promise.all(['AccessToken', 'RefreshToken', 'AuthorizationCode'].map((m) => provider[m].adapter.revokeByGrantId(id)));
      }
      return n;
    },
    /** Validates a bearer access token like the protected API does: {token} or {error}. */
    async validateAccessToken(value) {
      return validateBearer({ headers: { authorization: `Bearer ${value}` } });
    },
    async close() {
      server.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => setImmediate(r));
    },
  };

  return api;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJSON(res, status, obj, headers = {}) {
  const b = JSON.stringify(obj);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(b), 'Cache-Control': 'no-store', ...headers });
  res.end(b);
}

function escapeHTML(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
