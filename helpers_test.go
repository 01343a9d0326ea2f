package main

// The root package's test helpers: the real server started through run on
// a loopback port, HTTP and WebSocket clients for it, and the assertions
// the tests share. Helpers that serve one test file stay in it.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/authgql/server/auth/authtest"
)

// The server under test.

// testServer is the real server, started through run on a free loopback
// port, as a user would start it.
type testServer struct {
	URL    string // base URL with a trailing slash
	Issuer *authtest.Issuer
	Stdout *syncBuffer
	Stderr *syncBuffer
}

// syncBuffer is a bytes.Buffer safe to read while run writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer runs the server in production mode against a fresh fake
// issuer, with env on top of the test defaults, and waits until it is ready.
func startServer(t testing.TB, env map[string]string) *testServer {
	t.Helper()
	is := authtest.NewServer(t)
	base := testEnv(is, env)
	ts := runServer(t, base)
	ts.Issuer = is
	if base["AUTH0_ISSUER_URL"] == is.URL {
		ts.waitReady(t)
	}
	return ts
}

// testEnv is a production-mode environment for is, with env on top.
func testEnv(is *authtest.Issuer, env map[string]string) map[string]string {
	base := map[string]string{
		"HOST":             "127.0.0.1",
		"PORT":             "0",
		"AUTH0_ISSUER_URL": is.URL,
		"AUTH0_AUDIENCE":   is.Audience,
		// Nothing balances a test's server: stop at once when it ends.
		"SHUTDOWN_DRAIN_DELAY": "0",
	}
	for k, v := range env {
		base[k] = v
	}
	return base
}

// runServer calls run with exactly env (no .env file, no process
// environment) and waits for it to listen. The server stops when the test
// ends, and the test fails if run then returns an error.
func runServer(t testing.TB, env map[string]string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ts, done := startRun(t, ctx, env)
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run returned %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("run did not return after its context ended")
		}
	})
	return ts
}

// startRun starts run under ctx and waits until it listens; done receives
// what run returns.
func startRun(t testing.TB, ctx context.Context, env map[string]string) (*testServer, <-chan error) {
	t.Helper()
	ts := &testServer{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}}
	done := make(chan error, 1)
	args := []string{"server", "-env-file", emptyEnvFile(t)}
	go func() { done <- run(ctx, args, mapLookup(env), ts.Stdout, ts.Stderr) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("run returned before listening: %v\nstderr: %s", err, ts.Stderr)
		default:
		}
		sc := bufio.NewScanner(strings.NewReader(ts.Stdout.String()))
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				ts.URL, _, _ = strings.Cut(rest, " ")
				return ts, done
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("server did not start listening; stdout: %s\nstderr: %s", ts.Stdout, ts.Stderr)
	return nil, nil
}

// startInstances runs n servers sharing one fake issuer (so one token
// works on all), with env on top of startServer's defaults, and waits
// until each is ready.
func startInstances(t testing.TB, n int, env map[string]string) []*testServer {
	t.Helper()
	is := authtest.NewServer(t)
	var out []*testServer
	for range n {
		ts := runServer(t, testEnv(is, env))
		ts.Issuer = is
		ts.waitReady(t)
		out = append(out, ts)
	}
	return out
}

// metricsURL returns the base URL of the server's metrics listener
// ("http://127.0.0.1:PORT", from its "metrics on" line).
func (ts *testServer) metricsURL(t testing.TB) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for line := range strings.Lines(ts.Stdout.String()) {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "metrics on "); ok {
				return strings.TrimSuffix(rest, "/metrics")
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no \"metrics on\" line; stdout: %s", ts.Stdout)
	return ""
}

func mapEnv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// mapLookup is env as run reads the environment (os.LookupEnv).
func mapLookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// emptyEnvFile is an empty .env file for run's -env-file, so that no
// .env of the working directory takes part.
func emptyEnvFile(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "empty.env")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (ts *testServer) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(ts.URL + "readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server not ready; stderr: %s", ts.Stderr)
}

// HTTP requests.

const allFields = `{ publicMessage { text } privateMessage { text } scopedMessage { text } }`

const (
	challengeToken  = `Bearer error="invalid_token"`
	challengeHeader = `Bearer error="invalid_request"`
	publicQuery     = `{ publicMessage { text } }`
)

// response is an HTTP response read whole.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// do sends one request; header values of "" are left out.
func do(t *testing.T, method, url string, body string, header map[string]string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// graphQL posts a query with an optional Authorization header value.
func (ts *testServer) graphQL(t *testing.T, query, authorization string) response {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	return do(t, http.MethodPost, ts.URL+"graphql", string(body), map[string]string{"Authorization": authorization})
}

func bearer(tok string) string { return "Bearer " + tok }

// rawRequest writes req to the server byte for byte (for what net/http's
// client refuses to send) and returns the status code.
func rawRequest(t *testing.T, ts *testServer, req string) int {
	t.Helper()
	u, _ := url.Parse(ts.URL)
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Logf("write: %v (the server may answer before reading everything)", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func rawPost(host, headers, body string) string {
	return "POST /graphql HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\nConnection: close\r\n" +
		headers + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body
}

// postRaw posts body as is, with an optional Authorization header.
func postRaw(t *testing.T, ts *testServer, body, authorization string) response {
	t.Helper()
	return do(t, http.MethodPost, ts.URL+"graphql", body, map[string]string{"Authorization": authorization})
}

// sendMessage calls the mutation with a token that may.
func sendMessage(t *testing.T, ts *testServer, text string) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": `mutation($t: String!) { sendMessage(text: $t) { id text author sentAt } }`, "variables": map[string]any{"t": text}})
	r := do(t, http.MethodPost, ts.URL+"graphql", string(body), map[string]string{"Authorization": bearer(ts.Issuer.Token(t, tokenScope("write:messages")...))})
	wantStatus(t, r, http.StatusOK)
	return r.json(t)
}

func tokenScope(scopes ...string) []authtest.Option {
	return []authtest.Option{authtest.Scope(scopes...)}
}

// Assertions on responses.

// statusRequestError is the status of a GraphQL request error (a document
// that does not parse or validate, or is over a limit) for the tests'
// requests, which send no Accept header and so get application/json:
// GraphQL over HTTP answers every well-formed request 200 in that media
// type, the refusal being in the body (errors, no data).
// TestGraphQLOverHTTPStatus covers application/graphql-response+json.
const statusRequestError = http.StatusOK

func wantStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("Status = %d; want %d\nbody: %s", r.Status, want, r.Body)
	}
}

// wantFieldErrors checks that the errors are exactly one per named field,
// with its path and extensions.code.
func wantFieldErrors(t *testing.T, body map[string]any, want map[string]string) {
	t.Helper()
	errs, _ := body["errors"].([]any)
	got := map[string]string{}
	for _, e := range errs {
		e := e.(map[string]any)
		path, _ := e["path"].([]any)
		ext, _ := e["extensions"].(map[string]any)
		if len(path) != 1 {
			t.Errorf("error %v: path %v does not name one field", e, path)
			continue
		}
		if msg, _ := e["message"].(string); msg == "" {
			t.Errorf("error %v has no message", e)
		}
		got[path[0].(string)] = ext["code"].(string)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("field errors (-want +got):\n%s", diff)
	}
}

// wantRefusal checks a whole-request refusal: status, the exact body shape
// {"errors":[{"message","extensions":{"code","reason"}}]} with no data, and
// the WWW-Authenticate challenge ("" means none expected).
func wantRefusal(t *testing.T, r response, status int, code, reason, challenge string) {
	t.Helper()
	wantStatus(t, r, status)
	var body struct {
		Data   *json.RawMessage `json:"data"`
		Errors []struct {
			Message    string         `json:"message"`
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("body: %v\n%s", err, r.Body)
	}
	if strings.Contains(string(r.Body), `"data"`) {
		t.Errorf("refusal carries data: %s", r.Body)
	}
	if len(body.Errors) != 1 || body.Errors[0].Message == "" {
		t.Fatalf("errors = %+v; want one with a message", body.Errors)
	}
	want := map[string]any{"code": code, "reason": reason}
	if diff := cmp.Diff(want, body.Errors[0].Extensions); diff != "" {
		t.Errorf("extensions (-want +got):\n%s", diff)
	}
	if got := r.Header.Get("WWW-Authenticate"); got != challenge {
		t.Errorf("WWW-Authenticate = %q; want %q", got, challenge)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
}

// wantGraphQLError checks a request refused as a whole with one of codes
// (none of the data it asked for).
func wantGraphQLError(t *testing.T, r response, status int, codes ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("Status = %d; want %d\nbody: %.500s", r.Status, status, r.Body)
	}
	var body struct {
		Data   map[string]any `json:"data"`
		Errors []struct {
			Message    string         `json:"message"`
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("body: %v\n%.500s", err, r.Body)
	}
	if len(body.Data) != 0 {
		t.Errorf("refused operation returned data: %.300s", r.Body)
	}
	if len(body.Errors) == 0 {
		t.Fatalf("no errors: %.300s", r.Body)
	}
	got, _ := body.Errors[0].Extensions["code"].(string)
	for _, c := range codes {
		if got == c {
			return
		}
	}
	t.Errorf("extensions.code = %q (%s); want one of %v", got, body.Errors[0].Message, codes)
}

// checkREST checks status, JSON content type and body; a "description" is
// required on failures but its wording is free.
func checkREST(t *testing.T, r response, status int, want map[string]string) {
	t.Helper()
	wantStatus(t, r, status)
	if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	got := map[string]string{}
	for k, v := range r.json(t) {
		s, ok := v.(string)
		if !ok {
			t.Errorf("%s = %v; want a string", k, v)
		}
		got[k] = s
	}
	if status >= 400 {
		if got["description"] == "" {
			t.Errorf("failure without description: %s", r.Body)
		}
		delete(got, "description")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

// A graphql-transport-ws / graphql-ws client.

// wsClient speaks graphql-transport-ws (or, with legacy, graphql-ws) to the
// real server, as Apollo's links do.
type wsClient struct {
	conn   *websocket.Conn
	legacy bool
	msgs   chan wsMessage // closed after err is set
	err    error          // why reading stopped
	pings  chan struct{}  // a keep-alive arrived
}

// errNoMessage means nothing arrived within the timeout; the connection is
// still open (cancelling a read would close it, so a goroutine reads).
var errNoMessage = errors.New("no message within the timeout")

type wsMessage struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// dialGraphQL opens a WebSocket to the /graphql of the server at baseURL
// (with a trailing slash) on graphql-transport-ws, or graphql-ws when
// legacy; header may carry Origin or Authorization.
func dialGraphQL(baseURL string, legacy bool, header http.Header) (*websocket.Conn, *http.Response, error) {
	proto := "graphql-transport-ws"
	if legacy {
		proto = "graphql-ws"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(baseURL, "http")+"graphql",
		&websocket.DialOptions{Subprotocols: []string{proto}, HTTPHeader: header})
}

// dialWS opens a connection; header may carry Origin.
func dialWS(t *testing.T, ts *testServer, legacy bool, header http.Header) (*wsClient, *http.Response, error) {
	t.Helper()
	conn, resp, err := dialGraphQL(ts.URL, legacy, header)
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { conn.CloseNow() })
	conn.SetReadLimit(1 << 20)
	c := &wsClient{conn: conn, legacy: legacy, msgs: make(chan wsMessage, 64), pings: make(chan struct{}, 64)}
	go c.read()
	return c, resp, nil
}

func (c *wsClient) read() {
	defer close(c.msgs)
	for {
		_, b, err := c.conn.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		var m wsMessage
		if err := json.Unmarshal(b, &m); err != nil {
			c.err = fmt.Errorf("ws message %s: %w", b, err)
			return
		}
		switch m.Type {
		case "ping":
			b, _ := json.Marshal(wsMessage{Type: "pong"})
			_ = c.conn.Write(context.Background(), websocket.MessageText, b)
			fallthrough
		case "ka": // the server's keep-alives, on either protocol
			select {
			case c.pings <- struct{}{}:
			default:
			}
			continue
		case "pong":
			continue
		}
		c.msgs <- m
	}
}

func (c *wsClient) send(t *testing.T, m wsMessage) {
	t.Helper()
	b, _ := json.Marshal(m)
	if err := c.conn.Write(context.Background(), websocket.MessageText, b); err != nil {
		t.Fatalf("ws write: %v", err)
	}
}

// next reads the next message that is not a keep-alive; a closed connection
// is returned as the error.
func (c *wsClient) next(t *testing.T, timeout time.Duration) (wsMessage, error) {
	t.Helper()
	select {
	case m, ok := <-c.msgs:
		if !ok {
			return wsMessage{}, c.err
		}
		return m, nil
	case <-time.After(timeout):
		return wsMessage{}, errNoMessage
	}
}

// init sends connection_init with payload and returns the reply.
func (c *wsClient) init(t *testing.T, payload map[string]any) (wsMessage, error) {
	t.Helper()
	b, _ := json.Marshal(payload)
	c.send(t, wsMessage{Type: "connection_init", Payload: b})
	return c.next(t, 5*time.Second)
}

// subscribe starts an operation with id.
func (c *wsClient) subscribe(t *testing.T, id, query string) {
	t.Helper()
	typ := "subscribe"
	if c.legacy {
		typ = "start"
	}
	b, _ := json.Marshal(map[string]string{"query": query})
	c.send(t, wsMessage{Type: typ, ID: id, Payload: b})
}

// closeStatus returns the close code of err, or -1.
func closeStatus(err error) int {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return int(ce.Code)
	}
	return -1
}

// fieldCodes returns, for each field of a result, the extensions.code of
// its error, or "-" when it has none.
func fieldCodes(t *testing.T, payload []byte) map[string]string {
	t.Helper()
	var res struct {
		Data   map[string]json.RawMessage `json:"data"`
		Errors []struct {
			Path       []any          `json:"path"`
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(payload, &res); err != nil {
		t.Fatalf("result %s: %v", payload, err)
	}
	codes := map[string]string{}
	for f := range res.Data {
		codes[f] = "-"
	}
	for _, e := range res.Errors {
		if len(e.Path) == 1 {
			codes[fmt.Sprint(e.Path[0])], _ = e.Extensions["code"].(string)
		}
	}
	return codes
}

// wantOperationError checks that an operation failed with want in its
// errors: either as an "error" message, or, when a directive refused the
// field, as a result whose errors name it (with data null), the way an
// HTTP response reports a guarded field.
func wantOperationError(t *testing.T, m wsMessage, err error, want string) {
	t.Helper()
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	switch m.Type {
	case "error", "next", "data":
	default:
		t.Fatalf("got %s; want an error", m.Type)
	}
	if !strings.Contains(string(m.Payload), want) || (m.Type != "error" && !strings.Contains(string(m.Payload), `"errors"`)) {
		t.Fatalf("got %s %s; want an error with %s", m.Type, m.Payload, want)
	}
}

// subscriber is a graphql-transport-ws (or graphql-ws) client with a
// messageSent subscription (id "s") on one instance, named for messages.
type subscriber struct {
	*wsClient
	name string
}

// subscribe connects to ts with a token granting read:messages and
// starts a messageSent subscription; waitLive tells when it is live.
func subscribe(t *testing.T, ts *testServer, name string, legacy bool) subscriber {
	t.Helper()
	c, _, err := dialWS(t, ts, legacy, nil)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if ack, err := c.init(t, map[string]any{"authorization": bearer(ts.Issuer.Token(t, authtest.Scope("read:messages")))}); err != nil || ack.Type != "connection_ack" {
		t.Fatalf("%s: init: %+v %v", name, ack, err)
	}
	c.subscribe(t, "s", subscriptionQuery)
	return subscriber{c, name}
}

// sent is one messageSent event as a subscriber received it.
type sent struct{ ID, Text string }

// receive reads n messageSent events, failing on anything else.
func (s subscriber) receive(t *testing.T, n int) []sent {
	t.Helper()
	var out []sent
	for len(out) < n {
		m, err := s.next(t, 10*time.Second)
		if err != nil {
			t.Fatalf("%s: after %d of %d messages: %v", s.name, len(out), n, err)
		}
		var p struct {
			Data struct{ MessageSent sent }
		}
		if (m.Type != "next" && m.Type != "data") || json.Unmarshal(m.Payload, &p) != nil || p.Data.MessageSent.ID == "" {
			t.Fatalf("%s: got %s %s; want a messageSent event", s.name, m.Type, m.Payload)
		}
		out = append(out, p.Data.MessageSent)
	}
	return out
}

// waitLive returns once every subscriber's subscription is live. A
// subscription starts asynchronously after its subscribe message, and a
// message sent before it starts is not delivered to it; so waitLive sends
// probe messages through ts until each subscriber has received one, then
// reads each up to the last probe, so that its next event is the next
// message the test sends. No sleeping: a loaded machine only takes more
// probes.
func waitLive(t *testing.T, ts *testServer, subs ...subscriber) {
	t.Helper()
	pending := slices.Clone(subs)
	// got is the payload each subscriber received last: a subscriber that
	// went live at an early probe has the later ones still to read.
	got := map[*wsClient]string{}
	last := ""
	deadline := time.Now().Add(15 * time.Second)
	for n := 1; len(pending) > 0; n++ {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d subscriptions received none of %d probe messages", len(pending), len(subs), n-1)
		}
		last = fmt.Sprintf(`"probe %d"`, n)
		sendMessage(t, ts, strings.Trim(last, `"`))
		pending = slices.DeleteFunc(pending, func(s subscriber) bool {
			m, err := s.next(t, 300*time.Millisecond)
			if err != nil {
				return false
			}
			got[s.wsClient] = string(m.Payload)
			return true
		})
	}
	for _, s := range subs {
		for !strings.Contains(got[s.wsClient], last) {
			m, err := s.next(t, 10*time.Second)
			if err != nil {
				t.Fatalf("%s: waiting for %s: %v", s.name, last, err)
			}
			if !strings.Contains(string(m.Payload), `"probe `) {
				t.Fatalf("%s: got %s %s while waiting for probes", s.name, m.Type, m.Payload)
			}
			got[s.wsClient] = string(m.Payload)
		}
	}
}

// goCommand runs the go command with args in the module's root and
// returns its output, failing tb with that output if it fails.
func goCommand(tb testing.TB, args ...string) []byte {
	tb.Helper()
	gocmd, err := exec.LookPath("go")
	if err != nil {
		tb.Fatalf("the go command is needed here: %v", err)
	}
	out, err := exec.Command(gocmd, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}
