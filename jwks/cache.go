package jwks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/authgql/server/metrics"
)

// Defaults for the zero values of Options.
const (
	DefaultFetchTimeout = 5 * time.Second
	DefaultMaxBytes     = 1 << 20 // 1 MiB: Auth0 sets are a few KiB
	DefaultMinRefresh   = 5 * time.Minute
	DefaultMaxRefresh   = time.Hour
	DefaultMissInterval = 5 * time.Second
	DefaultRetryMin     = time.Second
	DefaultRetryMax     = time.Minute
)

// DefaultAlgorithm is the one token algorithm allowed when none is
// configured (AUTH0_ALGORITHMS), here and in package auth: Auth0 signs
// access tokens with RS256.
const DefaultAlgorithm = jwa.RS256

var (
	// ErrNotReady is returned by Lookup while no key set has been loaded.
	ErrNotReady = errors.New("jwks: no key set loaded yet")
	// ErrKeyNotFound is returned by Lookup when no usable key has the key ID,
	// even after a refetch (or when a refetch is not allowed yet).
	ErrKeyNotFound = errors.New("jwks: no usable key with that key ID")
)

// Options configures a Cache. Zero values mean the documented defaults.
type Options struct {
	URL        string                   // the JWKS URL; required
	Client     *http.Client             // nil means a client with no redirects to other hosts
	Algorithms []jwa.SignatureAlgorithm // keys whose "alg" is outside this list are skipped; nil means DefaultAlgorithm
	Logger     *slog.Logger             // nil means discard
	Metrics    *metrics.Metrics         // fetch outcomes, key count, last success; nil means none

	FetchTimeout time.Duration // per fetch; 0 means DefaultFetchTimeout
	MaxBytes     int64         // response body cap; 0 means DefaultMaxBytes
	MinRefresh   time.Duration // lower bound on the refresh interval; 0 means DefaultMinRefresh
	MaxRefresh   time.Duration // upper bound, and the interval without max-age; 0 means DefaultMaxRefresh
	MissInterval time.Duration // at most one unknown-kid refetch per interval; 0 means DefaultMissInterval
	RetryMin     time.Duration // first retry delay after a failed fetch; 0 means DefaultRetryMin
	RetryMax     time.Duration // retry delay cap; 0 means DefaultRetryMax

	Now func() time.Time // nil means time.Now
}

// Cache holds the current key set. It is safe for concurrent use.
type Cache struct {
	opts Options

	keys atomic.Pointer[map[string]*Key] // nil until the first good fetch; never modified once stored

	mu        sync.Mutex
	inflight  *fetchCall // the fetch under way, shared by everyone who asks
	lastMiss  time.Time  // when the last unknown-kid refetch started
	nextRetry time.Time  // when the background loop tries again after a failure
}

type fetchCall struct {
	done   chan struct{}
	maxAge time.Duration
	err    error
}

// New returns a Cache; call Run to start fetching.
func New(opts Options) (*Cache, error) {
	if opts.URL == "" {
		return nil, errors.New("jwks: URL is required")
	}
	if opts.Client == nil {
		opts.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			// A JWKS URL is configured exactly; following a redirect would let
			// whoever controls the redirect choose our keys.
			return http.ErrUseLastResponse
		}}
	}
	if len(opts.Algorithms) == 0 {
		opts.Algorithms = []jwa.SignatureAlgorithm{DefaultAlgorithm}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	setDefault(&opts.FetchTimeout, DefaultFetchTimeout)
	setDefault(&opts.MaxBytes, DefaultMaxBytes)
	setDefault(&opts.MinRefresh, DefaultMinRefresh)
	setDefault(&opts.MaxRefresh, DefaultMaxRefresh)
	setDefault(&opts.MissInterval, DefaultMissInterval)
	setDefault(&opts.RetryMin, DefaultRetryMin)
	setDefault(&opts.RetryMax, DefaultRetryMax)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxRefresh < opts.MinRefresh {
		return nil, fmt.Errorf("jwks: MaxRefresh (%s) is below MinRefresh (%s)", opts.MaxRefresh, opts.MinRefresh)
	}
	return &Cache{opts: opts}, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Ready reports whether a key set has been loaded.
func (c *Cache) Ready() bool { return c.keys.Load() != nil }

// Has reports whether the current key set holds a usable key with kid,
// without fetching.
func (c *Cache) Has(kid string) bool { return c.Current(kid) != nil }

// RetryAfter is how long a client should wait before trying again while the
// cache is not ready: the time until the next fetch attempt, at least a second.
func (c *Cache) RetryAfter() time.Duration {
	c.mu.Lock()
	d := c.nextRetry.Sub(c.opts.Now())
	c.mu.Unlock()
	return max(d.Round(time.Second), time.Second)
}

// Run fetches the key set and keeps it fresh until ctx ends. The first fetch
// is retried with exponential backoff; later failures keep the last good keys
// and retry the same way.
func (c *Cache) Run(ctx context.Context) {
	delay := c.opts.RetryMin
	for {
		next, err := c.fetch(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			next = jitter(delay)
			delay = min(delay*2, c.opts.RetryMax)
			c.opts.Logger.Warn("jwks fetch failed", "url", c.opts.URL, "err", err, "retry_in", next.Round(time.Millisecond))
		} else {
			delay = c.opts.RetryMin
		}
		c.mu.Lock()
		c.nextRetry = c.opts.Now().Add(next)
		c.mu.Unlock()

		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// jitter spreads retries of many instances over [d/2, d).
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

// Current returns the key with the given key ID in the current key set,
// without fetching; nil when there is none. Two calls return the same
// *Key for as long as the issuer publishes that key unchanged, across
// reloads of the set; a key replaced under the same kid is a new *Key.
func (c *Cache) Current(kid string) *Key {
	keys := c.keys.Load()
	if keys == nil {
		return nil
	}
	return (*keys)[kid]
}

// Lookup returns the verification key with the given key ID, as parsed when
// the set was loaded (the caller must not modify it). An unknown kid
// triggers a refetch (shared and rate-limited, see the package comment)
// before giving up with ErrKeyNotFound.
func (c *Cache) Lookup(ctx context.Context, kid string) (*Key, error) {
	keys := c.keys.Load()
	if keys == nil {
		return nil, ErrNotReady
	}
	if k, ok := (*keys)[kid]; ok {
		return k, nil
	}
	call := c.missRefetch()
	if call == nil {
		// No refetch allowed now, but one may have finished since keys was
		// read: a request for a freshly rotated kid must not lose that race.
		if k, ok := (*c.keys.Load())[kid]; ok {
			return k, nil
		}
		return nil, ErrKeyNotFound
	}
	if _, err := call.wait(ctx); err != nil {
		return nil, fmt.Errorf("%w (refetch failed: %w)", ErrKeyNotFound, err)
	}
	if k, ok := (*c.keys.Load())[kid]; ok {
		return k, nil
	}
	return nil, ErrKeyNotFound
}

// missRefetch returns the fetch an unknown kid may wait for: the one under
// way (joining it is free), otherwise a new one at most once per
// MissInterval; nil when none is allowed. Deciding and starting happen under
// one lock: when they were apart, lookups arriving together with the first
// one found the interval used up but no fetch to join yet, and failed
// although the refetch was about to load their key.
func (c *Cache) missRefetch() *fetchCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inflight != nil {
		return c.inflight
	}
	now := c.opts.Now()
	if !c.lastMiss.IsZero() && now.Sub(c.lastMiss) < c.opts.MissInterval {
		return nil
	}
	c.lastMiss = now
	return c.startLocked()
}

// fetch loads the key set, joining a fetch already under way. It returns the
// refresh interval the response asked for. The fetch itself is detached from
// ctx so that one impatient caller does not fail it for everyone else; ctx
// only bounds how long this caller waits.
func (c *Cache) fetch(ctx context.Context) (time.Duration, error) {
	c.mu.Lock()
	call := c.startLocked()
	c.mu.Unlock()
	return call.wait(ctx)
}

// startLocked returns the fetch under way, starting one if there is none.
// c.mu must be held.
func (c *Cache) startLocked() *fetchCall {
	if c.inflight == nil {
		call := &fetchCall{done: make(chan struct{})}
		c.inflight = call
		go func() {
			call.maxAge, call.err = c.load()
			if call.err != nil {
				c.opts.Metrics.JWKSFetchFailed()
			} else {
				c.opts.Metrics.JWKSFetchSucceeded(len(*c.keys.Load()))
			}
			c.mu.Lock()
			c.inflight = nil
			c.mu.Unlock()
			close(call.done)
		}()
	}
	return c.inflight
}

// wait returns the outcome of the fetch, or ctx's error if ctx ends first.
func (f *fetchCall) wait(ctx context.Context) (time.Duration, error) {
	select {
	case <-f.done:
		return f.maxAge, f.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// load performs one HTTP fetch and, on success, replaces the key set.
func (c *Cache) load() (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.opts.URL, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.opts.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("jwks: %s answered %s", c.opts.URL, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxBytes+1))
	if err != nil {
		return 0, fmt.Errorf("jwks: reading body: %w", err)
	}
	if int64(len(body)) > c.opts.MaxBytes {
		return 0, fmt.Errorf("jwks: response larger than %d bytes", c.opts.MaxBytes)
	}
	keys, err := c.parse(body)
	if err != nil {
		return 0, err
	}
	c.keys.Store(&keys)
	c.opts.Logger.Debug("jwks loaded", "url", c.opts.URL, "keys", len(keys))
	return c.refreshInterval(resp.Header.Get("Cache-Control")), nil
}

// refreshInterval turns a Cache-Control header into the time until the next
// background refresh.
func (c *Cache) refreshInterval(cacheControl string) time.Duration {
	d := c.opts.MaxRefresh
	for _, directive := range strings.Split(cacheControl, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(directive), "=")
		switch strings.ToLower(name) {
		case "no-cache", "no-store":
			return c.opts.MinRefresh
		case "max-age":
			if secs, err := strconv.ParseInt(strings.Trim(value, `"`), 10, 64); err == nil && secs >= 0 {
				// Compare in whole seconds so that a huge max-age cannot
				// overflow, but clamp to MaxRefresh itself: truncating it
				// to seconds turned a sub-second MaxRefresh into 0 (a
				// refetch every MinRefresh) and 1.5s into 1s.
				if secs > int64(c.opts.MaxRefresh/time.Second) {
					d = c.opts.MaxRefresh
				} else {
					d = time.Duration(secs) * time.Second
				}
			}
		}
	}
	return min(max(d, c.opts.MinRefresh), c.opts.MaxRefresh)
}
