package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgql/server/auth/authtest"
)

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
	base := map[string]string{
		"HOST":             "127.0.0.1",
		"PORT":             "0",
		"AUTH0_ISSUER_URL": is.URL,
		"AUTH0_AUDIENCE":   is.Audience,
	}
	for k, v := range env {
		base[k] = v
	}
	ts := runServer(t, base)
	ts.Issuer = is
	if base["AUTH0_ISSUER_URL"] == is.URL {
		ts.waitReady(t)
	}
	return ts
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
	args := []string{"server", "-env-file", filepath.Join(t.TempDir(), "absent.env")}
	go func() { done <- run(ctx, args, mapEnv(env), ts.Stdout, ts.Stderr) }()
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

func mapEnv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
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
