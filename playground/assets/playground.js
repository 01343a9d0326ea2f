// Starts GraphiQL on the playground page.
//
// This file is served from the page's own origin because the page's
// Content-Security-Policy allows no inline script. It expects the UMD
// globals React, ReactDOM, GraphiQL and graphqlWs, loaded before it.
(function () {
  'use strict';

  var config = JSON.parse(
    document.getElementById('playground-config').textContent,
  );

  var NAMESPACE = 'graphiql:';

  // GraphiQL keeps tabs, history and favourites in localStorage, and its
  // history and favourites hold each run's headers even when
  // shouldPersistHeaders is false. Tokens must not outlive the tab, so
  // GraphiQL gets this storage: keys known to be header-free go to
  // localStorage as they are, keys known to embed headers go there with the
  // headers removed, and every other key (including "headers", and whatever
  // a future GraphiQL adds) stays in memory only.
  var PERSIST = [
    'query',
    'variables',
    'operationName',
    'theme',
    'visiblePlugin',
    'editorFlex',
    'docExplorerFlex',
    'secondaryEditorFlex',
    'shouldPersistHeaders',
  ];
  var PERSIST_WITHOUT_HEADERS = ['tabState', 'queries', 'favorites'];

  function stripHeaders(value) {
    if (Array.isArray(value)) {
      return value.map(stripHeaders);
    }
    if (value && typeof value === 'object') {
      var out = {};
      Object.keys(value).forEach(function (k) {
        out[k] = k === 'headers' ? null : stripHeaders(value[k]);
      });
      return out;
    }
    return value;
  }

  function createStorage() {
    var memory = new Map();
    var backing = null;
    try {
      backing = window.localStorage;
      backing.getItem(NAMESPACE + 'probe');
    } catch (e) {
      // Storage can be disabled (privacy settings, sandboxing); memory alone
      // still gives a working session.
      backing = null;
    }

    function kind(key) {
      if (key.indexOf(NAMESPACE) !== 0) return 'memory';
      var name = key.slice(NAMESPACE.length);
      if (PERSIST.indexOf(name) >= 0) return 'persist';
      if (PERSIST_WITHOUT_HEADERS.indexOf(name) >= 0) return 'strip';
      return 'memory';
    }

    function toBacking(key, value) {
      if (!backing) return;
      var k = kind(key);
      try {
        if (k === 'persist') {
          backing.setItem(key, value);
        } else if (k === 'strip') {
          backing.setItem(key, JSON.stringify(stripHeaders(JSON.parse(value))));
        } else {
          backing.removeItem(key);
        }
      } catch (e) {
        // Unparseable or over quota: better not to store it at all than to
        // store it with headers.
        try {
          backing.removeItem(key);
        } catch (ignored) {}
      }
    }

    // Earlier visits, or a plain GraphiQL on this origin, may have left
    // headers behind; scrub them before GraphiQL reads anything.
    if (backing) {
      var existing = [];
      for (var i = 0; i < backing.length; i++) {
        var key = backing.key(i);
        if (key && key.indexOf(NAMESPACE) === 0) existing.push(key);
      }
      existing.forEach(function (key) {
        var value = backing.getItem(key);
        if (value !== null) toBacking(key, value);
      });
    }

    function keys() {
      var all = new Set(memory.keys());
      if (backing) {
        for (var i = 0; i < backing.length; i++) {
          var key = backing.key(i);
          if (key && key.indexOf(NAMESPACE) === 0) all.add(key);
        }
      }
      return all;
    }

    return {
      getItem: function (key) {
        if (memory.has(key)) return memory.get(key);
        if (backing && kind(key) !== 'memory') return backing.getItem(key);
        return null;
      },
      setItem: function (key, value) {
        value = String(value);
        memory.set(key, value);
        toBacking(key, value);
      },
      removeItem: function (key) {
        memory.delete(key);
        if (backing) backing.removeItem(key);
      },
      clear: function () {
        keys().forEach(function (key) {
          memory.delete(key);
          if (backing && key.indexOf(NAMESPACE) === 0) backing.removeItem(key);
        });
      },
      get length() {
        return keys().size;
      },
    };
  }

  // GraphiQL hands the header editor's JSON over as an object whose values
  // may be any JSON type; HTTP needs strings.
  function stringHeaders(headers) {
    var out = {};
    if (!headers || typeof headers !== 'object') return out;
    Object.keys(headers).forEach(function (name) {
      var v = headers[name];
      if (name && v !== null && v !== undefined) out[name] = String(v);
    });
    return out;
  }

  function headerValue(headers, name) {
    var lower = name.toLowerCase();
    var found = null;
    Object.keys(headers).forEach(function (k) {
      if (k.toLowerCase() === lower) found = headers[k];
    });
    return found;
  }

  // operationOf parses the query being sent. GraphiQL's documentAST lags
  // the editor by ~100 ms, so a subscription typed and run at once would
  // be routed over HTTP; it is only a fallback when the text won't parse.
  function operationOf(params, documentAST) {
    var doc;
    try {
      doc = GraphiQL.GraphQL.parse(params.query);
    } catch (e) {
      doc = documentAST;
    }
    if (!doc) {
      return null;
    }
    var ops = doc.definitions.filter(function (d) {
      return d.kind === 'OperationDefinition';
    });
    if (params.operationName) {
      return (
        ops.find(function (d) {
          return d.name && d.name.value === params.operationName;
        }) || null
      );
    }
    return ops.length === 1 ? ops[0] : null;
  }

  function createFetcher(endpoint) {
    var httpURL = new URL(endpoint, window.location.href);
    var wsURL = new URL(endpoint, window.location.href);
    wsURL.protocol = httpURL.protocol === 'https:' ? 'wss:' : 'ws:';

    function overHTTP(params, headers) {
      var h = Object.assign(
        {
          Accept: 'application/graphql-response+json, application/json',
          'Content-Type': 'application/json',
        },
        headers,
      );
      return fetch(httpURL, {
        method: 'POST',
        headers: h,
        body: JSON.stringify(params),
        credentials: 'same-origin',
        cache: 'no-store',
      }).then(function (res) {
        return res.text().then(function (text) {
          // GraphQL servers answer errors (e.g. 401 for a bad token) with a
          // JSON body worth showing; anything else becomes an error message.
          try {
            return JSON.parse(text);
          } catch (e) {
            throw new Error(
              'HTTP ' + res.status + ' ' + res.statusText + ': ' + text.slice(0, 500),
            );
          }
        });
      });
    }

    // Browsers cannot set headers on a WebSocket, so the Authorization
    // header travels in connection_init instead. Each subscription gets its
    // own client: the token is fixed per connection, and a client per run
    // means an edited header takes effect on the next run and nothing stays
    // connected after the subscription ends.
    function overWebSocket(params, headers) {
      var authorization = headerValue(headers, 'Authorization');
      return {
        subscribe: function (sink) {
          var done = false;
          var client = graphqlWs.createClient({
            url: wsURL.toString(),
            retryAttempts: 0,
            connectionParams: authorization ? { authorization: authorization } : {},
          });
          var unsubscribe = client.subscribe(
            {
              query: params.query,
              variables: params.variables,
              operationName: params.operationName,
            },
            {
              next: function (value) {
                if (!done) sink.next(value);
              },
              error: function (err) {
                if (done) return;
                finish();
                if (Array.isArray(err)) {
                  // GraphQL errors for the operation: show them as a result.
                  sink.next({ errors: err });
                  sink.complete();
                } else {
                  sink.error(toError(err));
                }
              },
              complete: function () {
                if (done) return;
                finish();
                sink.complete();
              },
            },
          );
          function finish() {
            done = true;
            unsubscribe();
            client.dispose();
          }
          return {
            unsubscribe: function () {
              if (!done) finish();
            },
          };
        },
      };
    }

    return function fetcher(params, opts) {
      var headers = stringHeaders(opts && opts.headers);
      var op = operationOf(params, opts && opts.documentAST);
      if (op && op.operation === 'subscription') {
        return overWebSocket(params, headers);
      }
      return overHTTP(params, headers);
    };
  }

  function toError(err) {
    if (err instanceof Error) return err;
    if (err && typeof err.code === 'number') {
      // A CloseEvent: 4401/4403 mean the server refused the token.
      return new Error(
        'WebSocket closed with code ' + err.code + (err.reason ? ': ' + err.reason : ''),
      );
    }
    return new Error('WebSocket error; see the browser console');
  }

  // Fetches a development token. Failure is not fatal: the page still works
  // for public queries, and the message explains what happened.
  function fetchDevToken(url) {
    var target = new URL(url, window.location.href);
    if (target.origin !== window.location.origin) {
      return Promise.reject(new Error('dev token URL is not same-origin'));
    }
    var controller = new AbortController();
    var timer = setTimeout(function () {
      controller.abort();
    }, 5000);
    function request(method) {
      return fetch(target, {
        method: method,
        headers: { Accept: 'application/json' },
        credentials: 'same-origin',
        cache: 'no-store',
        signal: controller.signal,
      });
    }
    return request('GET')
      .then(function (res) {
        return res.status === 405 ? request('POST') : res;
      })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(function (body) {
        if (!body || typeof body.access_token !== 'string' || !body.access_token) {
          throw new Error('response has no access_token');
        }
        return body.access_token;
      })
      .finally(function () {
        clearTimeout(timer);
      });
  }

  var QUERY =
    '{\n' +
    '  publicMessage {\n' +
    '    text\n' +
    '  }\n' +
    '  privateMessage {\n' +
    '    text\n' +
    '  }\n' +
    '  scopedMessage {\n' +
    '    text\n' +
    '  }\n' +
    '}\n';

  function defaultQuery(tokenState) {
    var lines = ['# GraphQL playground', '#'];
    if (tokenState.token) {
      lines.push(
        '# Development mode: a fresh token is in the',
        '# Headers tab below. Reload for a new one.',
      );
    } else {
      if (tokenState.error) {
        lines.push(
          '# Development mode, but no token came from',
          '# ' + config.devTokenURL + ' (' + tokenState.error + ').',
          '#',
        );
      }
      lines.push(
        '# publicMessage needs no token. For the',
        '# others, set in the Headers tab below:',
        '#   {"Authorization": "Bearer <token>"}',
      );
    }
    if (config.devAuthzURL) {
      lines.push(
        '#',
        '# The lock on the left shows who may read',
        '# each field, and what this token may.',
      );
    }
    lines.push(
      '#',
      '# Headers live only in this tab, never in',
      '# browser storage. Subscriptions use a',
      '# WebSocket and send the same token.',
      '#',
      '# Run: Ctrl-Enter, or the run button.',
      '',
      QUERY,
    );
    return lines.join('\n');
  }

  // The Authorization panel (development mode): the schema's authorization
  // matrix, and what the token in the Headers tab may read. The server
  // decides it (GET config.devAuthzURL with that Authorization header), with
  // the same rule as for queries, and returns the token's verified subject,
  // scopes and expiry; nothing is decoded here. The token is only ever held
  // in memory and sent in a header.
  function authzPlugin(url) {
    var h = React.createElement;

    function authorizationOf(text) {
      var headers;
      try {
        headers = JSON.parse(text || '{}');
      } catch (e) {
        return { invalid: true };
      }
      return { value: headerValue(stringHeaders(headers), 'Authorization') || '' };
    }

    function load(auth, signal) {
      var headers = { Accept: 'application/json' };
      if (auth.value) headers.Authorization = auth.value;
      return fetch(new URL(url, window.location.href), {
        headers: headers,
        credentials: 'same-origin',
        cache: 'no-store',
        signal: signal,
      }).then(function (res) {
        return res.json().then(function (body) {
          if (!res.ok) {
            throw new Error(
              'HTTP ' + res.status + ': ' + ((body && (body.description || body.code)) || res.statusText),
            );
          }
          return body;
        });
      });
    }

    function expiry(iso) {
      var at = new Date(iso);
      var minutes = Math.round((at.getTime() - Date.now()) / 60000);
      var when = minutes >= 0 ? 'in ' + minutes + ' min' : minutes * -1 + ' min ago';
      return at.toLocaleString() + ' (' + when + ')';
    }

    function TokenInfo(props) {
      var token = props.token;
      if (!token) {
        return h('p', { className: 'authz-token' }, 'No token in the Headers tab: anonymous.');
      }
      return h(
        'dl',
        { className: 'authz-token' },
        h('dt', null, 'sub'),
        h('dd', null, h('code', null, token.sub || '(none)')),
        h('dt', null, 'scopes'),
        h('dd', null, token.scopes.length ? h('code', null, token.scopes.join(' ')) : '(none)'),
        h('dt', null, 'expires'),
        h('dd', null, expiry(token.expiresAt)),
      );
    }

    function TypeTable(props) {
      var t = props.type;
      var kind = t.kind.toLowerCase() + (t.interfaces ? ', implements ' + t.interfaces.join(', ') : '');
      return h(
        'section',
        { className: 'authz-type' },
        h('h4', null, t.name, ' ', h('span', { className: 'authz-muted' }, kind)),
        h(
          'table',
          null,
          h(
            'tbody',
            null,
            t.fields.map(function (f) {
              return h(
                'tr',
                { key: f.name, className: f.allowed ? 'authz-allowed' : 'authz-denied' },
                h('td', null, h('code', null, f.name)),
                h('td', null, f.requirement.text),
                h('td', null, f.allowed ? 'readable' : f.code),
              );
            }),
          ),
        ),
      );
    }

    function Panel() {
      var editor = GraphiQL.React.useEditorContext({ nonNull: true }).headerEditor;
      var authState = React.useState(function () {
        return authorizationOf(editor ? editor.getValue() : '{}');
      });
      var auth = authState[0];
      var setAuth = authState[1];
      var reportState = React.useState({ loading: true });
      var report = reportState[0];
      var setReport = reportState[1];
      var refreshState = React.useState(0);
      var refresh = refreshState[0];
      var setRefresh = refreshState[1];

      // Follow the Headers tab as it is edited.
      React.useEffect(
        function () {
          if (!editor) return undefined;
          var timer = null;
          function onChange() {
            clearTimeout(timer);
            timer = setTimeout(function () {
              setAuth(authorizationOf(editor.getValue()));
            }, 300);
          }
          editor.on('change', onChange);
          return function () {
            clearTimeout(timer);
            editor.off('change', onChange);
          };
        },
        [editor],
      );

      React.useEffect(
        function () {
          if (auth.invalid) {
            setReport({ error: 'The Headers tab is not valid JSON.' });
            return undefined;
          }
          var controller = new AbortController();
          setReport(function (prev) {
            return { data: prev.data, loading: true };
          });
          load(auth, controller.signal).then(
            function (body) {
              setReport({ data: body });
            },
            function (err) {
              if (err && err.name === 'AbortError') return;
              setReport({ error: err && err.message ? err.message : String(err) });
            },
          );
          return function () {
            controller.abort();
          };
        },
        [auth.value, auth.invalid, refresh],
      );

      var data = report.data;
      return h(
        'div',
        { className: 'authz-panel' },
        h('div', { className: 'graphiql-doc-explorer-title' }, 'Authorization'),
        h(
          'p',
          { className: 'authz-muted' },
          'Who may read each field (as in AUTHZ.md), and whether the token in the Headers tab may, as the server decides it.',
        ),
        h(
          'button',
          {
            type: 'button',
            className: 'graphiql-button authz-refresh',
            onClick: function () {
              setRefresh(refresh + 1);
            },
          },
          'Refresh',
        ),
        report.error ? h('p', { className: 'authz-error', role: 'alert' }, report.error) : null,
        report.loading && !data ? h('p', { className: 'authz-muted' }, 'Loading…') : null,
        data && !report.error ? h(TokenInfo, { token: data.token }) : null,
        data && !report.error
          ? data.types.map(function (t) {
              return h(TypeTable, { key: t.name, type: t });
            })
          : null,
      );
    }

    function Icon() {
      return h(
        'svg',
        { viewBox: '0 0 24 24', width: '1em', height: '1em', 'aria-hidden': 'true' },
        h('path', {
          d: 'M7 11V8a5 5 0 0 1 10 0v3M5 11h14v10H5z',
          fill: 'none',
          stroke: 'currentColor',
          strokeWidth: 1.5,
        }),
      );
    }

    return { title: 'Authorization', icon: Icon, content: Panel };
  }

  function render(tokenState) {
    var headers = tokenState.token
      ? JSON.stringify({ Authorization: 'Bearer ' + tokenState.token }, null, 2)
      : '{}';
    var root = ReactDOM.createRoot(document.getElementById('graphiql'));
    root.render(
      React.createElement(GraphiQL, {
        fetcher: createFetcher(config.endpoint),
        defaultQuery: defaultQuery(tokenState),
        defaultHeaders: headers,
        shouldPersistHeaders: false,
        storage: createStorage(),
        defaultEditorToolsVisibility: 'headers',
        plugins: config.devAuthzURL ? [authzPlugin(config.devAuthzURL)] : undefined,
      }),
    );
  }

  if (config.devTokenURL) {
    fetchDevToken(config.devTokenURL).then(
      function (token) {
        render({ token: token });
      },
      function (err) {
        console.warn('playground: could not fetch a development token:', err);
        render({ error: err && err.message ? err.message : String(err) });
      },
    );
  } else {
    render({});
  }
})();
