// Helpers shared by the end-to-end tests: build and run the real server
// binary, get development tokens from it, and run a tiny fake OAuth issuer
// (RSA key, JWKS over HTTP, RS256 tokens signed here) for production mode.
//
// Everything listens on 127.0.0.1 only, every wait is bounded, and every
// server started here is stopped by its test's cleanup, or, failing that,
// when this process exits.

import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const e2eDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = path.resolve(e2eDir, '..');

// Children still running when this process exits are killed, even when a
// test failed before its cleanup ran (killOnExit adds one).
const children = new Set();
export function killOnExit(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
}
process.on('exit', () => {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => process.exit(130));
}

let binary;

// serverBinary returns the path of the server binary: $E2E_SERVER_BIN when
// run.sh built it already, else a fresh `go build` of the repository into a
// temporary directory (once per process).
export function serverBinary() {
  if (binary) return binary;
  if (process.env.E2E_SERVER_BIN) {
    binary = process.env.E2E_SERVER_BIN;
    if (!fs.existsSync(binary)) throw new Error(`E2E_SERVER_BIN=${binary} does not exist`);
    return binary;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'authgql-e2e-'));
  const out = path.join(dir, 'server');
  const res = spawnSync('go', ['build', '-o', out, '.'], {
    cwd: repoRoot,
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 300_000,
  });
  if (res.status !== 0) {
    throw new Error(`go build failed (status ${res.status}${res.error ? ', ' + res.error.message : ''})`);
  }
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  binary = out;
  return binary;
}

// Settings a developer's shell might carry that would change the server
// under test; the server gets a clean environment instead of ours.
const PASS_THROUGH = ['PATH', 'HOME', 'TMPDIR', 'LANG'];

// startServer runs the server with env added to a clean environment (HOST
// 127.0.0.1, a port the OS picks, short shutdown) and -env-file
// /dev/null (an empty file) so that no .env is read. It resolves once the server printed
// its "listening on" line and /readyz answers 200.
//
// It returns { url, wsUrl, origin, port, stop(), kill(signal), exited,
// output() }: url ends with "/", wsUrl is the GraphQL WebSocket URL,
// exited resolves to { code, signal } once the process has exited, and
// output() is what the server printed so far (stdout and stderr), for
// failure messages.
export async function startServer(env = {}, { readyTimeoutMs = 20_000 } = {}) {
  const bin = serverBinary();
  const childEnv = {};
  for (const k of PASS_THROUGH) if (process.env[k]) childEnv[k] = process.env[k];
  Object.assign(childEnv, {
    HOST: '127.0.0.1',
    // 0 lets the OS pick a free port, without the race of probing for one;
    // the server prints the port it got.
    PORT: '0',
    SHUTDOWN_TIMEOUT: '2s',
    // Nothing balances a lone test server: stop at once on SIGTERM.
    SHUTDOWN_DRAIN_DELAY: '0',
    LOG_LEVEL: 'warn',
    ...env,
  });
  const child = spawn(bin, ['-env-file', '/dev/null'], {
    cwd: os.tmpdir(),
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });

  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('server printed no "listening on" line')), readyTimeoutMs);
    function fail(err) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${err.message}\n--- server output ---\n${output}`));
    }
    const onData = (chunk) => {
      output += chunk;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+\/) \((development|production) mode\)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      output += chunk;
    });
    child.once('error', fail);
    exited.then(({ code, signal }) => fail(new Error(`server exited early (code ${code}, signal ${signal})`)));
  });

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await waitReady(url, readyTimeoutMs);
  } catch (err) {
    await stop();
    throw new Error(`${err.message}\n--- server output ---\n${output}`);
  }
  // A server a failed test never stopped must not keep this process alive:
  // the exit handler above kills it then.
  child.unref();
  child.stdout.unref();
  child.stderr.unref();
  return {
    url,
    wsUrl: url.replace(/^http/, 'ws') + 'graphql',
    origin: url.replace(/\/$/, ''),
    port: Number(new URL(url).port),
    stop,
    kill: (signal) => child.kill(signal),
    exited,
    output: () => output,
  };
}

async function waitReady(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url + 'readyz', { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return;
      last = `HTTP ${res.status} ${await res.text()}`;
    } catch (err) {
      last = err.message;
    }
    await sleep(100);
  }
  throw new Error(`/readyz not 200 within ${timeoutMs} ms (last: ${last})`);
}

// devToken asks a development-mode server for a token. scope is a
// space-separated list ("" for a token without scopes; undefined for all).
export async function devToken(server, { scope, expiresIn } = {}) {
  const q = new URLSearchParams();
  if (scope !== undefined) q.set('scope', scope);
  if (expiresIn !== undefined) q.set('expires_in', String(expiresIn));
  const res = await fetch(`${server.url}dev/token?${q}`, { signal: AbortSignal.timeout(5_000) });
  if (res.status !== 200) throw new Error(`/dev/token: HTTP ${res.status} ${await res.text()}`);
  const body = await res.json();
  return body.access_token;
}

// graphqlPost sends one GraphQL request over plain HTTP (no client library),
// for setting up a test, e.g. sending a message.
export async function graphqlPost(server, query, { token, variables } = {}) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(server.url + 'graphql', {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.json() };
}

// listen starts an HTTP server on 127.0.0.1 and a port the OS picks, and
// resolves to { server, port, origin, close() }.
export function listen(handler) {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      // Like the server processes, a forgotten one must not keep the test
      // process alive.
      server.unref();
      const { port } = server.address();
      resolve({
        server,
        port,
        origin: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections?.();
            server.close(() => done());
          }),
      });
    });
  });
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');

// startIssuer runs a fake OAuth issuer: one RSA key, its JWKS at
// /.well-known/jwks.json, and sign() for RS256 access tokens shaped like
// Auth0's. Point the server at it with issuer.env(audience).
export async function startIssuer({ audience = 'https://api.test' } = {}) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = 'e2e-' + crypto.randomBytes(6).toString('hex');
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  const jwks = JSON.stringify({ keys: [jwk] });
  let jwksHits = 0;
  const http = await listen((req, res) => {
    if (req.method === 'GET' && req.url === '/.well-known/jwks.json') {
      jwksHits++;
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'max-age=300' });
      res.end(jwks);
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end('{"error":"not_found"}');
  });
  const url = `${http.origin}/`;

  // sign returns a JWT. claims override the defaults (iss, aud, sub, iat,
  // exp one hour ahead); expiresIn (seconds, may be negative) sets exp
  // relative to now.
  function sign({ scope = 'read:messages write:messages', expiresIn = 3600, ...claims } = {}) {
    const now = Math.floor(Date.now() / 1000);
    const payload = {
      iss: url,
      aud: audience,
      sub: 'auth0|e2e-user',
      iat: Math.min(now, now + expiresIn - 1),
      exp: now + expiresIn,
      scope,
      ...claims,
    };
    const header = { alg: 'RS256', kid, typ: 'JWT' };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
    const sig = crypto.sign('RSA-SHA256', Buffer.from(input), privateKey);
    return `${input}.${b64url(sig)}`;
  }

  return {
    url,
    audience,
    sign,
    jwksHits: () => jwksHits,
    env: () => ({ AUTH0_ISSUER_URL: url, AUTH0_AUDIENCE: audience }),
    stop: () => http.close(),
  };
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// withTimeout rejects with a message naming what was awaited when promise
// has not settled within ms.
export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
