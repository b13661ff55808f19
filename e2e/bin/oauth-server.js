#!/usr/bin/env node
// CLI wrapper around lib/oauth-server.js, for running the test authorization server by hand or from
// another test harness.
//
//   node bin/oauth-server.js --port 9000 --ttl 60 \
//     --client 'my-client:my-secret:http://127.0.0.1:3003/oauth/callback' \
//     --client 'deny-client:s:http://127.0.0.1:3003/oauth/callback:deny'
//
// --client is id:secret:redirect_uri[:flags] where flags is a comma list of deny, basic (client_secret_basic)
// and ttl=<seconds>. The redirect URI may contain ':' (the last field is only flags when it has no '/').
// Prints one JSON line {issuer, authorizationUrl, tokenUrl, apiBaseUrl, statsUrl} on stdout when ready,
// then serves until SIGINT/SIGTERM.

import { parseArgs } from 'node:util';
import { startOAuthServer } from '../lib/oauth-server.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    ttl: { type: 'string', default: '60' },
    client: { type: 'string', multiple: true, default: [] },
    verbose: { type: 'boolean', default: false },
  },
});

function parseClient(spec) {
  const first = spec.indexOf(':');
  const second = spec.indexOf(':', first + 1);
  if (first < 0 || second < 0) throw new Error(`--client ${spec}: want id:secret:redirect_uri[:flags]`);
  let rest = spec.slice(second + 1);
  let flags = [];
  const last = rest.lastIndexOf(':');
  if (last > 0 && !rest.slice(last + 1).includes('/')) {
    flags = rest.slice(last + 1).split(',').filter(Boolean);
    rest = rest.slice(0, last);
  }
  const c = { clientId: spec.slice(0, first), clientSecret: spec.slice(first + 1, second), redirectUris: [rest] };
  for (const f of flags) {
    if (f === 'deny') c.deny = true;
    else if (f === 'basic') c.tokenEndpointAuthMethod = 'client_secret_basic';
    else if (f.startsWith('ttl=')) c.accessTokenTTL = Number(f.slice(4));
    else throw new Error(`--client ${spec}: unknown flag ${f}`);
  }
  return c;
}

const srv = await startOAuthServer({
  host: values.host,
  port: Number(values.port),
  accessTokenTTL: Number(values.ttl),
  clients: values.client.map(parseClient),
  log: values.verbose ? (m) => process.stderr.write(`${m}\n`) : undefined,
});
process.stdout.write(`${JSON.stringify({
  issuer: srv.issuer,
  authorizationUrl: srv.authorizationUrl,
  tokenUrl: srv.tokenUrl,
  apiBaseUrl: srv.apiBaseUrl,
  statsUrl: `${srv.issuer}/__e2e/stats`,
})}\n`);

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    await srv.close();
    process.exit(0);
  });
}
