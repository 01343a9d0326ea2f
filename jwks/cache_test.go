package jwks

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/authgql/server/auth/authtest"
)

// These tests are package-internal so that they can call refreshInterval,
// parse and fetch directly; everything else goes through the exported API
// against a real HTTP issuer (authtest) on 127.0.0.1.

// startCache runs c until the test ends, and fails the test if Run does not
// return promptly once its context is cancelled (a leaked goroutine).
func startCache(t *testing.T, c *Cache) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return after its context was cancelled")
		}
	})
}

func newCache(t testing.TB, opts Options) *Cache {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// waitFor polls cond every 5 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newIssuer starts a fake issuer that signs with ES256: its keys take
// microseconds to generate, RSA ones up to a second under -race, and the
// cache treats both alike.
func newIssuer(t *testing.T) *authtest.Issuer {
	t.Helper()
	return authtest.NewServer(t, authtest.IssuerOptions{Algorithm: jwa.ES256})
}

var es256 = []jwa.SignatureAlgorithm{jwa.ES256}

// readyCache returns a running cache that has loaded is's keys and finished
// its first fetch. Options.Algorithms defaults to ES256, newIssuer's.
func readyCache(t *testing.T, is *authtest.Issuer, opts Options) *Cache {
	t.Helper()
	opts.URL = is.JWKSURL()
	if opts.Algorithms == nil {
		opts.Algorithms = es256
	}
	c := newCache(t, opts)
	startCache(t, c)
	waitFor(t, 5*time.Second, "the first fetch", func() bool { return c.Ready() && idle(c) })
	return c
}

// idle reports whether no fetch is under way: Ready turns true inside the
// fetch, a moment before the fetch is over, and a test that calls fetch in
// that moment would join it instead of starting its own.
func idle(c *Cache) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inflight == nil
}

// keysOf returns the kids the cache currently holds, sorted.
func keysOf(c *Cache) []string {
	m := c.keys.Load()
	if m == nil {
		return nil
	}
	var kids []string
	for kid := range *m {
		kids = append(kids, kid)
	}
	slices.Sort(kids)
	return kids
}

func TestNewRefusesBadOptions(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts Options
	}{
		{"no URL", Options{}},
		{"max below min", Options{URL: "http://127.0.0.1/jwks", MinRefresh: time.Hour, MaxRefresh: time.Minute}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.opts); err == nil {
				t.Errorf("New(%+v) = nil error; want one", tt.opts)
			}
		})
	}
}

func TestRefreshInterval(t *testing.T) {
	c := newCache(t, Options{URL: "http://127.0.0.1/jwks", MinRefresh: time.Minute, MaxRefresh: time.Hour})
	for _, tt := range []struct {
		cacheControl string
		want         time.Duration
	}{
		{"", time.Hour}, // no max-age: the upper bound
		{"max-age=120", 2 * time.Minute},
		{"public, max-age=600", 10 * time.Minute},
		{"MAX-AGE=600", 10 * time.Minute},
		{`max-age="300"`, 5 * time.Minute},
		{"max-age=10", time.Minute},                 // clamped up to MinRefresh
		{"max-age=0", time.Minute},                  // never a refetch loop
		{"max-age=86400", time.Hour},                // clamped down to MaxRefresh
		{"max-age=99999999999999999999", time.Hour}, // overflows int64: ignored
		{"max-age=-5", time.Hour},                   // negative: ignored
		{"max-age=abc", time.Hour},                  // garbage: ignored
		{"max-age", time.Hour},                      // no value
		{"s-maxage=120", time.Hour},                 // not ours
		{"no-cache", time.Minute},
		{"no-store, max-age=600", time.Minute},
		{"max-age=600, no-store", time.Minute},
	} {
		if got := c.refreshInterval(tt.cacheControl); got != tt.want {
			t.Errorf("refreshInterval(%q) = %s; want %s", tt.cacheControl, got, tt.want)
		}
	}

	// Bounds that are not whole seconds are kept exactly.
	for _, tt := range []struct {
		min, max     time.Duration
		cacheControl string
		want         time.Duration
	}{
		{100 * time.Millisecond, 500 * time.Millisecond, "max-age=86400", 500 * time.Millisecond},
		{100 * time.Millisecond, 1500 * time.Millisecond, "max-age=86400", 1500 * time.Millisecond},
		{100 * time.Millisecond, 1500 * time.Millisecond, "max-age=1", time.Second},
		{100 * time.Millisecond, 1500 * time.Millisecond, "max-age=99999999999999999", 1500 * time.Millisecond},
	} {
		c := newCache(t, Options{URL: "http://127.0.0.1/jwks", MinRefresh: tt.min, MaxRefresh: tt.max})
		if got := c.refreshInterval(tt.cacheControl); got != tt.want {
			t.Errorf("[%s, %s]: refreshInterval(%q) = %s; want %s", tt.min, tt.max, tt.cacheControl, got, tt.want)
		}
	}
}

func TestFirstFetch(t *testing.T) {
	is := newIssuer(t)
	c := newCache(t, Options{URL: is.JWKSURL(), Algorithms: es256})
	if c.Ready() {
		t.Fatal("Ready before Run")
	}
	if _, err := c.Lookup(context.Background(), is.SigningKey().KeyID()); !errors.Is(err, ErrNotReady) {
		t.Fatalf("Lookup before the first fetch: err = %v; want ErrNotReady", err)
	}
	if n := is.JWKSRequests(); n != 0 {
		t.Fatalf("a Lookup before Run fetched %d times; want 0", n)
	}
	startCache(t, c)
	waitFor(t, 5*time.Second, "Ready", c.Ready)

	key, err := c.Lookup(context.Background(), is.SigningKey().KeyID())
	if err != nil {
		t.Fatalf("Lookup(signing kid): %v", err)
	}
	if _, ok := key.Public.(*ecdsa.PublicKey); !ok || key.ID != is.SigningKey().KeyID() || key.Algorithm != jwa.ES256 {
		t.Errorf("Lookup returned %+v (%T); want the issuer's public EC key, parsed, with its alg", key, key.Public)
	}
	// Known kids never cost a request.
	for range 100 {
		if _, err := c.Lookup(context.Background(), is.SigningKey().KeyID()); err != nil {
			t.Fatal(err)
		}
	}
	if n := is.JWKSRequests(); n != 1 {
		t.Errorf("JWKS requests = %d; want 1", n)
	}
}

// TestMaxAgeLive: the background loop refetches at the response's max-age,
// clamped to [MinRefresh, MaxRefresh].
func TestMaxAgeLive(t *testing.T) {
	const window = 1500 * time.Millisecond
	for _, tt := range []struct {
		name         string
		cacheControl string
		opts         Options
		lo, hi       int64 // fetches in window
	}{
		// max-age=1 inside [100ms, 1h]: fetches at 0 s and 1 s (MinRefresh
		// would make it ~15, MaxRefresh 1).
		{"max-age honoured", "max-age=1", Options{MinRefresh: 100 * time.Millisecond, MaxRefresh: time.Hour}, 2, 3},
		// max-age=0 would be a busy loop; MinRefresh 300ms holds it to ~6.
		{"clamped to MinRefresh", "max-age=0", Options{MinRefresh: 300 * time.Millisecond, MaxRefresh: time.Hour}, 3, 7},
		// A day asked for; MaxRefresh 500ms wins: fetches at 0, 0.5, 1, 1.5 s.
		{"clamped to MaxRefresh", "max-age=86400", Options{MinRefresh: 100 * time.Millisecond, MaxRefresh: 500 * time.Millisecond}, 2, 5},
		// No Cache-Control at all: MaxRefresh.
		{"no header", "", Options{MinRefresh: 100 * time.Millisecond, MaxRefresh: 500 * time.Millisecond}, 2, 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			is := newIssuer(t)
			is.SetCacheControl(tt.cacheControl)
			readyCache(t, is, tt.opts)
			time.Sleep(window)
			if n := is.JWKSRequests(); n < tt.lo || n > tt.hi {
				t.Errorf("JWKS requests in %s = %d; want %d to %d", window, n, tt.lo, tt.hi)
			}
		})
	}
}

func TestUnknownKidPicksUpRotation(t *testing.T) {
	is := newIssuer(t)
	c := readyCache(t, is, Options{MissInterval: time.Hour})
	old := is.SigningKey().KeyID()
	next, err := is.Rotate(false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Lookup(context.Background(), next.KeyID()); err != nil {
		t.Fatalf("Lookup(rotated kid): %v", err)
	}
	if n := is.JWKSRequests(); n != 2 {
		t.Errorf("JWKS requests = %d; want 2 (start + one refetch)", n)
	}
	// The issuer dropped the old key, so the cache did too.
	if _, err := c.Lookup(context.Background(), old); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Lookup(retired kid) err = %v; want ErrKeyNotFound", err)
	}
	// MissInterval is an hour: that second miss did not fetch.
	if n := is.JWKSRequests(); n != 2 {
		t.Errorf("JWKS requests after a rate-limited miss = %d; want 2", n)
	}
}

// TestConcurrentMissesShareOneFetch: 50 requests at once carrying a kid the
// cache does not know yet (the issuer has just rotated) cost the issuer one
// request, and every one of them gets the new key.
func TestConcurrentMissesShareOneFetch(t *testing.T) {
	is := newIssuer(t)
	c := readyCache(t, is, Options{MissInterval: time.Hour})
	next, err := is.Rotate(true)
	if err != nil {
		t.Fatal(err)
	}
	is.SetDelay(100 * time.Millisecond) // all 50 arrive while the fetch is under way

	start := make(chan struct{})
	errs := make(chan error, 50)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			<-start
			_, err := c.Lookup(context.Background(), next.KeyID())
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			failed++
			t.Logf("Lookup: %v", err)
		}
	}
	if failed > 0 {
		t.Errorf("%d of 50 concurrent lookups of the rotated kid failed; want 0", failed)
	}
	if n := is.JWKSRequests(); n != 2 {
		t.Errorf("JWKS requests = %d; want 2 (start + one shared refetch)", n)
	}
}

// TestRotationRace repeats a small version of the above many times without
// the delay, so that the lookups race the start of the refetch itself: each
// round, every lookup of the new kid must succeed, for exactly one fetch.
func TestRotationRace(t *testing.T) {
	is := newIssuer(t)
	c := readyCache(t, is, Options{MissInterval: time.Hour})
	const rounds, concurrent = 100, 8
	var failed atomic.Int64
	for round := range rounds {
		next, err := is.Rotate(false)
		if err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		c.lastMiss = time.Time{} // as if MissInterval had passed
		c.mu.Unlock()
		before := is.JWKSRequests()
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range concurrent {
			wg.Go(func() {
				<-start
				if _, err := c.Lookup(context.Background(), next.KeyID()); err != nil {
					failed.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := is.JWKSRequests() - before; n != 1 {
			t.Fatalf("round %d: %d fetches; want 1", round, n)
		}
	}
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d lookups of a freshly rotated kid failed; want 0", n, rounds*concurrent)
	}
}

// TestMissFloodIsRateLimited: a flood of tokens with random kids costs at
// most one fetch per MissInterval.
func TestMissFloodIsRateLimited(t *testing.T) {
	is := newIssuer(t)
	const interval, flood = 200 * time.Millisecond, time.Second
	c := readyCache(t, is, Options{MissInterval: interval})
	before := is.JWKSRequests()

	var lookups atomic.Int64
	deadline := time.Now().Add(flood)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				_, err := c.Lookup(context.Background(), fmt.Sprintf("random-%d-%d", g, i))
				if !errors.Is(err, ErrKeyNotFound) {
					t.Errorf("Lookup(random kid) err = %v; want ErrKeyNotFound", err)
					return
				}
				lookups.Add(1)
			}
		})
	}
	wg.Wait()
	fetches := is.JWKSRequests() - before
	limit := int64(flood/interval) + 2
	if fetches < 1 || fetches > limit {
		t.Errorf("%d lookups of random kids in %s caused %d fetches; want 1 to %d", lookups.Load(), flood, fetches, limit)
	}
	if lookups.Load() < 100 {
		t.Errorf("only %d lookups in %s: misses are blocking instead of failing fast", lookups.Load(), flood)
	}
}

// switchable serves the issuer's JWKS, or a misbehaviour chosen by the test.
type switchable struct {
	is   *authtest.Issuer
	mode atomic.Value // func(http.ResponseWriter, *http.Request) or nil
	hits atomic.Int64
}

func newSwitchable(t *testing.T, is *authtest.Issuer) (*switchable, string) {
	s := &switchable{is: is}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if f, _ := s.mode.Load().(func(http.ResponseWriter, *http.Request)); f != nil {
			f(w, r)
			return
		}
		is.ServeJWKS(w, r)
	}))
	t.Cleanup(srv.Close)
	return s, srv.URL + "/jwks.json"
}

func (s *switchable) set(f func(http.ResponseWriter, *http.Request)) { s.mode.Store(f) }

// TestFailedFetchKeepsKeys: every way a refetch can fail reports an error
// and leaves the last good keys in place.
func TestFailedFetchKeepsKeys(t *testing.T) {
	is := newIssuer(t)
	s, url := newSwitchable(t, is)
	const maxBytes = 8 << 10
	// FetchTimeout is generous so that only the slow row reaches it, even
	// on a loaded machine under -race.
	c := newCache(t, Options{URL: url, Algorithms: es256, FetchTimeout: time.Second, MaxBytes: maxBytes})
	startCache(t, c)
	waitFor(t, 5*time.Second, "Ready", func() bool { return c.Ready() && idle(c) })
	good := is.SigningKey().KeyID()
	want := keysOf(c)

	status := func(code int) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "nope", code) }
	}
	body := func(b string) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(b)) }
	}
	oversized := `{"keys":[],"pad":"` + strings.Repeat("x", maxBytes) + `"}`
	for _, tt := range []struct {
		name    string
		mode    func(http.ResponseWriter, *http.Request)
		errPart string // in the error, so that operators learn why
	}{
		{"HTTP 500", status(http.StatusInternalServerError), "500"},
		{"HTTP 503", status(http.StatusServiceUnavailable), "503"},
		{"HTTP 404", status(http.StatusNotFound), "404"},
		{"garbage body", body("<html>login</html>"), "not a JWK Set"},
		{"truncated JSON", body(`{"keys":[{"kty":"RSA"`), "not a JWK Set"},
		{"JSON array", body(`[]`), "not a JWK Set"},
		{"empty set", body(`{"keys":[]}`), "no usable key"},
		{"no keys member", body(`{}`), "no usable key"},
		{"only unusable keys", body(`{"keys":[{"kty":"oct","kid":"x","k":"c2VjcmV0"}]}`), "no usable key"},
		{"oversized body", body(oversized), "larger than"},
		{"slower than FetchTimeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(10 * time.Second):
			case <-r.Context().Done():
			}
		}, "deadline exceeded"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s.set(tt.mode)
			defer s.set(nil)
			start := time.Now()
			_, err := c.fetch(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.errPart) {
				t.Errorf("fetch err = %v; want an error mentioning %q", err, tt.errPart)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("fetch took %s; FetchTimeout is 1s", took)
			}
			if !c.Ready() {
				t.Fatal("no longer Ready after a failed fetch")
			}
			if diff := cmp.Diff(want, keysOf(c)); diff != "" {
				t.Errorf("keys changed (-want +got):\n%s", diff)
			}
			// An unknown kid during the outage: not found, the old key still works.
			if _, err := c.Lookup(context.Background(), "unknown-"+tt.name); !errors.Is(err, ErrKeyNotFound) {
				t.Errorf("Lookup(unknown) err = %v; want ErrKeyNotFound", err)
			}
			if _, err := c.Lookup(context.Background(), good); err != nil {
				t.Errorf("Lookup(good kid) during the outage: %v", err)
			}
		})
	}

	t.Run("a body of exactly MaxBytes is accepted", func(t *testing.T) {
		set, err := is.PublicJWKS()
		if err != nil {
			t.Fatal(err)
		}
		padded := append(set, []byte(strings.Repeat(" ", maxBytes-len(set)))...)
		s.set(body(string(padded)))
		defer s.set(nil)
		if _, err := c.fetch(context.Background()); err != nil {
			t.Errorf("fetch of a %d-byte body with MaxBytes %d: %v", len(padded), maxBytes, err)
		}
	})
}

// TestIssuerDownAtStart: not ready, retries with growing delays, ready as
// soon as the issuer answers.
func TestIssuerDownAtStart(t *testing.T) {
	is := newIssuer(t)
	is.SetDown(true)
	var mu sync.Mutex
	var at []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		is.ServeJWKS(w, r)
	}))
	t.Cleanup(srv.Close)
	const retryMin, retryMax = 10 * time.Millisecond, 80 * time.Millisecond
	c := newCache(t, Options{URL: srv.URL, Algorithms: es256, RetryMin: retryMin, RetryMax: retryMax})
	startCache(t, c)

	time.Sleep(700 * time.Millisecond)
	if c.Ready() {
		t.Fatal("Ready while the issuer is down")
	}
	if _, err := c.Lookup(context.Background(), is.SigningKey().KeyID()); !errors.Is(err, ErrNotReady) {
		t.Errorf("Lookup while not ready: err = %v; want ErrNotReady", err)
	}
	if ra := c.RetryAfter(); ra < time.Second {
		t.Errorf("RetryAfter = %s; want at least 1s", ra)
	}
	mu.Lock()
	attempts := slices.Clone(at)
	mu.Unlock()
	// Delays: jitter(d) is in [d/2, d), d doubling from 10ms to 80ms. In
	// 700ms that is at least a handful of attempts and, thanks to the
	// backoff, far fewer than 700ms/retryMin.
	if len(attempts) < 4 || len(attempts) > 25 {
		t.Errorf("%d attempts in 700ms; want 4 to 25", len(attempts))
	}
	// Once the delay has reached its cap, attempts are at least RetryMax/2 apart.
	for i := 6; i < len(attempts); i++ {
		if gap := attempts[i].Sub(attempts[i-1]); gap < retryMax/2-5*time.Millisecond {
			t.Errorf("attempt %d came %s after the previous; want at least %s (backoff)", i, gap, retryMax/2)
		}
	}

	is.SetDown(false)
	waitFor(t, 2*time.Second, "Ready after the issuer came back", c.Ready)
	if _, err := c.Lookup(context.Background(), is.SigningKey().KeyID()); err != nil {
		t.Errorf("Lookup after recovery: %v", err)
	}
}

// TestRedirectNotFollowed: whoever controls a redirect would choose our
// keys, so a 3xx is a failed fetch and its target gets no request.
func TestRedirectNotFollowed(t *testing.T) {
	is := newIssuer(t) // serves a perfectly good JWKS
	redirector := httptest.NewServer(http.RedirectHandler(is.JWKSURL(), http.StatusFound))
	t.Cleanup(redirector.Close)
	c := newCache(t, Options{URL: redirector.URL + "/jwks.json", Algorithms: es256})
	_, err := c.fetch(context.Background())
	if err == nil || !strings.Contains(err.Error(), "302") {
		t.Errorf("fetch through a redirect: err = %v; want a 302 failure", err)
	}
	if c.Ready() {
		t.Error("Ready with keys from a redirect target")
	}
	if n := is.JWKSRequests(); n != 0 {
		t.Errorf("the redirect target got %d requests; want 0", n)
	}
}

// TestRunStops: Run returns once its context ends, whether it is waiting
// for the next refresh or for a fetch.
func TestRunStops(t *testing.T) {
	for _, tt := range []struct {
		name  string
		delay time.Duration
	}{
		{"between refreshes", 0},
		{"during a slow fetch", time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			is := newIssuer(t)
			is.SetDelay(tt.delay)
			c := newCache(t, Options{URL: is.JWKSURL(), Algorithms: es256, FetchTimeout: 5 * time.Second})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				c.Run(ctx)
			}()
			waitFor(t, 5*time.Second, "the first request", func() bool { return is.JWKSRequests() > 0 })
			if tt.delay == 0 {
				waitFor(t, 5*time.Second, "Ready", c.Ready)
			}
			cancel()
			select {
			case <-done:
			case <-time.After(500 * time.Millisecond):
				t.Fatal("Run still running 500ms after its context was cancelled")
			}
		})
	}
}

// jwkJSON is key's public JWK with fields set (nil value: removed).
func jwkJSON(t *testing.T, key jwk.Key, fields map[string]any) json.RawMessage {
	t.Helper()
	pub, err := key.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return withFields(t, pub, fields)
}

func withFields(t *testing.T, key jwk.Key, fields map[string]any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(key)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range fields {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jwkSet(t *testing.T, keys ...json.RawMessage) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUnusableKeysSkipped: a set mixing usable and unusable keys loads the
// usable ones only.
func TestUnusableKeysSkipped(t *testing.T) {
	rsaKey := authtest.Key(t, jwa.RS256)
	ecKey := authtest.Key(t, jwa.ES256)
	edKey := authtest.Key(t, jwa.EdDSA)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weakKey, err := jwk.FromRaw(&weak.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	body := jwkSet(t,
		jwkJSON(t, rsaKey, map[string]any{"kid": "good"}),
		jwkJSON(t, rsaKey, map[string]any{"kid": "good-no-alg", "alg": nil}),
		jwkJSON(t, rsaKey, map[string]any{"kid": "good-no-use", "use": nil}),
		jwkJSON(t, rsaKey, map[string]any{"kid": "good-ops", "key_ops": []string{"verify"}}),
		withFields(t, rsaKey, map[string]any{"kid": "private-leaked"}), // public half only
		json.RawMessage(`{"kty":"oct","kid":"hmac","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0","alg":"HS256"}`),
		jwkJSON(t, rsaKey, map[string]any{"kid": "enc", "use": "enc"}),
		jwkJSON(t, rsaKey, map[string]any{"kid": "ops-encrypt", "key_ops": []string{"encrypt"}}),
		jwkJSON(t, rsaKey, map[string]any{"kid": nil}), // only one: two would also be duplicates of ""
		withFields(t, weakKey, map[string]any{"kid": "rsa-1024", "alg": "RS256"}),
		jwkJSON(t, ecKey, map[string]any{"kid": "es256-not-allowed"}),
		jwkJSON(t, edKey, map[string]any{"kid": "eddsa-not-allowed", "alg": nil}),
		jwkJSON(t, rsaKey, map[string]any{"kid": "alg-hs256", "alg": "HS256"}),
		jwkJSON(t, rsaKey, map[string]any{"kid": "alg-none", "alg": "none"}),
		jwkJSON(t, ecKey, map[string]any{"kid": "ec-says-rs256", "alg": "RS256"}),
		jwkJSON(t, rsaKey, map[string]any{"kid": "dup2"}),
		jwkJSON(t, rsaKey, map[string]any{"kid": "dup2"}),
		jwkJSON(t, rsaKey, map[string]any{"kid": "dup3"}),
		jwkJSON(t, rsaKey, map[string]any{"kid": "dup3"}),
		jwkJSON(t, rsaKey, map[string]any{"kid": "dup3"}), // a third must not bring the kid back
		json.RawMessage(`{"kty":"RSA","kid":"broken","n":"AQAB"}`),
		json.RawMessage(`{"kty":"EC","kid":"off-curve","crv":"P-256","x":"AAAA","y":"AAAA"}`),
		json.RawMessage(`"not an object"`),
		json.RawMessage(`null`),
	)
	c := newCache(t, Options{URL: "http://127.0.0.1/jwks"})
	keys, err := c.parse(body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	var got []string
	for kid, k := range keys {
		got = append(got, kid)
		if _, ok := k.Public.(*rsa.PublicKey); !ok {
			t.Errorf("kid %q: kept a %T; want the public RSA key (a private key must never be kept)", kid, k.Public)
		}
		if k.ID != kid {
			t.Errorf("key under %q has kid %q", kid, k.ID)
		}
	}
	slices.Sort(got)
	want := []string{"good", "good-no-alg", "good-no-use", "good-ops", "private-leaked"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("usable kids (-want +got):\n%s", diff)
	}

	t.Run("with ES256 and EdDSA allowed", func(t *testing.T) {
		c := newCache(t, Options{URL: "http://127.0.0.1/jwks", Algorithms: []jwa.SignatureAlgorithm{jwa.RS256, jwa.ES256, jwa.EdDSA}})
		keys, err := c.parse(body)
		if err != nil {
			t.Fatal(err)
		}
		for _, kid := range []string{"es256-not-allowed", "eddsa-not-allowed"} {
			if _, ok := keys[kid]; !ok {
				t.Errorf("kid %q not loaded although its algorithm is allowed", kid)
			}
		}
		if _, ok := keys["ec-says-rs256"]; ok {
			t.Error(`an EC key published with "alg":"RS256" was loaded`)
		}
	})

	t.Run("each skipped key is logged with why", func(t *testing.T) {
		var logs bytes.Buffer
		c := newCache(t, Options{URL: "http://127.0.0.1/jwks", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if _, err := c.parse(body); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"hmac", `use \"enc\"`, "rsa-1024", "below 2048", "alg-hs256", "duplicate kid dup2", "duplicate kid dup3", "no kid"} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("no log line mentions %s:\n%s", want, logs.String())
			}
		}
		if n := strings.Count(logs.String(), "jwks: skipping key"); n < 15 {
			t.Errorf("%d skipped keys logged; the set has at least 15 unusable ones", n)
		}
	})

	t.Run("an empty kid is no kid", func(t *testing.T) {
		keys, err := c.parse(jwkSet(t, jwkJSON(t, rsaKey, map[string]any{"kid": "good"}), jwkJSON(t, rsaKey, map[string]any{"kid": ""})))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := keys[""]; ok || len(keys) != 1 {
			t.Errorf("kids %v; want only good", slices.Collect(maps.Keys(keys)))
		}
	})

	t.Run("live: usable keys load, the rest is skipped", func(t *testing.T) {
		is := newIssuer(t)
		is.SetBody(body)
		c := readyCache(t, is, Options{MissInterval: time.Hour, Algorithms: []jwa.SignatureAlgorithm{jwa.RS256}})
		if diff := cmp.Diff(want, keysOf(c)); diff != "" {
			t.Errorf("usable kids (-want +got):\n%s", diff)
		}
	})
}

// TestZeroUsableKeysRefused: a set that holds keys, none usable, never
// replaces good keys.
func TestZeroUsableKeysRefused(t *testing.T) {
	is := newIssuer(t)
	c := readyCache(t, is, Options{})
	want := keysOf(c)
	is.SetBody(jwkSet(t,
		json.RawMessage(`{"kty":"oct","kid":"hmac","k":"c2VjcmV0"}`),
		jwkJSON(t, is.SigningKey(), map[string]any{"kid": "enc", "use": "enc"}),
	))
	if _, err := c.fetch(context.Background()); err == nil || !strings.Contains(err.Error(), "no usable key among 2") {
		t.Errorf("fetch err = %v; want no usable key among 2", err)
	}
	if diff := cmp.Diff(want, keysOf(c)); diff != "" {
		t.Errorf("keys changed (-want +got):\n%s", diff)
	}
}

func TestFits(t *testing.T) {
	rsaKey, ecKey, edKey := authtest.Key(t, jwa.RS256), authtest.Key(t, jwa.ES256), authtest.Key(t, jwa.EdDSA)
	p384 := authtest.Key(t, jwa.ES384)
	for _, tt := range []struct {
		key  jwk.Key
		alg  jwa.SignatureAlgorithm
		want bool
	}{
		{rsaKey, jwa.RS256, true},
		{rsaKey, jwa.PS256, true},
		{rsaKey, jwa.ES256, false},
		{rsaKey, jwa.EdDSA, false},
		{rsaKey, jwa.HS256, false},
		{rsaKey, jwa.NoSignature, false},
		{ecKey, jwa.ES256, true},
		{ecKey, jwa.ES384, false},
		{ecKey, jwa.RS256, false},
		{p384, jwa.ES384, true},
		{p384, jwa.ES256, false},
		{edKey, jwa.EdDSA, true},
		{edKey, jwa.ES256, false},
	} {
		pub, err := tt.key.PublicKey()
		if err != nil {
			t.Fatal(err)
		}
		var raw any
		if err := pub.Raw(&raw); err != nil {
			t.Fatal(err)
		}
		if got := Fits(raw, tt.alg); got != tt.want {
			t.Errorf("Fits(%s key, %s) = %v; want %v", pub.KeyType(), tt.alg, got, tt.want)
		}
		k := &Key{ID: "k", Public: raw}
		if got := k.Verifies(tt.alg); got != tt.want {
			t.Errorf("Key without alg: Verifies(%s) = %v; want %v", tt.alg, got, tt.want)
		}
		k.Algorithm = jwa.SignatureAlgorithm(tt.key.Algorithm().String())
		if got := k.Verifies(tt.alg); got != (tt.want && k.Algorithm == tt.alg) {
			t.Errorf("Key with alg %s: Verifies(%s) = %v", k.Algorithm, tt.alg, got)
		}
	}
	var private any
	if err := rsaKey.Raw(&private); err != nil {
		t.Fatal(err)
	}
	if Fits(private, jwa.RS256) {
		t.Error("Fits accepts a raw RSA private key; the set holds public keys only")
	}
}
