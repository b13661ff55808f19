// Small HTTP helpers for tests that drive redirects by hand: a cookie jar and a redirect follower.

import crypto from 'node:crypto';

/** CookieJar keeps cookies by name and path (one host per jar is enough for these tests). */
export class CookieJar {
  #cookies = new Map(); // `${name};${path}` -> {name, value, path}

  /** store records the Set-Cookie headers of a fetch Response. */
  store(res, requestPath) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = requestPath.replace(/\/[^/]*$/, '') || '/';
      let expired = value === '';
      for (const a of attrs) {
        const [k, v] = a.split('=');
        if (/^path$/i.test(k)) path = v || '/';
        if (/^max-age$/i.test(k) && Number(v) <= 0) expired = true;
        if (/^expires$/i.test(k) && Date.parse(v) < Date.now()) expired = true;
      }
      const key = `${name};${path}`;
      if (expired) this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, path });
    }
  }

  /** header returns the Cookie header value for a request path. */
  header(requestPath) {
    return [...this.#cookies.values()]
      .filter((c) => requestPath === c.path || requestPath.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

/**
 * followUntil GETs `url` and follows redirects by hand (keeping cookies in `jar`) until a Location
 * starts with `stopPrefix`; returns that Location as a URL. Throws on a non-redirect answer or after
 * `max` hops, with the body of the last answer.
 */
export async function followUntil(url, stopPrefix, jar = new CookieJar(), max = 20) {
  let current = new URL(url);
  for (let i = 0; i < max; i++) {
    const res = await fetch(current, { redirect: 'manual', headers: { cookie: jar.header(current.pathname) } });
    jar.store(res, current.pathname);
    const loc = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !loc) {
      throw new Error(`followUntil: ${current} answered ${res.status} without a redirect: ${(await res.text()).slice(0, 500)}`);
    }
    await res.arrayBuffer();
    const next = new URL(loc, current);
    if (next.href.startsWith(stopPrefix)) return next;
    current = next;
  }
  throw new Error(`followUntil: more than ${max} redirects from ${url}`);
}

/** pkce returns a fresh S256 verifier/challenge pair. */
export function pkce() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier, 'ascii').digest('base64url');
  return { verifier, challenge };
}

/** postForm POSTs an application/x-www-form-urlencoded body; returns {status, json, headers}. */
export async function postForm(url, fields, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, json, text, headers: res.headers };
}

/** freePort asks the kernel for a free loopback TCP port (closed again before returning). */
export async function freePort() {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** randomId returns a short random identifier for keys and connection ids. */
export function randomId(prefix = '') {
  return `${prefix}${crypto.randomBytes(6).toString('hex')}`;
}
