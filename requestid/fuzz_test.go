package requestid_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/authgql/server/requestid"
)

// FuzzMiddleware: whatever a client sends, the ID in the context and the
// response is Valid, one value, and the client's only when the client's
// was Valid.
func FuzzMiddleware(f *testing.F) {
	for _, s := range []string{"", "abc-123", "a b", "abc\n", "caf\u00e9", "x,y", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sent string) {
		var seen string
		h := requestid.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			seen, _ = requestid.FromContext(r.Context())
		}))
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set(requestid.Header, sent)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		echoed := rec.Result().Header.Values(requestid.Header)
		if len(echoed) != 1 || echoed[0] != seen || !requestid.Valid(seen) {
			t.Fatalf("sent %q: context %q, response %q", sent, seen, echoed)
		}
		if requestid.Valid(sent) && seen != sent {
			t.Fatalf("sent the valid %q: got %q", sent, seen)
		}
	})
}
