// The GraphQL over HTTP audit of the graphql-http package (auditServer,
// the conformance suite of the GraphQL over HTTP specification's reference
// implementation) against the real server binary: in development mode, and
// in production mode with introspection on (the audit's probes query
// __type), anonymously and with a valid token. Every MUST and SHOULD must
// pass; a MAY that does not is reported, not failed.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { auditServer } from 'graphql-http';

import { startIssuer, startServer } from './lib/server.mjs';

after(() => {
  setTimeout(() => process.exit(), 5_000).unref();
});

// audit runs every audit against url and fails the test on any MUST
// ("error") or SHOULD ("warn") that did not pass, listing each with its
// reason. fetchFn, when given, sends the audit's requests.
async function audit(t, url, fetchFn) {
  const results = await auditServer({ url, fetchFn });
  const failed = [];
  for (const r of results) {
    if (r.status === 'ok') continue;
    const line = `${r.status} ${r.id} ${r.name}: ${r.reason}`;
    if (r.status === 'notice') {
      t.diagnostic(line);
    } else {
      failed.push(line);
    }
  }
  const ok = results.filter((r) => r.status === 'ok').length;
  t.diagnostic(`${ok} of ${results.length} audits ok`);
  assert.deepEqual(failed, [], `MUST or SHOULD audits failed:\n${failed.join('\n')}`);
}

describe('GraphQL over HTTP audit (graphql-http auditServer)', () => {
  test('development mode', async (t) => {
    const server = await startServer();
    t.after(() => server.stop());
    await audit(t, server.url + 'graphql');
  });

  test('production mode, introspection on, anonymous and with a token', async (t) => {
    const issuer = await startIssuer();
    t.after(() => issuer.stop());
    const server = await startServer({ ...issuer.env(), GRAPHQL_INTROSPECTION: 'true' });
    t.after(() => server.stop());
    await t.test('anonymous', (t) => audit(t, server.url + 'graphql'));
    const token = issuer.sign();
    await t.test('with a valid token', (t) =>
      audit(t, server.url + 'graphql', (input, init = {}) => {
        const headers = new Headers(init.headers);
        headers.set('authorization', `Bearer ${token}`);
        return fetch(input, { ...init, headers });
      }),
    );
  });
});
