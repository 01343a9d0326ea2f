// Apollo Client (3.x, in node, no React) against the real server: queries
// and the mutation over HttpLink with an auth link, the subscription over
// GraphQLWsLink (graphql-ws, protocol graphql-transport-ws) behind a split
// link, as in Apollo's documentation, and once over the legacy
// subscriptions-transport-ws client (protocol graphql-ws).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { ApolloClient, ApolloError, HttpLink, InMemoryCache, gql, split } from '@apollo/client/core/index.js';
import { setContext } from '@apollo/client/link/context/index.js';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions/index.js';
import { WebSocketLink } from '@apollo/client/link/ws/index.js';
import { getMainDefinition } from '@apollo/client/utilities/index.js';
import { createClient } from 'graphql-ws';
import { SubscriptionClient } from 'subscriptions-transport-ws';
import { WebSocket } from 'ws';

import { devToken, graphqlPost, sleep, startIssuer, startServer, withTimeout } from './lib/server.mjs';

// Node 20 has no global WebSocket (node 22 does). GraphQLWsLink's error
// handler reads WebSocket.CLOSED from the global scope when a subscription
// ends with GraphQL errors, and throws a ReferenceError without it; apps on
// node set it the same way.
globalThis.WebSocket ??= WebSocket;

// Should anything the tests opened keep this process alive once they are
// done, exit anyway rather than hang the run (the timer itself does not
// keep the process alive).
after(() => {
  setTimeout(() => process.exit(), 5_000).unref();
});

const QUERY_ALL = gql`
  query All {
    publicMessage { id text author sentAt }
    privateMessage { id text author sentAt }
    scopedMessage { id text author sentAt }
  }
`;
const SEND = gql`
  mutation Send($text: String!) {
    sendMessage(text: $text) { id text author sentAt }
  }
`;
const MESSAGE_SENT = gql`
  subscription OnMessage {
    messageSent { id text author sentAt }
  }
`;

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

// apollo builds a client the way Apollo's docs do: an auth link in front of
// HttpLink for queries and mutations, GraphQLWsLink for subscriptions, and
// split() choosing between them. token may be undefined (no credentials).
// closes records every close event of the WebSocket.
function apollo(server, token) {
  const closes = [];
  const authLink = setContext((_, { headers }) => ({
    headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
  }));
  const httpLink = new HttpLink({ uri: server.url + 'graphql' });
  const wsClient = createClient({
    url: server.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: () => (token ? { authorization: `Bearer ${token}` } : {}),
    retryAttempts: 0,
    on: { closed: (e) => closes.push({ code: e.code, reason: e.reason }) },
  });
  const link = split(
    ({ query }) => {
      const def = getMainDefinition(query);
      return def.kind === 'OperationDefinition' && def.operation === 'subscription';
    },
    new GraphQLWsLink(wsClient),
    authLink.concat(httpLink),
  );
  const client = new ApolloClient({
    link,
    cache: new InMemoryCache(),
    defaultOptions: { query: { fetchPolicy: 'no-cache' }, mutate: { fetchPolicy: 'no-cache' } },
  });
  return {
    client,
    wsClient,
    closes,
    async close() {
      client.stop();
      await wsClient.dispose();
    },
  };
}

// watch subscribes to an Apollo observable and records what it emits;
// waitFor(pred) resolves with the first recorded event matching pred.
function watch(observable) {
  const events = [];
  let wake = () => {};
  const push = (e) => {
    events.push(e);
    wake();
  };
  const subscription = observable.subscribe({
    next: (value) => push({ type: 'next', value }),
    error: (error) => push({ type: 'error', error }),
    complete: () => push({ type: 'complete' }),
  });
  return {
    events,
    unsubscribe: () => subscription.unsubscribe(),
    async waitFor(pred, ms, what) {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = events.find(pred);
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(`timed out after ${ms} ms waiting for ${what}; got ${describeEvents(events)}`);
        }
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    },
  };
}

function describeEvents(events) {
  return JSON.stringify(
    events.map((e) =>
      e.type === 'error' ? { type: 'error', message: e.error?.message, graphQLErrors: e.error?.graphQLErrors } : e,
    ),
  );
}

const isNext = (text) => (e) => e.type === 'next' && e.value?.data?.messageSent?.text === text;
const isEnd = (e) => e.type === 'error' || e.type === 'complete';

// warmUp sends messages with sender until the watched subscription delivers
// one: then the server has registered the subscription, and later messages
// must all arrive. Messages sent before that are not delivered to it, by
// design (messageSent is "messages sent from now on").
async function warmUp(watched, send, label) {
  const deadline = Date.now() + 10_000;
  for (let i = 0; Date.now() < deadline; i++) {
    const text = `${label} warm-up ${i}`;
    await send(text);
    try {
      await watched.waitFor((e) => isNext(text)(e) || isEnd(e), 150, 'warm-up');
      const end = watched.events.find(isEnd);
      if (end) throw new Error(`subscription ended during warm-up: ${describeEvents(watched.events)}`);
      return;
    } catch (err) {
      if (!/timed out/.test(err.message)) throw err;
    }
  }
  throw new Error(`subscription delivered none of the warm-up messages: ${describeEvents(watched.events)}`);
}

function codes(errors) {
  return (errors ?? []).map((e) => e.extensions?.code);
}

function assertRecentRFC3339(s) {
  assert.match(s, RFC3339, `sentAt ${s} is not RFC 3339`);
  const age = Date.now() - Date.parse(s);
  assert.ok(Math.abs(age) < 60_000, `sentAt ${s} is not about now`);
}

describe('Apollo Client, development mode', () => {
  let server;
  let full; // every scope
  let readOnly; // read:messages
  let writeOnly; // write:messages
  let none; // no scope at all
  const clients = [];
  const client = (token) => {
    const c = apollo(server, token);
    clients.push(c);
    return c;
  };

  before(async () => {
    server = await startServer();
    [full, readOnly, writeOnly, none] = await Promise.all([
      devToken(server),
      devToken(server, { scope: 'read:messages' }),
      devToken(server, { scope: 'write:messages' }),
      devToken(server, { scope: '' }),
    ]);
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server?.stop();
  });

  test('(a) query with every scope returns all three fields', async () => {
    const { client: c } = client(full);
    const res = await c.query({ query: QUERY_ALL, errorPolicy: 'all' });
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    for (const f of ['publicMessage', 'privateMessage', 'scopedMessage']) {
      assert.equal(typeof res.data[f]?.text, 'string', `${f}: ${JSON.stringify(res.data)}`);
      assert.ok(res.data[f].text.length > 0);
      assert.ok(res.data[f].id);
    }
  });

  test('(a) query without a token: public data, guarded fields null with UNAUTHENTICATED', async () => {
    const { client: c } = client(undefined);
    const res = await c.query({ query: QUERY_ALL, errorPolicy: 'all' });
    assert.equal(typeof res.data.publicMessage.text, 'string');
    assert.equal(res.data.privateMessage, null);
    assert.equal(res.data.scopedMessage, null);
    const byPath = Object.fromEntries(res.errors.map((e) => [e.path.join('.'), e.extensions?.code]));
    assert.deepEqual(byPath, { privateMessage: 'UNAUTHENTICATED', scopedMessage: 'UNAUTHENTICATED' });
  });

  test('(a) query with a token lacking read:messages: scopedMessage FORBIDDEN, the rest served', async () => {
    for (const token of [writeOnly, none]) {
      const { client: c } = client(token);
      const res = await c.query({ query: QUERY_ALL, errorPolicy: 'all' });
      assert.equal(typeof res.data.publicMessage.text, 'string');
      assert.equal(typeof res.data.privateMessage.text, 'string');
      assert.equal(res.data.scopedMessage, null);
      assert.equal(res.errors.length, 1, JSON.stringify(res.errors));
      assert.deepEqual(res.errors[0].path, ['scopedMessage']);
      assert.equal(res.errors[0].extensions?.code, 'FORBIDDEN');
    }
  });

  test('(a) default errorPolicy: the guarded field makes the query reject with an ApolloError', async () => {
    const { client: c } = client(undefined);
    await assert.rejects(c.query({ query: QUERY_ALL }), (err) => {
      assert.ok(err instanceof ApolloError, String(err));
      assert.ok(codes(err.graphQLErrors).every((code) => code === 'UNAUTHENTICATED'), JSON.stringify(err.graphQLErrors));
      assert.equal(err.graphQLErrors.length, 2);
      return true;
    });
  });

  test('(b) a subscription on client A receives, in order, the messages client B sends', async () => {
    const a = client(readOnly);
    const b = client(full);
    const send = async (text) => {
      const res = await b.client.mutate({ mutation: SEND, variables: { text } });
      assert.equal(res.data.sendMessage.text, text);
      return res.data.sendMessage;
    };
    const watched = watch(a.client.subscribe({ query: MESSAGE_SENT }));
    try {
      await warmUp(watched, send, 'b');
      const texts = Array.from({ length: 5 }, (_, i) => `hello from B #${i} ✓`);
      const sent = [];
      for (const text of texts) sent.push(await send(text));
      await watched.waitFor(isNext(texts.at(-1)), 10_000, 'the last message');

      const got = watched.events
        .filter((e) => e.type === 'next' && texts.includes(e.value.data.messageSent.text))
        .map((e) => e.value.data.messageSent);
      assert.deepEqual(got.map((m) => m.text), texts, 'every message once, in order');
      const ids = new Set();
      got.forEach((m, i) => {
        assert.ok(m.id, 'id');
        ids.add(m.id);
        assert.equal(m.id, sent[i].id, 'the id the mutation returned');
        assert.equal(m.author, 'dev|developer', 'author is the sender token subject');
        assert.equal(m.sentAt, sent[i].sentAt);
        assertRecentRFC3339(m.sentAt);
        assert.equal(m.__typename, 'Message');
      });
      assert.equal(ids.size, texts.length, 'ids are distinct');
      assert.ok(!watched.events.some(isEnd), `subscription ended: ${describeEvents(watched.events)}`);
    } finally {
      watched.unsubscribe();
    }
  });

  test('(c) subscription with a token lacking read:messages fails with FORBIDDEN', async () => {
    const { client: c, closes } = client(writeOnly);
    // Apollo's default errorPolicy ("none") turns the result's errors into
    // an ApolloError on the observable.
    const watched = watch(c.subscribe({ query: MESSAGE_SENT }));
    const end = await watched.waitFor(isEnd, 10_000, 'the subscription to fail');
    assert.equal(end.type, 'error', describeEvents(watched.events));
    assert.ok(end.error instanceof ApolloError, String(end.error));
    assert.deepEqual(codes(end.error.graphQLErrors), ['FORBIDDEN'], JSON.stringify(end.error.graphQLErrors));
    assert.ok(!watched.events.some((e) => e.type === 'next'));
    // A refused operation is not a refused connection.
    assert.ok(!closes.some((e) => e.code >= 4000), JSON.stringify(closes));

    // The subscription is refused at start with the protocol's error
    // message, not with a result: errorPolicy "all" does not change that,
    // and the error says which scopes would grant it.
    const all = watch(c.subscribe({ query: MESSAGE_SENT, errorPolicy: 'all' }));
    const first = await all.waitFor(() => true, 10_000, 'a result');
    assert.equal(first.type, 'error', describeEvents(all.events));
    assert.deepEqual(codes(first.error.graphQLErrors), ['FORBIDDEN']);
    assert.deepEqual(first.error.graphQLErrors[0].path, ['messageSent']);
    assert.deepEqual(first.error.graphQLErrors[0].extensions.requiredScopes, [['read:messages']]);
    assert.ok(!all.events.some((e) => e.type === 'next'));
  });

  test('(c) subscription without a token fails with UNAUTHENTICATED', async () => {
    const { client: c } = client(undefined);
    const watched = watch(c.subscribe({ query: MESSAGE_SENT }));
    const end = await watched.waitFor(isEnd, 10_000, 'the subscription to fail');
    assert.equal(end.type, 'error', describeEvents(watched.events));
    assert.deepEqual(codes(end.error.graphQLErrors), ['UNAUTHENTICATED'], JSON.stringify(end.error.graphQLErrors));
  });

  test('(e) garbage token at connect: WebSocket closed with 4403, the observable errors', async () => {
    for (const garbage of ['not.a.jwt', 'garbage', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.']) {
      const { client: c, closes } = client(garbage);
      const watched = watch(c.subscribe({ query: MESSAGE_SENT }));
      const end = await watched.waitFor(isEnd, 10_000, 'the subscription to fail');
      assert.equal(end.type, 'error', describeEvents(watched.events));
      assert.match(end.error.message, /4403/, end.error.message);
      assert.equal(closes.length, 1, JSON.stringify(closes));
      assert.equal(closes[0].code, 4403);
      assert.match(closes[0].reason, /^Unauthorized: (invalid_token|invalid_header)$/, closes[0].reason);
    }
  });

  test('(g) mutation without write:messages is FORBIDDEN', async () => {
    for (const token of [readOnly, none]) {
      const { client: c } = client(token);
      const res = await c.mutate({ mutation: SEND, variables: { text: 'should not be sent' }, errorPolicy: 'all' });
      assert.equal(res.data?.sendMessage ?? null, null);
      assert.deepEqual(codes(res.errors), ['FORBIDDEN'], JSON.stringify(res.errors));
      assert.deepEqual(res.errors[0].path, ['sendMessage']);
      await assert.rejects(c.mutate({ mutation: SEND, variables: { text: 'nor this' } }), (err) => {
        assert.ok(err instanceof ApolloError);
        assert.deepEqual(codes(err.graphQLErrors), ['FORBIDDEN']);
        return true;
      });
    }
    // Without any token: UNAUTHENTICATED.
    const { client: anon } = client(undefined);
    const res = await anon.mutate({ mutation: SEND, variables: { text: 'anonymous' }, errorPolicy: 'all' });
    assert.deepEqual(codes(res.errors), ['UNAUTHENTICATED']);
  });

  test('(i) partial data: denied fields null with FORBIDDEN and requiredScopes, the rest served (errorPolicy all)', async () => {
    const { client: c } = client(none);
    const res = await c.query({
      query: gql`
        query Partial {
          me { id name email }
          search(text: "") { __typename ... on User { id name } ... on AuditEntry { id action } }
        }
      `,
      errorPolicy: 'all',
    });
    assert.deepEqual(res.data.me, { __typename: 'User', id: 'dev|developer', name: 'dev|developer', email: null });
    assert.deepEqual(
      res.data.search,
      [
        { __typename: 'User', id: 'user-1', name: 'Ada Lovelace' },
        { __typename: 'User', id: 'user-2', name: 'Grace Hopper' },
        null,
        null,
      ],
    );
    const byPath = Object.fromEntries(
      res.errors.map((e) => [e.path.join('.'), [e.extensions.code, e.extensions.requiredScopes]]),
    );
    // One error per denied field of each audit entry; either nulls it.
    const audit = ['FORBIDDEN', [['read:audit', 'read:users']]];
    assert.deepEqual(byPath, {
      'me.email': ['FORBIDDEN', [['read:users'], ['admin']]],
      'search.2.id': audit,
      'search.2.action': audit,
      'search.3.id': audit,
      'search.3.action': audit,
    });
  });

  test('(i) a mutation selecting a denied field is refused as a whole: nothing is sent', async () => {
    const subscriberClient = client(readOnly);
    const sender = client(writeOnly);
    const send = async (text) => {
      const res = await sender.client.mutate({ mutation: SEND, variables: { text } });
      assert.equal(res.data.sendMessage.text, text);
    };
    const watched = watch(subscriberClient.client.subscribe({ query: MESSAGE_SENT }));
    try {
      await warmUp(watched, send, 'refused');
      const SEND_WITH_SENDER_EMAIL = gql`
        mutation SendNosy($text: String!) {
          sendMessage(text: $text) { id sender { id email } }
        }
      `;
      const res = await sender.client.mutate({
        mutation: SEND_WITH_SENDER_EMAIL,
        variables: { text: 'must never be sent' },
        errorPolicy: 'all',
      });
      assert.equal(res.data ?? null, null, JSON.stringify(res.data));
      assert.equal(res.errors.length, 1, JSON.stringify(res.errors));
      assert.deepEqual(res.errors[0].path, ['sendMessage', 'sender', 'email']);
      assert.equal(res.errors[0].extensions.code, 'FORBIDDEN');
      assert.deepEqual(res.errors[0].extensions.requiredScopes, [['read:users'], ['admin']]);
      await assert.rejects(
        sender.client.mutate({ mutation: SEND_WITH_SENDER_EMAIL, variables: { text: 'nor this' } }),
        (err) => err instanceof ApolloError && codes(err.graphQLErrors).join() === 'FORBIDDEN',
      );
      // The subscriber's next message is the next allowed one.
      await send('after the refusal');
      await watched.waitFor(isNext('after the refusal'), 10_000, 'the next allowed message');
      const texts = watched.events.filter((e) => e.type === 'next').map((e) => e.value.data.messageSent.text);
      assert.ok(!texts.includes('must never be sent') && !texts.includes('nor this'), JSON.stringify(texts));
    } finally {
      watched.unsubscribe();
    }
  });

  test('(h) legacy protocol (subscriptions-transport-ws + WebSocketLink) receives a message', async () => {
    const subClient = new SubscriptionClient(
      server.wsUrl,
      { connectionParams: { authorization: `Bearer ${readOnly}` }, reconnect: false, timeout: 30_000 },
      WebSocket,
    );
    const c = new ApolloClient({ link: new WebSocketLink(subClient), cache: new InMemoryCache() });
    const watched = watch(c.subscribe({ query: MESSAGE_SENT }));
    try {
      const send = async (text) => {
        const res = await graphqlPost(server, 'mutation($t: String!) { sendMessage(text: $t) { id } }', {
          token: full,
          variables: { t: text },
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
      };
      await warmUp(watched, send, 'legacy');
      assert.equal(subClient.client.protocol, 'graphql-ws', 'negotiated the legacy subprotocol');
      await send('legacy hello');
      const e = await watched.waitFor(isNext('legacy hello'), 10_000, 'the message');
      assert.equal(e.value.data.messageSent.author, 'dev|developer');
      assertRecentRFC3339(e.value.data.messageSent.sentAt);
    } finally {
      watched.unsubscribe();
      c.stop();
      subClient.close();
    }
  });

  test('(h) legacy protocol: an invalid token is refused (connection_error, close 4401)', async () => {
    const closed = [];
    const connErrors = [];
    const subClient = new SubscriptionClient(
      server.wsUrl,
      {
        connectionParams: { authorization: 'Bearer not.a.jwt' },
        reconnect: false,
        connectionCallback: (err) => err && connErrors.push(err),
      },
      class extends WebSocket {
        constructor(...args) {
          super(...args);
          this.addEventListener('close', (e) => closed.push({ code: e.code, reason: e.reason }));
        }
      },
    );
    try {
      const c = new ApolloClient({ link: new WebSocketLink(subClient), cache: new InMemoryCache() });
      const watched = watch(c.subscribe({ query: MESSAGE_SENT }));
      await withTimeout(
        (async () => {
          while (closed.length === 0) await sleep(50);
        })(),
        10_000,
        'the connection to close',
      );
      assert.equal(closed[0].code, 4401, JSON.stringify(closed));
      assert.match(closed[0].reason, /^Unauthorized: /);
      assert.equal(connErrors.length, 1, 'connectionCallback got the connection_error');
      assert.ok(!watched.events.some((e) => e.type === 'next'), describeEvents(watched.events));
      watched.unsubscribe();
      c.stop();
    } finally {
      subClient.close();
    }
  });
});

describe('Apollo Client, production mode with a fake issuer', () => {
  let issuer;
  let server;
  const clients = [];
  const client = (token) => {
    const c = apollo(server, token);
    clients.push(c);
    return c;
  };

  before(async () => {
    issuer = await startIssuer({ audience: 'https://api.test' });
    server = await startServer(issuer.env());
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server?.stop();
    await issuer?.stop();
  });

  test('the fake issuer works: a valid token reads every field', async () => {
    const { client: c } = client(issuer.sign());
    const res = await c.query({ query: QUERY_ALL, errorPolicy: 'all' });
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    assert.equal(typeof res.data.scopedMessage.text, 'string');
    assert.ok(issuer.jwksHits() >= 1);
  });

  test('(d) expired token at connect: WebSocket closed with 4403, the observable errors', async () => {
    const { client: c, closes } = client(issuer.sign({ expiresIn: -3600 }));
    const watched = watch(c.subscribe({ query: MESSAGE_SENT }));
    const end = await watched.waitFor(isEnd, 10_000, 'the subscription to fail');
    assert.equal(end.type, 'error', describeEvents(watched.events));
    assert.match(end.error.message, /4403/, end.error.message);
    assert.deepEqual(closes, [{ code: 4403, reason: 'Unauthorized: token_expired' }]);
  });

  test('(d) wrong audience or wrong issuer at connect: 4403 invalid_claims', async () => {
    for (const claims of [{ aud: 'https://other.api' }, { iss: 'https://evil.example/' }]) {
      const { client: c, closes } = client(issuer.sign(claims));
      const watched = watch(c.subscribe({ query: MESSAGE_SENT }));
      await watched.waitFor(isEnd, 10_000, 'the subscription to fail');
      assert.deepEqual(closes, [{ code: 4403, reason: 'Unauthorized: invalid_claims' }], JSON.stringify(claims));
    }
  });

  test('(f) a token expiring mid-subscription ends it with UNAUTHENTICATED / token_expired', async () => {
    // Accepted for 60 s of clock skew after exp: valid for about 5 more s.
    const expiresIn = -55;
    const token = issuer.sign({ scope: 'read:messages', expiresIn });
    const validUntil = (Math.floor(Date.now() / 1000) + expiresIn + 60) * 1000;
    const sender = client(issuer.sign({ scope: 'write:messages' }));
    const send = (text) => sender.client.mutate({ mutation: SEND, variables: { text } });

    const { client: c, closes } = client(token);
    const watched = watch(c.subscribe({ query: MESSAGE_SENT }));
    // It is live before the token expires...
    await warmUp(watched, send, 'expiring');
    assert.ok(Date.now() < validUntil, 'warm-up took longer than the token lived; cannot test expiry');
    // ...and ends when it does.
    const end = await watched.waitFor(isEnd, validUntil - Date.now() + 10_000, 'the subscription to end');
    const endedAt = Date.now();
    assert.equal(end.type, 'error', describeEvents(watched.events));
    assert.ok(end.error instanceof ApolloError, String(end.error));
    const [err] = end.error.graphQLErrors;
    assert.equal(end.error.graphQLErrors.length, 1, JSON.stringify(end.error.graphQLErrors));
    assert.equal(err.extensions?.code, 'UNAUTHENTICATED', JSON.stringify(err));
    assert.equal(err.extensions?.reason, 'token_expired', JSON.stringify(err));
    assert.ok(endedAt >= validUntil - 1_000, `ended ${validUntil - endedAt} ms before the token expired`);
    assert.ok(endedAt <= validUntil + 10_000, `ended ${endedAt - validUntil} ms after the token expired`);

    // Messages sent after the end do not reach it.
    await send('after expiry');
    await sleep(300);
    assert.ok(!watched.events.some(isNext('after expiry')));
    // Ending the operation does not refuse the connection.
    assert.ok(!closes.some((e) => e.code >= 4000), JSON.stringify(closes));
  });

  test('(g) over HTTP an expired token is a 401 network error with reason token_expired', async () => {
    const expired = issuer.sign({ expiresIn: -3600 });
    const { client: c } = client(expired);
    for (const op of [
      () => c.query({ query: QUERY_ALL, errorPolicy: 'all' }),
      () => c.mutate({ mutation: SEND, variables: { text: 'expired' }, errorPolicy: 'all' }),
    ]) {
      await assert.rejects(op(), (err) => {
        assert.ok(err instanceof ApolloError, String(err));
        const ne = err.networkError;
        assert.ok(ne, `no networkError: ${err.message}`);
        assert.equal(ne.name, 'ServerError');
        assert.equal(ne.statusCode, 401);
        assert.match(ne.response.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/);
        assert.equal(ne.result.data, undefined, 'a 401 carries no data');
        assert.equal(ne.result.errors.length, 1);
        assert.equal(ne.result.errors[0].extensions.code, 'UNAUTHENTICATED');
        assert.equal(ne.result.errors[0].extensions.reason, 'token_expired');
        return true;
      });
    }
  });

  test('(g) over HTTP a token of another issuer or a garbage token is a 401', async () => {
    const other = await startIssuer({ audience: 'https://api.test' });
    try {
      for (const [token, reason] of [
        [other.sign(), 'invalid_token'], // unknown kid, other key
        ['garbage', 'invalid_token'],
        [issuer.sign({ aud: 'https://other.api' }), 'invalid_claims'],
      ]) {
        const { client: c } = client(token);
        await assert.rejects(c.query({ query: QUERY_ALL, errorPolicy: 'all' }), (err) => {
          assert.equal(err.networkError?.statusCode, 401, err.message);
          assert.equal(err.networkError.result.errors[0].extensions.reason, reason);
          return true;
        });
      }
    } finally {
      await other.stop();
    }
  });
});
