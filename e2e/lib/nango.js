// Builds the nango binary once per run and starts/stops instances of it for the e2e tests.
//
//   const bin = await ensureBinary();            // {binary} or {missing: reason}; throws on a build error
//   const n = await startNango({ binary: bin.binary, env: {...} });
//   n.url, n.port, n.env, n.logs(), await n.stop()
//
// The binary is built with `go build -o e2e/artifacts/nango ./cmd/nango` from the repository root,
// unless NANGO_E2E_BINARY names one already built (run.sh builds once and sets it).

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './http.js';

export const E2E_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = path.resolve(E2E_DIR, '..');
export const ARTIFACTS = path.join(E2E_DIR, 'artifacts');
export const LOG_DIR = path.join(ARTIFACTS, 'logs');

let buildOnce;

/**
 * ensureBinary returns {binary} for a usable nango binary, or {missing: reason} when the server's main
 * package does not exist yet (so the suite can skip server tests instead of failing). A compile error
 * in an existing cmd/nango is thrown: that is a failure, not a missing feature.
 */
export function ensureBinary() {
  buildOnce ||= (async () => {
    const pre = process.env.NANGO_E2E_BINARY;
    if (pre) {
      if (!fs.existsSync(pre)) throw new Error(`NANGO_E2E_BINARY=${pre} does not exist`);
      return { binary: path.resolve(pre) };
    }
    const mainDir = path.join(REPO_ROOT, 'cmd', 'nango');
    const goFiles = fs.existsSync(mainDir) ? fs.readdirSync(mainDir).filter((f) => f.endsWith('.go')) : [];
    if (goFiles.length === 0) return { missing: 'cmd/nango has no Go files yet (server binary not buildable)' };
    await fsp.mkdir(ARTIFACTS, { recursive: true });
    const out = path.join(ARTIFACTS, 'nango');
    const child = spawn('go', ['build', '-o', out, './cmd/nango'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const [code] = await once(child, 'exit');
    if (code !== 0) throw new Error(`go build ./cmd/nango failed (exit ${code}):\n${output}`);
    return { binary: out };
  })();
  return buildOnce;
}

/** databaseEnv returns the database variables for the run: PostgreSQL when NANGO_E2E_DATABASE_URL is set. */
export function databaseEnv() {
  const url = process.env.NANGO_E2E_DATABASE_URL;
  return url ? { NANGO_DATABASE_URL: url } : {};
}

/** usingPostgres tells whether this run targets PostgreSQL. */
export function usingPostgres() {
  return Boolean(process.env.NANGO_E2E_DATABASE_URL);
}

/**
 * startNango starts `<binary> serve` on a free loopback port (or `port`) and waits for GET /health.
 *
 * The child's environment is built from scratch (PATH, HOME, TMPDIR, LANG) so a developer's or CI's
 * NANGO_* variables never leak in, then: SERVER_PORT, NANGO_SERVER_URL=http://127.0.0.1:<port>,
 * NANGO_DATA_DIR (a new temp dir unless given), TELEMETRY=false, LOG_LEVEL=debug, the database
 * variables of databaseEnv(), and finally `env` (a value of undefined removes a variable).
 *
 * stdout and stderr are kept in memory (logs()) and written to e2e/artifacts/logs/<name>-<port>.log.
 */
export async function startNango({ binary, env = {}, port, name = 'nango', healthTimeoutMs = 20000 } = {}) {
  if (!binary) throw new Error('startNango: binary required');
  port ||= await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = env.NANGO_DATA_DIR || (await fsp.mkdtemp(path.join(os.tmpdir(), 'nango-e2e-data-')));
  await fsp.mkdir(dataDir, { recursive: true });
  const full = {
    PATH: process.env.PATH,
    HOME: process.env.HOME || os.tmpdir(),
    TMPDIR: process.env.TMPDIR || os.tmpdir(),
    LANG: 'C.UTF-8',
    SERVER_PORT: String(port),
    NANGO_SERVER_URL: url,
    NANGO_DATA_DIR: dataDir,
    TELEMETRY: 'false',
    LOG_LEVEL: 'debug',
    ...databaseEnv(),
    ...env,
  };
  for (const k of Object.keys(full)) if (full[k] === undefined) delete full[k];

  await fsp.mkdir(LOG_DIR, { recursive: true });
  const logFile = path.join(LOG_DIR, `${name}-${port}.log`);
  const logStream = fs.createWriteStream(logFile, { flags: 'a' });
  let logs = '';
  const child = spawn(binary, ['serve'], { env: full, cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'] });
  const onData = (d) => { logs += d; logStream.write(d); };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let exited = null;
  const exitP = new Promise((resolve) => {
    child.once('exit', (code, signal) => { exited ||= { code, signal }; resolve(exited); });
    child.once('error', (err) => { exited ||= { error: err.message }; resolve(exited); });
  });

  const inst = {
    url,
    port,
    env: full,
    dataDir,
    logFile,
    process: child,
    logs: () => logs,
    exited: () => exited,
    /** stop sends SIGTERM, waits up to 10 s, then SIGKILL; returns {code, signal}. */
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const t = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 10000);
        await exitP;
        clearTimeout(t);
      }
      await new Promise((r) => logStream.end(r));
      return exited;
    },
  };

  const deadline = Date.now() + healthTimeoutMs;
  let lastErr = '';
  while (Date.now() < deadline) {
    if (exited) {
      await inst.stop();
      throw new Error(`nango exited during start-up (${JSON.stringify(exited)}); log tail:\n${logs.slice(-3000)}`);
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      const body = await res.text();
      if (res.status === 200) {
        let ok = false;
        try { ok = JSON.parse(body).result === 'ok'; } catch { ok = false; }
        if (!ok) {
          await inst.stop();
          throw new Error(`GET /health answered 200 with ${body.slice(0, 200)}, want {"result":"ok"}`);
        }
        return inst;
      }
      lastErr = `status ${res.status}`;
    } catch (err) {
      if (String(err.message).startsWith('GET /health')) throw err;
      lastErr = err.message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await inst.stop();
  throw new Error(`nango did not become healthy within ${healthTimeoutMs} ms (${lastErr}); log tail:\n${logs.slice(-3000)}`);
}

/** Error types the server's catch-all answers with when no route matches. */
export const NO_ROUTE_TYPES = new Set(['not_found', 'method_not_allowed']);

/**
 * routeMissing tells whether a response means "the server has no such route yet": a 404 or 405 that
 * is either not our JSON error envelope or is the catch-all's `not_found`/`method_not_allowed`.
 * An envelope with any other `type` is a real answer of a real route.
 */
export async function routeMissing(res) {
  if (res.status !== 404 && res.status !== 405) return false;
  const text = await res.clone().text();
  try {
    const j = JSON.parse(text);
    if (j && typeof j.type === 'string') return NO_ROUTE_TYPES.has(j.type);
  } catch { /* not JSON */ }
  return true;
}
