// Browser side of the e2e harness. Loads a frontend SDK as an ES module and exposes:
//   window.harnessReady                 -> Promise<{sdk, url}> once the SDK is imported
//   window.runAuth(host, key, connectionId, params, hmac)
//                                       -> Promise<{result}|{error:{type, message}}>
//   window.runRawFlow(host, pathAndQuery, timeoutMs)
//                                       -> Promise<{message}|{timeout}|{wsError}> (our own WebSocket + popup,
//                                          for flow errors the SDK cannot reach, e.g. no connection_id)
//   window.probeWebSocket(host, timeoutMs) -> Promise<'ack'|'no-ack'|'error'>
// Query parameters: ?sdk=frontend (default: @nangohq/frontend@0.16.1 served by the test runner)
//                   ?sdk=ours&host=<nango url> (the server's /sdk/nango.js, same API)

const qs = new URLSearchParams(location.search);
const sdk = qs.get('sdk') || 'frontend';
const sdkUrl = sdk === 'ours' ? `${qs.get('host')}/sdk/nango.js` : '/sdk/frontend.js';

window.harnessReady = import(sdkUrl).then((mod) => {
  const Nango = mod.default || mod.Nango;
  if (typeof Nango !== 'function') throw new Error(`${sdkUrl} exports no Nango class (default or named)`);
  window.NangoSDK = Nango;
  document.getElementById('sdk').textContent = `${sdk} (${sdkUrl})`;
  return { sdk, url: sdkUrl };
});

// auth() is called synchronously when the SDK is loaded, so the popup opens inside the caller's
// user activation (a click), as in an app.
window.runAuth = (host, key, connectionId, params, hmac) => {
  const out = document.getElementById('out');
  const settle = (p) => p.then(
    (result) => { out.textContent = JSON.stringify({ result }); return { result }; },
    (e) => {
      const error = { type: e && e.type !== undefined ? e.type : null, message: e && e.message !== undefined ? e.message : String(e) };
      out.textContent = JSON.stringify({ error });
      return { error };
    },
  );
  const run = () => {
    const nango = new window.NangoSDK({ host });
    const cfg = {};
    if (params) cfg.params = params;
    if (hmac) cfg.hmac = hmac;
    return nango.auth(key, connectionId, cfg);
  };
  if (!window.NangoSDK) return settle(window.harnessReady.then(run));
  try {
    return settle(run());
  } catch (e) {
    return settle(Promise.reject(e));
  }
};

// The Connect button runs the auth() prepared by prepareAuth(...args); its result is window.lastAuth.
let prepared = null;
window.prepareAuth = (...args) => { prepared = args; window.lastAuth = undefined; };
document.getElementById('connect').addEventListener('click', () => {
  if (prepared) window.lastAuth = window.runAuth(...prepared);
});

window.runRawFlow = (host, pathAndQuery, timeoutMs = 15000) => new Promise((resolve) => {
  const popup = window.open('', '_blank', 'width=500,height=600');
  const ws = new WebSocket(host.replace(/^http/, 'ws'));
  const messages = [];
  const timer = setTimeout(() => { ws.close(); resolve({ timeout: true, messages }); }, timeoutMs);
  ws.onmessage = (ev) => {
    let d;
    try { d = JSON.parse(ev.data); } catch { d = { unparsable: String(ev.data) }; }
    messages.push(d);
    if (d.message_type === 'connection_ack') {
      const sep = pathAndQuery.includes('?') ? '&' : '?';
      popup.location = `${host}${pathAndQuery}${sep}ws_client_id=${d.ws_client_id}`;
    } else if (d.message_type === 'success' || d.message_type === 'error') {
      clearTimeout(timer);
      ws.close();
      resolve({ message: d, messages });
    }
  };
  ws.onerror = () => { clearTimeout(timer); resolve({ wsError: true, messages }); };
});

window.probeWebSocket = (host, timeoutMs = 3000) => new Promise((resolve) => {
  let ws;
  try { ws = new WebSocket(host.replace(/^http/, 'ws')); } catch { resolve('error'); return; }
  const timer = setTimeout(() => { ws.close(); resolve('no-ack'); }, timeoutMs);
  ws.onmessage = (ev) => {
    try {
      if (JSON.parse(ev.data).message_type === 'connection_ack') { clearTimeout(timer); ws.close(); resolve('ack'); }
    } catch { /* keep waiting */ }
  };
  ws.onerror = () => { clearTimeout(timer); resolve('error'); };
});
