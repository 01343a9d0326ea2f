package auth

import (
	"context"
	"testing"
	"time"

	"github.com/authgql/server/auth/authtest"
	"github.com/authgql/server/jwks"
)

// readyKeys returns a key cache of is's JWKS (opts' URL is set), running
// until the test ends, once it has loaded.
func readyKeys(t testing.TB, is *authtest.Issuer, opts jwks.Options) *jwks.Cache {
	t.Helper()
	opts.URL = is.JWKSURL()
	keys, err := jwks.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go keys.Run(ctx)
	for deadline := time.Now().Add(10 * time.Second); !keys.Ready(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("key set not loaded")
		}
	}
	return keys
}
