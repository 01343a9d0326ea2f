package requestid_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/authgql/server/requestid"
)

// The server wraps its log handler once and its whole HTTP surface once;
// handlers then log with the request's context.
func Example() {
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	logger := slog.New(requestid.NewHandler(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: noTime})))
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger.InfoContext(r.Context(), "request refused", "reason", "invalid_token")
		w.WriteHeader(http.StatusUnauthorized)
	})
	srv := requestid.Middleware(api)

	req := httptest.NewRequest(http.MethodGet, "/api/private", nil)
	req.Header.Set("X-Request-ID", "8f14e45f-ceea-467a-9af0-2b4f3c1d0e9a")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	os.Stdout.WriteString(rec.Header().Get("X-Request-ID") + "\n")
	// Output:
	// {"level":"INFO","msg":"request refused","reason":"invalid_token","request_id":"8f14e45f-ceea-467a-9af0-2b4f3c1d0e9a"}
	// 8f14e45f-ceea-467a-9af0-2b4f3c1d0e9a
}
