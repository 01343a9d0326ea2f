package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/authgql/server/auth/authtest"
)

// BenchmarkGraphQL measures whole requests over a loopback socket through
// every layer (CORS, body limit, authentication, gqlgen, directives). The
// anonymous public query is the baseline of the same run; the others add a
// token, verified once and then cached (the default), or verified on every
// request (TOKEN_CACHE_SIZE=0).
func BenchmarkGraphQL(b *testing.B) {
	for _, bb := range []struct {
		name, cache, query string
		token              bool
	}{
		{"anonymous public", "", `{ publicMessage { text } }`, false},
		{"token cached", "", `{ publicMessage { text } privateMessage { text } scopedMessage { text } }`, true},
		{"token uncached", "0", `{ publicMessage { text } privateMessage { text } scopedMessage { text } }`, true},
	} {
		b.Run(bb.name, func(b *testing.B) {
			env := map[string]string{"LOG_LEVEL": "error"}
			if bb.cache != "" {
				env["TOKEN_CACHE_SIZE"] = bb.cache
			}
			ts := startServer(b, env)
			body := `{"query":"` + strings.ReplaceAll(bb.query, `"`, `\"`) + `"}`
			auth := ""
			if bb.token {
				auth = bearer(ts.Issuer.Token(b, authtest.Scope("read:messages")))
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodPost, ts.URL+"graphql", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					if auth != "" {
						req.Header.Set("Authorization", auth)
					}
					resp, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Fatalf("status %d", resp.StatusCode)
					}
				}
			})
		})
	}
}
