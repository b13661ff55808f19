// The dashboard's little bit of behaviour: copy buttons, revealing secrets, the provider picker's
// filter, password visibility and auto-submitting filters. Every page works without it, except
// revealing and copying secrets. It never writes HTML: only textContent.
'use strict';

document.documentElement.classList.add('js');

const csrf = () => {
  const m = document.querySelector('meta[name="csrf-token"]');
  return m ? m.getAttribute('content') : '';
};

// copyText puts text on the clipboard: the Clipboard API where the page is a secure context
// (https, localhost), else a hidden textarea and execCommand.
async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // fall through
    }
  }
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.className = 'offscreen';
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch { ok = false; }
  ta.remove();
  return ok;
}

function flashButton(btn, text) {
  const old = btn.dataset.label || btn.textContent;
  btn.dataset.label = old;
  btn.textContent = text;
  setTimeout(() => { btn.textContent = old; }, 1500);
}

// Secrets of the connection detail page, fetched once from /connections/secrets.
let secretsPromise = null;
function loadSecrets() {
  const sec = document.getElementById('connection');
  if (!sec) return Promise.reject(new Error('no connection on this page'));
  if (!secretsPromise) {
    const q = new URLSearchParams({ integration: sec.dataset.integration, id: sec.dataset.id });
    secretsPromise = fetch(`/connections/secrets?${q}`, {
      headers: { 'X-CSRF-Token': csrf(), Accept: 'application/json' },
      credentials: 'same-origin',
      cache: 'no-store',
    }).then(async (res) => {
      const body = await res.json().catch(() => null);
      if (!res.ok) throw new Error((body && body.error) || `the server answered ${res.status}`);
      return body;
    });
    secretsPromise.catch(() => { secretsPromise = null; });
  }
  return secretsPromise;
}

function showError(btn, err) {
  btn.textContent = 'Failed';
  btn.title = String(err && err.message ? err.message : err);
}

document.addEventListener('click', async (ev) => {
  const btn = ev.target.closest('button');
  if (!btn) return;

  if (btn.dataset.copy) {
    const el = document.getElementById(btn.dataset.copy);
    if (el) flashButton(btn, (await copyText(el.textContent.trim())) ? 'Copied' : 'Select and copy');
    return;
  }

  if (btn.dataset.togglePassword) {
    const input = document.getElementById(btn.dataset.togglePassword);
    if (!input) return;
    const show = input.type === 'password';
    input.type = show ? 'text' : 'password';
    btn.textContent = show ? 'Hide' : 'Show';
    return;
  }

  if (btn.dataset.reveal) {
    const name = btn.dataset.reveal;
    const el = name === 'raw' ? document.getElementById('raw-json') : document.querySelector(`[data-secret="${CSS.escape(name)}"]`);
    if (!el) return;
    if (btn.dataset.shown === 'yes') {
      el.textContent = el.dataset.masked;
      btn.dataset.shown = '';
      btn.textContent = 'Reveal';
      return;
    }
    try {
      const s = await loadSecrets();
      el.textContent = name === 'raw' ? JSON.stringify(s.raw, null, 2) : (s.fields[name] || '');
      btn.dataset.shown = 'yes';
      btn.textContent = 'Hide';
    } catch (err) {
      showError(btn, err);
    }
    return;
  }

  if (btn.dataset.copySecret) {
    try {
      const s = await loadSecrets();
      flashButton(btn, (await copyText(s.fields[btn.dataset.copySecret] || '')) ? 'Copied' : 'Copy failed');
    } catch (err) {
      showError(btn, err);
    }
  }
});

// Filters submit as soon as a select changes.
document.addEventListener('change', (ev) => {
  const el = ev.target;
  if (el.matches && el.matches('select[data-autosubmit]') && el.form) el.form.submit();
});

// The provider picker filters its list as one types.
const filter = document.querySelector('input[data-filter]');
if (filter) {
  const list = document.getElementById(filter.dataset.filter);
  const count = document.getElementById('picker-count');
  const empty = document.getElementById('picker-empty');
  const items = list ? Array.from(list.children) : [];
  const apply = () => {
    const q = filter.value.trim().toLowerCase();
    let shown = 0;
    for (const li of items) {
      const hit = !q || li.dataset.search.includes(q);
      li.hidden = !hit;
      if (hit) shown++;
    }
    if (count) count.textContent = String(shown);
    if (empty) empty.hidden = shown > 0;
  };
  filter.addEventListener('input', apply);
  // Enter opens the only match.
  filter.form.addEventListener('submit', (ev) => {
    const visible = items.filter((li) => !li.hidden);
    ev.preventDefault();
    if (visible.length === 1) visible[0].querySelector('a').click();
  });
  apply();
}
