// A real browser (Debian's Chromium, driven by playwright-core) against the
// real server: the playground works offline under its CSP, runs a query and
// a subscription with its development token, and CORS and the WebSocket
// origin check behave for pages on allowed and other origins.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

import { chromium } from 'playwright-core';
import { WebSocket } from 'ws';

import { devToken, graphqlPost, listen, startServer } from './lib/server.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const LAUNCH_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let browser;

// Should anything the tests opened keep this process alive once they are
// done, exit anyway rather than hang the run (the timer itself does not
// keep the process alive).
after(() => {
  setTimeout(() => process.exit(), 5_000).unref();
});

before(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: apt-get update && apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS, timeout: 30_000 });
});
after(async () => {
  await browser?.close();
});

// record collects what a page does that a test may want to refuse: every
// request and WebSocket URL, console errors, uncaught exceptions and CSP
// violations (reported by the page itself through an init script, which
// runs before any of the page's scripts and is not subject to its CSP).
async function newRecordedPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const rec = { requests: [], websockets: [], consoleErrors: [], pageErrors: [], failed: [] };
  page.on('request', (r) => rec.requests.push(`${r.method()} ${r.url()}`));
  rec.frames = [];
  page.on('websocket', (ws) => {
    rec.websockets.push(ws.url());
    const t0 = Date.now();
    ws.on('framesent', (f) => rec.frames.push(`${Date.now() - t0}ms > ${String(f.payload).slice(0, 300)}`));
    ws.on('framereceived', (f) => rec.frames.push(`${Date.now() - t0}ms < ${String(f.payload).slice(0, 300)}`));
    ws.on('close', () => rec.frames.push(`${Date.now() - t0}ms closed`));
    ws.on('socketerror', (e) => rec.frames.push(`${Date.now() - t0}ms socket error ${e}`));
  });
  page.on('requestfailed', (r) => rec.failed.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  page.on('console', (m) => {
    if (m.type() === 'error') rec.consoleErrors.push(m.text());
  });
  page.on('pageerror', (err) => rec.pageErrors.push(String(err)));
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`);
    });
  });
  rec.cspViolations = () => page.evaluate(() => window.__cspViolations);
  return { context, page, rec };
}

function isLocal(url) {
  if (url.startsWith('data:') || url.startsWith('blob:') || url === 'about:blank') return true;
  const { hostname } = new URL(url);
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
}

async function assertCleanPage(rec) {
  const urls = [...rec.requests.map((r) => r.split(' ')[1]), ...rec.websockets];
  const foreign = urls.filter((u) => !isLocal(u));
  assert.deepEqual(foreign, [], 'requests that left the machine');
  assert.deepEqual(await rec.cspViolations(), [], 'CSP violations');
  assert.deepEqual(rec.consoleErrors, [], 'console errors');
  assert.deepEqual(rec.pageErrors, [], 'uncaught exceptions');
  assert.deepEqual(rec.failed, [], 'failed requests');
}

// The playground's editors are CodeMirror 5 instances.
const editorValue = (page, selector) =>
  page.evaluate((sel) => document.querySelector(sel)?.CodeMirror?.getValue() ?? null, selector);
const QUERY_EDITOR = '.graphiql-query-editor .CodeMirror';
const RESPONSE = '.graphiql-response .CodeMirror';

async function headersEditorValue(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('.graphiql-editor-tool .CodeMirror')]
      .map((e) => e.CodeMirror.getValue())
      .find((v) => v.includes('Authorization')) ?? null,
  );
}

async function openPlayground(server) {
  const { context, page, rec } = await newRecordedPage();
  // The schema is fetched by introspection once the page has its token.
  const introspected = page.waitForResponse(
    (r) => r.url() === server.url + 'graphql' && r.request().method() === 'POST',
    { timeout: 20_000 },
  );
  const res = await page.goto(server.url, { waitUntil: 'load', timeout: 20_000 });
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-security-policy'] ?? '', /script-src 'self'/);
  await page.waitForSelector(QUERY_EDITOR, { timeout: 20_000 });
  await page.waitForFunction(
    () =>
      [...document.querySelectorAll('.graphiql-editor-tool .CodeMirror')].some((e) =>
        e.CodeMirror.getValue().includes('Bearer '),
      ),
    null,
    { timeout: 10_000 },
  );
  assert.equal((await introspected).status(), 200);
  return { context, page, rec };
}

// runInPlayground puts query into the editor and clicks the run button.
// GraphiQL parses the editor's text 100 ms after a change (debounced) and
// hands the fetcher that parsed document, which the playground uses to pick
// HTTP or WebSocket; clicking before then would run the new text with the
// old document. So it waits for the parse, as a person typing always does.
async function runInPlayground(page, query) {
  await page.evaluate(
    ([sel, q]) => document.querySelector(sel).CodeMirror.setValue(q),
    [QUERY_EDITOR, query],
  );
  await page.waitForFunction(
    ([sel, q]) => document.querySelector(sel).CodeMirror.documentAST?.loc?.source?.body === q,
    [QUERY_EDITOR, query],
    { timeout: 5_000 },
  );
  await page.click('.graphiql-execute-button');
}

function diagnostics(rec) {
  return `--- requests ---\n${rec.requests.join('\n')}\n--- WebSocket frames ---\n${rec.frames.join('\n')}`;
}

async function waitForResponseText(page, predicate, timeout, what, rec) {
  const deadline = Date.now() + timeout;
  let last = '';
  while (Date.now() < deadline) {
    last = (await editorValue(page, RESPONSE)) ?? '';
    if (predicate(last)) return last;
    await page.waitForTimeout(100);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}; the response pane shows:\n${last}${rec ? '\n' + diagnostics(rec) : ''}`);
}

describe('playground (development mode)', () => {
  let server;
  let writer; // a write:messages token for sending from node

  before(async () => {
    server = await startServer();
    writer = await devToken(server, { scope: 'write:messages' });
  });
  after(async () => {
    await server?.stop();
  });

  test('(a) loads with no request leaving the machine, no console errors, no CSP violation', async () => {
    const { context, page, rec } = await openPlayground(server);
    try {
      const headers = JSON.parse(await headersEditorValue(page));
      assert.match(headers.Authorization, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
      assert.ok(rec.requests.includes(`GET ${server.url}dev/token`), rec.requests.join('\n'));
      assert.ok((await editorValue(page, QUERY_EDITOR)).includes('privateMessage'));
      // Let anything lazy (fonts, icons) load before judging.
      await page.waitForLoadState('networkidle', { timeout: 10_000 });
      await assertCleanPage(rec);
      // Every asset came from the embedded, content-hashed files.
      const assets = rec.requests.filter((r) => r.includes('/playground/assets/'));
      assert.ok(assets.length >= 6, assets.join('\n'));
    } finally {
      await context.close();
    }
  });

  test('(b) runs a query with the pre-filled development token', async () => {
    const expected = await graphqlPost(server, '{ privateMessage { text } scopedMessage { text } }', {
      token: await devToken(server),
    });
    const privateText = expected.body.data.privateMessage.text;
    const scopedText = expected.body.data.scopedMessage.text;
    const { context, page, rec } = await openPlayground(server);
    try {
      await runInPlayground(page, '{ privateMessage { text } scopedMessage { text } }');
      const shown = await waitForResponseText(page, (v) => v.includes('privateMessage'), 10_000, 'the result');
      const result = JSON.parse(shown);
      assert.equal(result.errors, undefined, shown);
      assert.equal(result.data.privateMessage.text, privateText);
      assert.equal(result.data.scopedMessage.text, scopedText);
      await assertCleanPage(rec);
    } finally {
      await context.close();
    }
  });

  test('the token is never written to browser storage, even after runs and a reload', async () => {
    const { context, page } = await openPlayground(server);
    try {
      const token = JSON.parse(await headersEditorValue(page)).Authorization.slice('Bearer '.length);
      await runInPlayground(page, '{ privateMessage { text } }');
      await waitForResponseText(page, (v) => v.includes('privateMessage'), 10_000, 'the result');
      // A user pastes a token of their own too.
      await page.evaluate(() => {
        const ed = [...document.querySelectorAll('.graphiql-editor-tool .CodeMirror')].find((e) =>
          e.CodeMirror.getValue().includes('Authorization'),
        );
        ed.CodeMirror.setValue('{"Authorization": "Bearer pasted.secret.token"}');
      });
      await runInPlayground(page, '{ publicMessage { text } }');
      await waitForResponseText(page, (v) => v.includes('UNAUTHENTICATED') || v.includes('errors'), 10_000, 'the refusal');
      await page.reload({ waitUntil: 'load' });
      await page.waitForSelector(QUERY_EDITOR, { timeout: 20_000 });
      const stored = await page.evaluate(() =>
        JSON.stringify([{ ...localStorage }, { ...sessionStorage }]),
      );
      assert.ok(stored.length > 10, 'GraphiQL stored nothing at all: the check would prove nothing');
      for (const secret of [token, 'pasted.secret.token', 'Bearer']) {
        assert.ok(!stored.includes(secret), `browser storage holds ${secret.slice(0, 20)}…:\n${stored.slice(0, 500)}`);
      }
    } finally {
      await context.close();
    }
  });

  test('(b) without the token, the playground shows UNAUTHENTICATED', async () => {
    const { context, page } = await openPlayground(server);
    try {
      await page.evaluate(() => {
        const ed = [...document.querySelectorAll('.graphiql-editor-tool .CodeMirror')].find((e) =>
          e.CodeMirror.getValue().includes('Authorization'),
        );
        ed.CodeMirror.setValue('{}');
      });
      await runInPlayground(page, '{ publicMessage { text } privateMessage { text } }');
      const shown = await waitForResponseText(page, (v) => v.includes('UNAUTHENTICATED'), 10_000, 'the error');
      const result = JSON.parse(shown);
      assert.equal(result.data.privateMessage, null);
      assert.equal(typeof result.data.publicMessage.text, 'string');
    } finally {
      await context.close();
    }
  });

  test('(d) the Authorization panel shows who may read each field for the token in the Headers tab', async () => {
    const { context, page, rec } = await openPlayground(server);
    const row = (type, field) =>
      page.evaluate(
        ([t, f]) => {
          const section = [...document.querySelectorAll('.authz-type')].find((s) => s.querySelector('h4')?.firstChild?.textContent === t);
          const tr = [...(section?.querySelectorAll('tr') ?? [])].find((r) => r.querySelector('td code')?.textContent === f);
          return tr ? [...tr.querySelectorAll('td')].map((td) => td.textContent) : null;
        },
        [type, field],
      );
    const waitForRow = async (type, field, want) => {
      const deadline = Date.now() + 10_000;
      let got;
      while (Date.now() < deadline) {
        got = await row(type, field);
        if (JSON.stringify(got) === JSON.stringify(want)) return;
        await page.waitForTimeout(100);
      }
      assert.deepEqual(got, want, `${type}.${field} in the Authorization panel`);
    };
    const setHeaders = (text) =>
      page.evaluate((v) => {
        const ed = [...document.querySelectorAll('.graphiql-editor-tool .CodeMirror')].find((e) =>
          e.CodeMirror.getValue().includes('Authorization') || e.CodeMirror.getValue().trim() === '{}',
        );
        ed.CodeMirror.setValue(v);
      }, text);
    const token = () => page.evaluate(() => document.querySelector('.authz-token')?.textContent ?? '');
    try {
      await page.click('button[aria-label="Show Authorization"]');
      await page.waitForSelector('.authz-panel .authz-type', { timeout: 10_000 });
      // The development token grants every scope: everything is readable.
      await waitForRow('User', 'email', ['email', 'scopes: read:users OR admin', 'readable']);
      await waitForRow('AuditEntry', 'id', ['id', 'scopes: read:audit AND read:users', 'readable']);
      assert.match(await token(), /subdev\|developer/);
      assert.match(await token(), /scopes.*read:audit/);
      assert.match(await token(), /expires.*in \d+ min/);

      // A token without scopes: guarded by scopes is FORBIDDEN.
      const bare = await devToken(server, { scope: '' });
      await setHeaders(JSON.stringify({ Authorization: `Bearer ${bare}` }));
      await waitForRow('User', 'email', ['email', 'scopes: read:users OR admin', 'FORBIDDEN']);
      await waitForRow('User', 'name', ['name', 'authenticated', 'readable']);
      assert.match(await token(), /scopes\(none\)/);

      // No token: anything but public is UNAUTHENTICATED.
      await setHeaders('{}');
      await waitForRow('Query', 'me', ['me', 'authenticated', 'UNAUTHENTICATED']);
      await waitForRow('Query', 'publicMessage', ['publicMessage', 'public', 'readable']);
      assert.match(await token(), /anonymous/);

      // A bad token is refused by the server, as a query would be.
      await setHeaders('{"Authorization": "Bearer not.a.token"}');
      await page.waitForSelector('.authz-error', { timeout: 10_000 });
      assert.match(await page.textContent('.authz-error'), /HTTP 401/);

      const authz = rec.requests.filter((r) => r.includes('/dev/authz'));
      assert.ok(authz.every((r) => r === `GET ${server.url}dev/authz`), `the token must travel in a header only:\n${authz.join('\n')}`);
      const stored = await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }]));
      assert.ok(!stored.includes(bare) && !stored.includes('Bearer'), `browser storage holds a token:\n${stored.slice(0, 500)}`);
      rec.failed = rec.failed.filter((f) => !f.includes('/dev/authz')); // requests aborted by newer ones
      rec.consoleErrors = rec.consoleErrors.filter((e) => !e.includes('401')); // the bad token's refusal
      await assertCleanPage(rec);
    } finally {
      await context.close();
    }
  });

  test('(c) runs a subscription that shows a message sent over HTTP', async () => {
    const { context, page, rec } = await openPlayground(server);
    try {
      await runInPlayground(page, 'subscription { messageSent { text author } }');
      const send = async (text) => {
        const res = await graphqlPost(server, 'mutation($t: String!) { sendMessage(text: $t) { id } }', {
          token: writer,
          variables: { t: text },
        });
        assert.equal(res.status, 200);
        assert.equal(res.body.errors, undefined, JSON.stringify(res.body));
      };
      // The subscription starts asynchronously (WebSocket, connection_init,
      // subscribe): send until one message shows, then the real one.
      let live = false;
      for (let i = 0; i < 50 && !live; i++) {
        const text = `browser warm-up ${i}`;
        await send(text);
        try {
          await waitForResponseText(page, (v) => v.includes(text), 200, 'warm-up');
          live = true;
        } catch {
          // not yet subscribed
        }
      }
      assert.ok(live, `the subscription never showed a message: ${await editorValue(page, RESPONSE)}\n${diagnostics(rec)}`);
      await send('hello, playground');
      const shown = await waitForResponseText(page, (v) => v.includes('hello, playground'), 10_000, 'the message', rec);
      assert.deepEqual(JSON.parse(shown), { data: { messageSent: { text: 'hello, playground', author: 'dev|developer' } } });
      assert.deepEqual(rec.websockets, [server.wsUrl], 'one WebSocket, to the server');
      const posts = rec.requests.filter((r) => r.startsWith('POST '));
      assert.equal(posts.length, 1, `only the schema's introspection goes over HTTP:\n${posts.join('\n')}`);
      // Stop it with the same button.
      await page.click('.graphiql-execute-button');
      await assertCleanPage(rec);
    } finally {
      await context.close();
    }
  });
});

describe('CORS and WebSocket origins from real pages', () => {
  let allowedPage;
  let otherPage;
  let server;
  let token;

  const html = (title) => `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>${title}</title></head><body><p>${title}</p></body></html>`;
  const pageHandler = (title) => (req, res) => {
    res.writeHead(req.url === '/' ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(req.url === '/' ? html(title) : '');
  };

  before(async () => {
    allowedPage = await listen(pageHandler('allowed origin'));
    otherPage = await listen(pageHandler('other origin'));
    server = await startServer({ CLIENT_ORIGIN_URL: allowedPage.origin });
    token = await devToken(server, { scope: 'read:messages' });
  });
  after(async () => {
    await server?.stop();
    await allowedPage?.close();
    await otherPage?.close();
  });

  // In the page: a GraphQL POST with Authorization and a JSON body, which
  // needs a preflight.
  const corsFetch = ([api, tok]) =>
    fetch(api + 'graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + tok },
      body: JSON.stringify({ query: '{ publicMessage { text } scopedMessage { text } }' }),
    }).then(
      async (res) => ({ ok: true, status: res.status, body: await res.json() }),
      (err) => ({ ok: false, name: err.name, message: err.message }),
    );

  // In the page: a WebSocket to the API, connection_init with the token,
  // then a query over it. Resolves with what happened.
  const wsProbe = ([wsUrl, tok]) =>
    new Promise((resolve) => {
      const events = [];
      const ws = new WebSocket(wsUrl, 'graphql-transport-ws');
      const done = (how) => {
        clearTimeout(timer);
        try {
          ws.close();
        } catch {}
        resolve({ how, events });
      };
      const timer = setTimeout(() => done('timeout'), 8000);
      ws.onopen = () => {
        events.push('open:' + ws.protocol);
        ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer ' + tok } }));
      };
      ws.onmessage = (m) => {
        const msg = JSON.parse(m.data);
        events.push(msg.type === 'next' ? 'next:' + JSON.stringify(msg.payload) : msg.type);
        if (msg.type === 'connection_ack') {
          ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ scopedMessage { text } }' } }));
        }
        if (msg.type === 'complete') done('complete');
      };
      ws.onerror = () => events.push('error');
      ws.onclose = (e) => {
        events.push('close:' + e.code);
        done('closed');
      };
    });

  test('(d) a page on an allowed origin calls the API with a token (preflight passes)', async () => {
    const { context, page, rec } = await newRecordedPage();
    try {
      await page.goto(allowedPage.origin + '/');
      const response = page.waitForResponse((r) => r.url() === server.url + 'graphql', { timeout: 10_000 });
      const got = await page.evaluate(corsFetch, [server.url, token]);
      assert.equal(got.ok, true, JSON.stringify(got));
      assert.equal(got.status, 200);
      // Not readable from the page (not a CORS-safelisted header); the
      // browser checked it, and here is what it saw.
      assert.equal((await response).headers()['access-control-allow-origin'], allowedPage.origin);
      assert.equal(got.body.errors, undefined, JSON.stringify(got.body));
      assert.equal(typeof got.body.data.scopedMessage.text, 'string');
      await assertCleanPage(rec);
    } finally {
      await context.close();
    }

    // What the browser's preflight got, asked again from node.
    const pre = await fetch(server.url + 'graphql', {
      method: 'OPTIONS',
      headers: {
        Origin: allowedPage.origin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type',
      },
    });
    assert.ok(pre.status === 200 || pre.status === 204, `preflight status ${pre.status}`);
    assert.equal(pre.headers.get('access-control-allow-origin'), allowedPage.origin);
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /authorization/i);
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /content-type/i);
    assert.equal(pre.headers.get('access-control-allow-credentials'), null, 'no credentials');
    assert.equal(pre.headers.get('www-authenticate'), null, 'preflight answered before authentication');
  });

  test('(d) a page on another origin cannot call the API (Failed to fetch)', async () => {
    const { context, page } = await newRecordedPage();
    try {
      await page.goto(otherPage.origin + '/');
      const got = await page.evaluate(corsFetch, [server.url, token]);
      assert.equal(got.ok, false, JSON.stringify(got));
      assert.equal(got.name, 'TypeError');
      assert.match(got.message, /Failed to fetch/);
    } finally {
      await context.close();
    }
  });

  test('(d) a WebSocket from the allowed origin connects and is authorized', async () => {
    const { context, page, rec } = await newRecordedPage();
    try {
      await page.goto(allowedPage.origin + '/');
      const got = await page.evaluate(wsProbe, [server.wsUrl, token]);
      assert.equal(got.how, 'complete', JSON.stringify(got));
      assert.equal(got.events[0], 'open:graphql-transport-ws');
      assert.equal(got.events[1], 'connection_ack');
      assert.match(got.events[2], /^next:\{"data":\{"scopedMessage":\{"text":/);
      await assertCleanPage(rec);
    } finally {
      await context.close();
    }
  });

  test('(d) a WebSocket from another origin is refused at the upgrade', async () => {
    const { context, page } = await newRecordedPage();
    try {
      await page.goto(otherPage.origin + '/');
      const got = await page.evaluate(wsProbe, [server.wsUrl, token]);
      assert.equal(got.how, 'closed', JSON.stringify(got));
      assert.ok(!got.events.some((e) => e.startsWith('open')), JSON.stringify(got));
      assert.deepEqual(got.events, ['error', 'close:1006']);
    } finally {
      await context.close();
    }
    // The refusal is the server's 403 on the upgrade, not a network problem.
    const status = await new Promise((resolve, reject) => {
      const ws = new WebSocket(server.wsUrl, 'graphql-transport-ws', { origin: otherPage.origin, handshakeTimeout: 5_000 });
      ws.on('unexpected-response', (_req, res) => {
        res.resume();
        resolve(res.statusCode);
      });
      ws.on('open', () => {
        ws.terminate();
        resolve('open');
      });
      ws.on('error', reject);
    });
    assert.equal(status, 403);
  });
});
