// Serves the browser harness page (e2e/harness/) on a loopback port, plus @nangohq/frontend@0.16.1's
// built file as-is from node_modules at /sdk/frontend.js (it is a plain ES module with no imports, so
// the browser loads it without a bundler).
//
//   const h = await startHarness();
//   h.pageUrl({ sdk: 'frontend' })                       // @nangohq/frontend
//   h.pageUrl({ sdk: 'ours', host: nango.url })           // the server's /sdk/nango.js
//   await h.close()

import fs from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const harnessDir = path.join(here, '..', 'harness');
const require = createRequire(import.meta.url);

/** frontendSdkPath is the file of @nangohq/frontend the harness serves. */
export const frontendSdkPath = path.join(path.dirname(require.resolve('@nangohq/frontend/package.json')), 'dist', 'index.js');

const files = {
  '/': [path.join(harnessDir, 'index.html'), 'text/html; charset=utf-8'],
  '/index.html': [path.join(harnessDir, 'index.html'), 'text/html; charset=utf-8'],
  '/harness.js': [path.join(harnessDir, 'harness.js'), 'text/javascript; charset=utf-8'],
  '/sdk/frontend.js': [frontendSdkPath, 'text/javascript; charset=utf-8'],
};

export async function startHarness({ host = '127.0.0.1' } = {}) {
  const server = http.createServer(async (req, res) => {
    const { pathname } = new URL(req.url, 'http://x');
    const f = files[pathname];
    if (req.method !== 'GET' || !f) {
      res.writeHead(404, { 'Content-Type': 'text/plain', Connection: 'close' });
      res.end('not found');
      return;
    }
    try {
      const body = await fs.readFile(f[0]);
      // No keep-alive: a browser reusing a socket the server is just closing fails the module import.
      res.writeHead(200, { 'Content-Type': f[1], 'Cache-Control': 'no-store', Connection: 'close' });
      res.end(body);
    } catch (err) {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(String(err));
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const origin = `http://${host}:${server.address().port}`;
  return {
    origin,
    pageUrl({ sdk = 'frontend', host: nangoHost } = {}) {
      const u = new URL('/', origin);
      u.searchParams.set('sdk', sdk);
      if (nangoHost) u.searchParams.set('host', nangoHost);
      return u.href;
    },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}
