// nango.js: the browser SDK of nango-go, a plain ES module with no dependencies.
//
// Served by the server at /sdk/nango.js; it also works as a file copied into an app.
//
//   import Nango from 'https://nango.example.com/sdk/nango.js';
//   const nango = new Nango({ host: 'https://nango.example.com' });
//   button.onclick = () => nango.auth('github', 'user-42')            // call it inside the click
//     .then(({ providerConfigKey, connectionId }) => { ... })
//     .catch(({ type, message }) => { ... });
//
// Wire behaviour is that of @nangohq/frontend 0.16 (see docs/dashboard.md, "The browser SDK"): the
// popup URL <host>/oauth/connect/<key>?connection_id=<id>[&public_key=..][&params[k]=v]..[&hmac=..]
// built without URL-encoding, a blank popup opened synchronously (inside the user's click), a
// WebSocket to the host itself, the popup sent to <url>&ws_client_id=<id> on connection_ack, and the
// promise settled by the server's success or error message: it resolves {providerConfigKey,
// connectionId} and rejects {message, type} with the server's error_desc and error_type.
//
// Additions over that SDK (it never settles in these cases):
//   - the user closes the popup before the flow ends: rejects {type: 'window_closed'};
//   - the flow takes longer than the `timeout` option (milliseconds, on the constructor or per
//     auth() call): rejects {type: 'timeout'} and closes the popup;
//   - the browser blocks the popup: rejects {type: 'window_blocked'};
//   - the WebSocket cannot be opened or drops before the result: rejects {type: 'connection_error'};
//   - API_KEY and BASIC integrations: auth(key, id, {credentials: {apiKey}}) or
//     {credentials: {username, password}} posts the credentials (no popup) to
//     <host>/api-auth/api-key/<key> or <host>/api-auth/basic/<key> with the same query string.

const prodHost = 'https://api.nango.dev';
const stagingHost = 'https://staging.nango.dev';
const debugLogPrefix = 'NANGO DEBUG LOG: ';

// How long a closed popup may wait for the server's result before the promise rejects with
// window_closed: the server sends the result before the popup's last page, which closes itself
// 300 ms later, so the result normally arrives first.
const closedGrace = 1500;
// How often the popup is checked for having been closed.
const closedPoll = 250;

const popupWidth = 500;
const popupHeight = 600;

/** Nango runs the authorization flows of one Nango server. */
export class Nango {
  /**
   * @param {{host?: string, publicKey?: string, debug?: boolean, timeout?: number}} [config]
   *   host: the server's base URL (default https://api.nango.dev); publicKey: sent as public_key
   *   (nango-go ignores it); debug: log the flow's steps to the console; timeout: default timeout
   *   of auth() in milliseconds (none by default).
   */
  constructor(config = {}) {
    const host = config.host || prodHost;
    this.debug = Boolean(config.debug);
    if (this.debug) {
      console.log(debugLogPrefix, 'Debug mode is enabled.');
      console.log(debugLogPrefix, `Using host: ${host}.`);
    }
    this.hostBaseUrl = host.slice(-1) === '/' ? host.slice(0, -1) : host;
    this.publicKey = config.publicKey;
    this.timeout = validTimeout(config.timeout);
    if (this.isCloud() && !config.publicKey) {
      throw new Error('You should specify a Public Key when using Nango Cloud (cf. documentation).');
    }
    try {
      new URL(this.hostBaseUrl);
    } catch {
      throw new Error(`Invalid URL provided for the Nango host: ${this.hostBaseUrl}`);
    }
  }

  /**
   * auth connects connectionId to the integration providerConfigKey. Call it inside a user
   * gesture (a click handler): it opens the popup synchronously.
   *
   * @param {string} providerConfigKey
   * @param {string} connectionId
   * @param {{params?: Record<string,string>, hmac?: string,
   *   credentials?: {apiKey: string} | {username: string, password: string},
   *   timeout?: number}} [connectionConfig]
   * @returns {Promise<{providerConfigKey: string, connectionId: string}>} rejects with
   *   {message, type}
   */
  auth(providerConfigKey, connectionId, connectionConfig) {
    const timeout = connectionConfig && connectionConfig.timeout !== undefined
      ? validTimeout(connectionConfig.timeout)
      : this.timeout;
    if (connectionConfig && connectionConfig.credentials) {
      return this.credentialsAuth(providerConfigKey, connectionId, connectionConfig, timeout);
    }
    const url = this.hostBaseUrl + `/oauth/connect/${providerConfigKey}${this.toQueryString(connectionId, connectionConfig)}`;
    checkURL(url);
    return new Promise((resolve, reject) => {
      new PopupFlow({ host: this.hostBaseUrl, url, timeout, debug: this.debug, resolve, reject });
    });
  }

  /** credentialsAuth posts API-key or Basic credentials (no popup). */
  credentialsAuth(providerConfigKey, connectionId, connectionConfig, timeout) {
    const c = connectionConfig.credentials;
    let kind;
    let body;
    if (typeof c === 'object' && 'apiKey' in c) {
      kind = 'api-key';
      body = { apiKey: c.apiKey };
    } else if (typeof c === 'object' && ('username' in c || 'password' in c)) {
      kind = 'basic';
      body = { username: c.username, password: c.password };
    } else {
      throw new Error('credentials must be {apiKey} or {username, password}.');
    }
    const url = this.hostBaseUrl + `/api-auth/${kind}/${providerConfigKey}${this.toQueryString(connectionId, connectionConfig)}`;
    checkURL(url);
    const ctrl = typeof AbortController === 'function' ? new AbortController() : null;
    let timedOut = false;
    const timer = timeout ? setTimeout(() => { timedOut = true; if (ctrl) ctrl.abort(); }, timeout) : null;
    if (this.debug) console.log(debugLogPrefix, `Posting ${kind} credentials...`);
    return fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
      signal: ctrl ? ctrl.signal : undefined,
    }).then(async (res) => {
      let data = null;
      try { data = await res.json(); } catch { data = null; }
      if (!res.ok) {
        throw serverError(data, res.status);
      }
      return {
        providerConfigKey: (data && data.providerConfigKey) || providerConfigKey,
        connectionId: (data && data.connectionId) || connectionId,
      };
    }, () => {
      if (timedOut) throw flowError('timeout', `The authorization did not finish within ${timeout} ms.`);
      throw flowError('connection_error', `Could not reach the Nango server at ${this.hostBaseUrl}.`);
    }).finally(() => {
      if (timer) clearTimeout(timer);
    });
  }

  /** toQueryString builds the query exactly as @nangohq/frontend 0.16 does: no URL-encoding. */
  toQueryString(connectionId, connectionConfig) {
    const query = [];
    if (connectionId) {
      query.push(`connection_id=${connectionId}`);
    }
    if (this.publicKey) {
      query.push(`public_key=${this.publicKey}`);
    }
    if (connectionConfig != null) {
      for (const param in connectionConfig.params) {
        const val = connectionConfig.params[param];
        if (typeof val === 'string') {
          query.push(`params[${param}]=${val}`);
        }
      }
      if (connectionConfig.hmac) {
        query.push(`hmac=${connectionConfig.hmac}`);
      }
    }
    return query.length === 0 ? '' : '?' + query.join('&');
  }

  /** isCloud reports whether the host is Nango's hosted service. */
  isCloud() {
    return this.hostBaseUrl === prodHost || this.hostBaseUrl === stagingHost;
  }
}

export default Nango;

function checkURL(url) {
  try {
    new URL(url);
  } catch {
    throw new Error(`Could not construct valid Nango URL based on provided parameters: ${url}`);
  }
}

function validTimeout(t) {
  if (t === undefined || t === null || t === 0) return 0;
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) {
    throw new Error(`timeout must be a positive number of milliseconds, not ${String(t)}.`);
  }
  return t;
}

/** flowError is the rejection value: the shape @nangohq/frontend rejects with. */
function flowError(type, message) {
  return { message, type };
}

/** serverError turns an error answer of the server into a rejection. */
function serverError(data, status) {
  if (data && typeof data === 'object') {
    if (typeof data.error === 'string') return flowError(data.type || 'unknown_err', data.error);
    if (data.error && typeof data.error === 'object') {
      return flowError(data.error.code || data.error.type || 'unknown_err', data.error.message || `The server answered ${status}.`);
    }
  }
  return flowError('unknown_err', `The server answered ${status}.`);
}

/** layout centres the popup on the screen, as @nangohq/frontend does. */
function layout(width, height) {
  const screenWidth = window.screen.width;
  const screenHeight = window.screen.height;
  const left = screenWidth / 2 - width / 2;
  const top = screenHeight / 2 - height / 2;
  return {
    left: Math.max(left, 0),
    top: Math.max(top, 0),
    width: Math.min(width, screenWidth),
    height: Math.min(height, screenHeight),
  };
}

/** PopupFlow is one OAuth flow: the popup, the WebSocket and the promise's settlement. */
class PopupFlow {
  constructor({ host, url, timeout, debug, resolve, reject }) {
    this.url = url;
    this.debug = debug;
    this.resolve = resolve;
    this.reject = reject;
    this.done = false;
    this.acked = false;
    this.timers = [];

    const l = layout(popupWidth, popupHeight);
    const features = {
      width: l.width,
      height: l.height,
      top: l.top,
      left: l.left,
      scrollbars: 'yes',
      resizable: 'yes',
      status: 'no',
      toolbar: 'no',
      location: 'no',
      copyhistory: 'no',
      menubar: 'no',
      directories: 'no',
    };
    this.popup = window.open('', '_blank', Object.entries(features).map(([k, v]) => `${k}=${v}`).join(','));
    if (!this.popup) {
      this.fail('window_blocked', 'The browser blocked the authorization popup: call auth() inside a click handler.');
      return;
    }
    try {
      this.ws = new WebSocket(host.replace('https://', 'wss://').replace('http://', 'ws://'));
    } catch {
      this.fail('connection_error', `Could not open a WebSocket to the Nango server at ${host}.`, true);
      return;
    }
    this.ws.onmessage = (message) => this.handleMessage(message);
    this.ws.onerror = () => {
      if (!this.acked) this.fail('connection_error', `Could not open a WebSocket to the Nango server at ${host}.`, true);
    };
    this.ws.onclose = () => {
      if (!this.done) this.fail('connection_error', 'The connection to the Nango server closed before the authorization finished.', false);
    };
    this.every(closedPoll, () => {
      if (this.popup.closed && !this.closedAt) {
        this.closedAt = Date.now();
        if (this.debug) console.log(debugLogPrefix, 'Popup closed. Waiting briefly for the result...');
        this.after(closedGrace, () => this.fail('window_closed', 'The authorization window was closed before the authorization finished.'));
      }
    });
    if (timeout) {
      this.after(timeout, () => this.fail('timeout', `The authorization did not finish within ${timeout} ms.`, true));
    }
  }

  /** handleMessage handles the messages the server sends on the WebSocket. */
  handleMessage(message) {
    let data;
    try {
      data = JSON.parse(message.data);
    } catch {
      return;
    }
    switch (data && data.message_type) {
      case 'connection_ack':
        if (this.debug) console.log(debugLogPrefix, 'Connection ack received. Opening modal...');
        this.acked = true;
        if (this.done) return;
        if (this.popup.closed) {
          this.fail('window_closed', 'The authorization window was closed before the authorization finished.');
          return;
        }
        this.popup.location = this.url + '&ws_client_id=' + data.ws_client_id;
        break;
      case 'error':
        if (this.debug) console.log(debugLogPrefix, 'Error received. Rejecting authorization...');
        this.fail(data.error_type, data.error_desc);
        break;
      case 'success':
        if (this.debug) console.log(debugLogPrefix, 'Success received. Resolving authorization...');
        if (this.done) return;
        this.finish();
        this.resolve({ providerConfigKey: data.provider_config_key, connectionId: data.connection_id });
        break;
      default:
        if (this.debug) console.log(debugLogPrefix, 'Unkown message type received from Nango server. Ignoring...');
    }
  }

  /** fail rejects the promise once; closePopup also closes the popup (the server's pages close it otherwise). */
  fail(type, message, closePopup = false) {
    if (this.done) return;
    this.finish();
    if (closePopup && this.popup && !this.popup.closed) this.popup.close();
    this.reject(flowError(type, message));
  }

  finish() {
    this.done = true;
    for (const [kind, id] of this.timers) (kind === 'interval' ? clearInterval : clearTimeout)(id);
    this.timers = [];
    if (this.ws && this.ws.readyState <= 1) {
      this.ws.onclose = null;
      this.ws.close();
    }
  }

  after(ms, fn) { this.timers.push(['timeout', setTimeout(fn, ms)]); }

  every(ms, fn) { this.timers.push(['interval', setInterval(fn, ms)]); }
}
