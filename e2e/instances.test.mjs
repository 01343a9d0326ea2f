// Several instances behind a real load balancer: two server binaries
// sharing one redis-server (Debian's) behind HAProxy (Debian's), with a
// configuration generated here (lib/daemons.mjs). Subscribers are Apollo
// Client GraphQLWsLink clients connected through HAProxy, which spreads
// them over both instances; messages are sent through HAProxy too.
// SPEC.md, "Operating several instances"; issue 9, sections 2 and 4.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { ApolloClient, InMemoryCache, gql } from '@apollo/client/core/index.js';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions/index.js';
import { createClient } from 'graphql-ws';
import { WebSocket } from 'ws';

import { startHAProxy, startRedis } from './lib/daemons.mjs';
import { graphqlPost, sleep, startIssuer, startServer, withTimeout } from './lib/server.mjs';

globalThis.WebSocket ??= WebSocket; // node 20: see apollo.test.mjs

after(() => {
  setTimeout(() => process.exit(), 5_000).unref();
});

const MESSAGE_SENT = gql`
  subscription OnMessage {
    messageSent { id text }
  }
`;
const SEND = `mutation Send($text: String!) { sendMessage(text: $text) { id text } }`;

// cluster starts a redis-server, an issuer, two instances (a, b) sharing
// that Redis, and HAProxy in front of them. c.defer(fn) registers a
// cleanup; when t ends they run last registered first, so that clients
// close before the servers and the servers before Redis.
async function cluster(t, env = {}) {
  const cleanups = [];
  const defer = (fn) => cleanups.push(fn);
  t.after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });
  const redis = await startRedis(t, defer);
  if (!redis) return null;
  const issuer = await startIssuer();
  defer(() => issuer.stop());
  const instances = {};
  for (const name of ['a', 'b']) {
    const server = await startServer({ ...issuer.env(), REDIS_URL: redis.url, ...env });
    defer(() => server.stop());
    instances[name] = server;
  }
  const lb = await startHAProxy(t, Object.entries(instances).map(([name, s]) => ({ name, port: s.port })), defer);
  if (!lb) return null;
  return { redis, issuer, instances, lb, token: issuer.sign(), defer };
}

// subscriber is an Apollo Client whose GraphQLWsLink connects through the
// load balancer and retries for ever (graphql-ws retryAttempts and
// shouldRetry), as a client that must survive a rollout is configured.
// It records the instance each of its connections reached (HAProxy's
// X-Served-By on the 101 response), its close events, and every
// messageSent it receives.
function subscriber(c, label) {
  const servedBy = [];
  const closes = [];
  const received = [];
  let connects = 0;
  // The ws WebSocket, noting which instance answered the upgrade.
  class TrackedWebSocket extends WebSocket {
    constructor(...args) {
      super(...args);
      this.on('upgrade', (res) => servedBy.push(res.headers['x-served-by']));
    }
  }
  const wsClient = createClient({
    url: c.lb.wsUrl,
    webSocketImpl: TrackedWebSocket,
    connectionParams: () => ({ authorization: `Bearer ${c.token}` }),
    retryAttempts: 1_000,
    shouldRetry: () => true,
    retryWait: (retries) => sleep(Math.min(100 * 2 ** retries, 1_000)),
    on: {
      connected: () => connects++,
      closed: (e) => closes.push({ code: e.code, reason: e.reason }),
    },
  });
  const client = new ApolloClient({ link: new GraphQLWsLink(wsClient), cache: new InMemoryCache() });
  const errors = [];
  const sub = client.subscribe({ query: MESSAGE_SENT, fetchPolicy: 'no-cache' }).subscribe({
    next: (r) => received.push(r.data.messageSent),
    error: (e) => errors.push(e),
    complete: () => errors.push(new Error('subscription completed')),
  });
  return {
    label,
    servedBy,
    closes,
    received,
    errors,
    connects: () => connects,
    // on is the instance the latest connection reached.
    on: () => servedBy.at(-1),
    texts: () => received.map((m) => m.text),
    async close() {
      sub.unsubscribe();
      client.stop();
      await wsClient.dispose();
    },
  };
}

// send sends text through the load balancer and returns the message, or
// null when the send failed (an instance going away may refuse it).
async function send(c, text) {
  try {
    const res = await graphqlPost(c.lb, SEND, { token: c.token, variables: { text } });
    return res.status === 200 && res.body.data?.sendMessage ? res.body.data.sendMessage : null;
  } catch {
    return null;
  }
}

// until polls pred every 50 ms, failing after ms with what and, if given,
// state() for the failure message.
async function until(pred, ms, what, state = () => '') {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what} ${state()}`);
    await sleep(50);
  }
}

// describe says what each subscriber went through, for failure messages.
function describeSubs(subs) {
  return JSON.stringify(subs.map((s) => ({ label: s.label, servedBy: s.servedBy, connects: s.connects(), closes: s.closes, errors: s.errors.map(String), last: s.texts().slice(-2) })));
}

// subscribers opens n subscribers through the load balancer and sends
// probes until each has received one: then every subscription is live.
// It asserts that HAProxy spread them over both instances.
async function subscribers(c, n) {
  const subs = [];
  for (let i = 0; i < n; i++) {
    const s = subscriber(c, `subscriber ${i}`);
    c.defer(() => s.close());
    subs.push(s);
  }
  await probe(c, subs, 'the first probe');
  const on = new Set(subs.map((s) => s.on()));
  assert.deepEqual([...on].sort(), ['a', 'b'], `subscribers reached ${JSON.stringify(subs.map((s) => s.servedBy))}`);
  return subs;
}

// probe sends messages until each of subs has received one sent after the
// call: from then on their subscriptions are registered again.
async function probe(c, subs, what) {
  const start = subs.map((s) => s.received.length);
  const deadline = Date.now() + 20_000;
  for (let i = 0; ; i++) {
    await send(c, `probe ${what} ${i}`);
    await sleep(150);
    if (subs.every((s, j) => s.received.slice(start[j]).some((m) => m.text.startsWith(`probe ${what}`)))) return;
    if (Date.now() > deadline) {
      throw new Error(`${what}: not every subscriber received a probe in 20 s: ${JSON.stringify(subs.map((s) => ({ on: s.servedBy, got: s.texts().slice(-3), errors: s.errors.map(String) })))}`);
    }
  }
}

// stream sends a message through the load balancer every 50 ms until
// stop() and records the accepted ones, in order, in sent, and the number
// refused in failed().
function stream(c, label) {
  const sent = [];
  let failed = 0;
  let sending = true;
  const done = (async () => {
    for (let i = 0; sending; i++) {
      const m = await send(c, `${label} ${i}`);
      if (m) sent.push(m);
      else failed++;
      await sleep(50);
    }
  })();
  return {
    sent,
    failed: () => failed,
    async stop() {
      sending = false;
      await done;
    },
  };
}

// sendAll sends texts one after the other through the load balancer and
// returns the messages that were accepted, in order.
async function sendAll(c, texts) {
  const sent = [];
  for (const text of texts) {
    const m = await send(c, text);
    if (m) sent.push(m);
  }
  return sent;
}

// assertReceivedAll checks that every subscriber received exactly sent,
// in order, among what it received since it last had sent[0]'s
// predecessor (probes excluded).
function assertReceivedAll(subs, sent, what) {
  const ids = sent.map((m) => m.id);
  for (const s of subs) {
    const got = s.received.filter((m) => ids.includes(m.id)).map((m) => m.id);
    assert.deepEqual(got, ids, `${s.label} (connections to ${s.servedBy}) ${what}: ${JSON.stringify(s.texts())}`);
    assert.deepEqual(s.errors, [], `${s.label}: ${s.errors}`);
  }
}

// waitReceived waits until every subscriber has the last of sent.
async function waitReceived(subs, sent) {
  const last = sent.at(-1).id;
  await until(() => subs.every((s) => s.received.some((m) => m.id === last)), 15_000, 'every subscriber to receive the last message');
}

describe('two instances sharing Redis behind HAProxy', () => {
  test('subscribers spread over both instances all receive every message sent through the load balancer, in the same order', async (t) => {
    const c = await cluster(t);
    if (!c) return;
    const subs = await subscribers(c, 6);

    const texts = Array.from({ length: 20 }, (_, i) => `message ${i}`);
    const sent = await sendAll(c, texts);
    assert.equal(sent.length, texts.length, 'every send accepted');
    await waitReceived(subs, sent);
    assertReceivedAll(subs, sent, 'received');
    for (const s of subs) assert.deepEqual(s.closes, [], `${s.label} was disconnected`);
  });

  test('an instance killed mid-stream: its clients reconnect through HAProxy and keep receiving', async (t) => {
    const c = await cluster(t);
    if (!c) return;
    const subs = await subscribers(c, 6);
    const onA = subs.filter((s) => s.on() === 'a');
    const onB = subs.filter((s) => s.on() === 'b');

    // Messages flow while instance a dies.
    const flow = stream(c, 'stream');
    const { sent } = flow;
    await until(() => sent.length >= 10, 10_000, '10 messages sent');
    c.instances.a.kill('SIGKILL');
    const killedAt = sent.length;
    await withTimeout(c.instances.a.exited, 10_000, 'instance a to exit');

    await until(() => onA.every((s) => s.connects() >= 2), 20_000, "instance a's subscribers to reconnect", () => describeSubs(onA));
    for (const s of onA) assert.equal(s.on(), 'b', `${s.label} reconnected to ${s.servedBy}`);
    await probe(c, subs, 'after the kill');
    const afterReconnect = sent.length;
    await until(() => sent.length >= afterReconnect + 10, 10_000, '10 more messages');
    await flow.stop();

    // Instance b's subscribers missed nothing; a's received what was sent
    // before the kill, and everything sent once they were back.
    await waitReceived(subs, sent);
    assertReceivedAll(onB, sent, 'on the surviving instance');
    assertReceivedAll(onA, sent.slice(afterReconnect), 'after reconnecting');
    for (const s of onA) {
      const before = sent.slice(0, Math.max(0, killedAt - 5)).map((m) => m.id); // the last few were in flight at the kill: may be lost
      assert.deepEqual(s.received.filter((m) => before.includes(m.id)).map((m) => m.id), before, `${s.label} before the kill`);
      assert.ok(s.closes.length >= 1 && s.closes[0].code !== 1001, `${s.label} closes ${JSON.stringify(s.closes)}`);
    }
  });

  test('SIGTERM: readiness fails at once, clients get close 1001, reconnect through HAProxy to the other instance, and lose nothing sent after', async (t) => {
    const c = await cluster(t, { SHUTDOWN_DRAIN_DELAY: '3s', SHUTDOWN_TIMEOUT: '5s' });
    if (!c) return;
    const subs = await subscribers(c, 6);
    const onA = subs.filter((s) => s.on() === 'a');

    const rollout = stream(c, 'rollout');
    const { sent } = rollout;
    await until(() => sent.length >= 5, 10_000, '5 messages sent');
    const a = c.instances.a;
    a.kill('SIGTERM');
    // /readyz answers 503 at once, while a still serves everything else
    // for the drain delay. (Once a stops accepting, a fetch fails: then
    // the 503 never came.)
    while ((await fetch(a.url + 'readyz', { signal: AbortSignal.timeout(2_000) })).status !== 503) await sleep(20);
    assert.equal((await fetch(a.url + 'api/public', { signal: AbortSignal.timeout(2_000) })).status, 200, 'a serves during the drain');

    const exit = await withTimeout(a.exited, 20_000, 'instance a to exit');
    assert.deepEqual(exit, { code: 0, signal: null }, `instance a's exit\n${a.output()}`);
    // The close frames went out before the process exited, but their
    // events and the exit's travel on different sockets: wait for them.
    await until(() => onA.every((s) => s.closes.length >= 1), 5_000, "instance a's subscribers to see the close", () => describeSubs(onA));
    for (const s of onA) {
      assert.deepEqual(s.closes[0], { code: 1001, reason: 'server shutting down' }, `${s.label} closes`);
    }
    await until(() => onA.every((s) => s.connects() >= 2), 20_000, "instance a's subscribers to reconnect", () => describeSubs(onA));
    for (const s of onA) assert.equal(s.on(), 'b', `${s.label} reconnected to ${s.servedBy}`);

    await probe(c, subs, 'after the rollout');
    const afterReconnect = sent.length;
    await until(() => sent.length >= afterReconnect + 10, 10_000, '10 more messages');
    await rollout.stop();
    await waitReceived(subs, sent);
    assertReceivedAll(subs, sent.slice(afterReconnect), 'after the reconnect');
    assertReceivedAll(subs.filter((s) => s.on() === 'b' && s.connects() === 1), sent, 'on the surviving instance');
    assert.equal(rollout.failed(), 0, 'no send through the load balancer failed during the rollout');
  });
});
