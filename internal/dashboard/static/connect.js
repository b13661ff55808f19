// The create-a-connection page: runs the real browser flow with this server's SDK
// (/sdk/nango.js) and keeps a copy-paste snippet of the same call up to date.
import Nango from '/sdk/nango.js';

const form = document.getElementById('connect-form');
const result = document.getElementById('connect-result');
const snippet = document.getElementById('snippet');

const csrf = () => {
  const m = document.querySelector('meta[name="csrf-token"]');
  return m ? m.getAttribute('content') : '';
};

// read collects the form: connection id, connection-config params, credentials.
function read() {
  const id = form.querySelector('#connection-id').value.trim();
  const params = {};
  for (const el of form.querySelectorAll('[data-param]')) {
    const v = el.value.trim();
    if (v !== '') params[el.dataset.param] = v;
  }
  let credentials = null;
  const creds = form.querySelectorAll('[data-credential]');
  if (creds.length > 0) {
    credentials = {};
    for (const el of creds) credentials[el.dataset.credential] = el.value;
  }
  return { id, params, credentials };
}

const lit = (s) => JSON.stringify(s);

// writeSnippet shows the call an app makes: the same as the page's, with placeholders for
// secrets (the credentials typed here never go into the snippet).
function writeSnippet() {
  const { id, params, credentials } = read();
  const host = form.dataset.serverUrl;
  const opts = [];
  if (Object.keys(params).length > 0) {
    opts.push(`  params: { ${Object.entries(params).map(([k, v]) => `${lit(k)}: ${lit(v)}`).join(', ')} },`);
  }
  if (form.dataset.hmac === 'on') opts.push("  hmac: '<HMAC digest computed by your backend>',");
  if (credentials && 'apiKey' in credentials) opts.push("  credentials: { apiKey: '<the user\\'s API key>' },");
  if (credentials && 'username' in credentials) opts.push("  credentials: { username: '<username>', password: '<password>' },");
  const third = opts.length > 0 ? `, {\n${opts.join('\n')}\n}` : '';
  snippet.textContent =
`import Nango from '${host}/sdk/nango.js';

const nango = new Nango({ host: ${lit(host)} });

// Call auth() inside a click handler: it opens the popup.
nango.auth(${lit(form.dataset.key)}, ${lit(id || '<connection id>')}${third})
  .then(({ providerConfigKey, connectionId }) => console.log('connected', providerConfigKey, connectionId))
  .catch((err) => console.error(err.type, err.message));`;
}

function show(kind, parts) {
  result.hidden = false;
  result.className = `result ${kind}`;
  result.replaceChildren(...parts.map((p) => {
    if (typeof p === 'string') return document.createTextNode(p);
    const el = document.createElement(p.tag);
    el.textContent = p.text;
    if (p.href) el.href = p.href;
    if (p.id) el.id = p.id;
    return el;
  }));
}

async function hmacFor(key, id) {
  const res = await fetch('/connections/hmac', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf(), Accept: 'application/json' },
    credentials: 'same-origin',
    body: JSON.stringify({ provider_config_key: key, connection_id: id }),
  });
  const body = await res.json().catch(() => null);
  if (!res.ok || !body || !body.hmac) {
    throw { type: (body && body.type) || 'hmac_error', message: (body && body.error) || `the server answered ${res.status}` };
  }
  return body.hmac;
}

if (form) {
  form.addEventListener('input', writeSnippet);
  writeSnippet();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const key = form.dataset.key;
    const { id, params, credentials } = read();
    if (!id) return;
    const button = form.querySelector('#connect-button');
    button.disabled = true;
    show('pending', ['Waiting for the authorization to finish…']);
    // The SDK sends values without URL-encoding them (as @nangohq/frontend does); encode them
    // here so that any connection id or parameter survives the query string.
    const enc = encodeURIComponent;
    const cfg = {};
    if (Object.keys(params).length > 0) {
      cfg.params = Object.fromEntries(Object.entries(params).map(([k, v]) => [enc(k), enc(v)]));
    }
    if (credentials) cfg.credentials = credentials;
    try {
      if (form.dataset.hmac === 'on') cfg.hmac = await hmacFor(key, id);
      const nango = new Nango({ host: window.location.origin });
      const r = await nango.auth(enc(key), enc(id), cfg);
      const detail = `/connections/detail?${new URLSearchParams({ integration: r.providerConfigKey, id: r.connectionId })}`;
      show('ok', ['Connected ', { tag: 'code', text: r.connectionId }, ' to ', { tag: 'code', text: r.providerConfigKey }, '. ',
        { tag: 'a', text: 'View the connection', href: detail, id: 'connection-link' }]);
    } catch (e) {
      const type = e && e.type ? e.type : 'sdk';
      const message = e && e.message ? e.message : String(e);
      show('error', [{ tag: 'strong', text: `${type} error: ` }, message]);
    } finally {
      button.disabled = false;
    }
  });
}
