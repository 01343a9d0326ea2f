// Debian's daemons for the end-to-end tests: a redis-server and an HAProxy
// in front of several server instances, each started on free 127.0.0.1
// ports with a temporary directory and a generated configuration, and
// stopped by PID (SIGTERM, then SIGKILL) when the test ends or, failing
// that, when this process exits.
//
// A missing binary fails the test with the Debian package to install,
// unless AUTHGQL_SKIP_DAEMONS=1, which skips it instead (the Go tests
// follow the same rule).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { killOnExit, sleep } from './server.mjs';

// findDaemon returns the path of a Debian package's program, or null
// after calling t.skip() when AUTHGQL_SKIP_DAEMONS=1; otherwise it throws,
// naming the package.
export function findDaemon(t, name, pkg) {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin', '/sbin'];
  for (const dir of dirs) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  if (process.env.AUTHGQL_SKIP_DAEMONS === '1') {
    t.skip(`${name} not installed and AUTHGQL_SKIP_DAEMONS=1`);
    return null;
  }
  throw new Error(`${name} not found: install Debian's ${pkg} package (apt-get install ${pkg}), or set AUTHGQL_SKIP_DAEMONS=1 to skip`);
}

// freePort asks the OS for a free 127.0.0.1 port. Another process may take
// it before the daemon binds it; the daemons' start then fails and is
// retried on another port.
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// run starts a daemon in the foreground and returns { pid, exited, stop(),
// output() }. stop() sends SIGTERM, then SIGKILL after 5 s.
function run(bin, args, cwd) {
  const child = spawn(bin, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child);
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (output += d));
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  child.unref();
  child.stdout.unref();
  child.stderr.unref();
  return {
    pid: child.pid,
    exited,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// waitFor polls check() until it resolves true, or throws naming what after ms.
async function waitFor(check, ms, what, proc) {
  const deadline = Date.now() + ms;
  let last = '';
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err.message;
    }
    if (proc && (await Promise.race([proc.exited.then(() => true), sleep(0).then(() => false)]))) {
      throw new Error(`${what}: the process exited\n${proc.output()}`);
    }
    if (Date.now() > deadline) throw new Error(`${what} not within ${ms} ms (${last})\n${proc?.output() ?? ''}`);
    await sleep(50);
  }
}

// ping sends a Redis PING and resolves true on +PONG.
function ping(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    sock.setTimeout(1_000, () => sock.destroy());
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      got += d;
      if (got.includes('\r\n')) {
        sock.destroy();
        resolve(got.startsWith('+PONG'));
      }
    });
    sock.on('error', () => resolve(false));
    sock.on('close', () => resolve(false));
  });
}

// startDaemon runs bin with args(port, dir) on a free port, in a fresh
// temporary directory, until ready(port, proc) resolves; another port is
// tried when that fails (the port taken meanwhile). The daemon is stopped
// and its directory removed by a cleanup registered with defer.
async function startDaemon(bin, what, args, ready, defer) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `authgql-${path.basename(bin)}-`));
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const proc = run(bin, args(port, dir), dir);
    try {
      await waitFor(() => ready(port), 20_000, what, proc);
    } catch (err) {
      lastErr = err;
      await proc.stop();
      continue;
    }
    defer(async () => {
      await proc.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    return { port, proc };
  }
  throw lastErr;
}

// startRedis runs redis-server on a free port, without persistence, and
// resolves once it answers PING: { url, port, stop() }. It is stopped by
// a cleanup registered with defer (by default t.after).
export async function startRedis(t, defer = (fn) => t.after(fn)) {
  const bin = findDaemon(t, 'redis-server', 'redis-server');
  if (!bin) return null;
  const args = (port, dir) => ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
  const { port, proc } = await startDaemon(bin, 'redis-server answering PING', args, ping, defer);
  return { url: `redis://127.0.0.1:${port}`, port, stop: proc.stop };
}

// haproxyConfig is an HAProxy configuration balancing HTTP and WebSocket
// connections over backends ({ name, port }), round robin, with a health
// check on /readyz every 300 ms (two failures take a server out, one
// success brings it back), WebSocket tunnels kept for an hour, failed
// connections retried on another server, and the name of the server that
// answered in the X-Served-By response header (101 included).
export function haproxyConfig(port, backends) {
  return `global
  maxconn 4096

defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  timeout tunnel 1h
  timeout http-keep-alive 2s
  retries 2
  option redispatch 1

frontend api
  bind 127.0.0.1:${port}
  default_backend instances

backend instances
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  timeout check 2s
  default-server inter 300ms fall 2 rise 1
  http-response set-header X-Served-By %[srv_name]
${backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port} check`).join('\n')}
`;
}

// startHAProxy runs haproxy in the foreground (-db) in front of backends
// ({ name, port }) and resolves once its frontend answers /readyz with 200:
// { url, wsUrl, origin, port, stop(), output() }. It is stopped by a
// cleanup registered with defer (by default t.after).
export async function startHAProxy(t, backends, defer = (fn) => t.after(fn)) {
  const bin = findDaemon(t, 'haproxy', 'haproxy');
  if (!bin) return null;
  const args = (port, dir) => {
    const cfg = path.join(dir, 'haproxy.cfg');
    fs.writeFileSync(cfg, haproxyConfig(port, backends));
    return ['-db', '-f', cfg];
  };
  const ready = async (port) => (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) })).status === 200;
  const { port, proc } = await startDaemon(bin, 'HAProxy answering /readyz', args, ready, defer);
  return {
    url: `http://127.0.0.1:${port}/`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    origin: `http://127.0.0.1:${port}`,
    port,
    stop: proc.stop,
    output: proc.output,
  };
}
