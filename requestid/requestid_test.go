package requestid_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/authgql/server/requestid"
)

var generated = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestValid(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{"uuid", "8f14e45f-ceea-467a-9af0-2b4f3c1d0e9a", true},
		{"hex", "0123456789abcdef0123456789ABCDEF", true},
		{"base64", "q83vEjRWeJA+/w==", true},
		{"base64url and dots", "req_01.AbC-xyz:42", true},
		{"one char", "a", true},
		{"max length", strings.Repeat("a", requestid.MaxLength), true},
		{"empty", "", false},
		{"too long", strings.Repeat("a", requestid.MaxLength+1), false},
		{"space", "abc def", false},
		{"newline (log forging)", "abc\nlevel=ERROR msg=forged", false},
		{"carriage return", "abc\rdef", false},
		{"nul", "abc\x00", false},
		{"tab", "abc\tdef", false},
		{"del", "abc\x7f", false},
		{"comma of a merged list", "abc,def", false},
		{"quote", `abc"def`, false},
		{"html", "<script>", false},
		{"unicode letter", "caf\u00e9", false},
		{"unicode look-alike", "abc\u2010def", false},
		{"invalid utf-8", "abc\xff", false},
		{"percent escape", "abc%0A", false},
		{"semicolon", "Root=1-abc;Parent=2", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := requestid.Valid(tt.id); got != tt.want {
				t.Errorf("Valid(%q) = %v; want %v", tt.id, got, tt.want)
			}
		})
	}
}

func TestGeneratorIDs(t *testing.T) {
	seen := make(map[string]bool)
	gen := requestid.NewGenerator()
	for range 1000 {
		id := gen.New()
		if !generated.MatchString(id) || !requestid.Valid(id) {
			t.Fatalf("New() = %q; want 32 lowercase hex digits that Valid accepts", id)
		}
		if seen[id] {
			t.Fatalf("New() repeated %q", id)
		}
		seen[id] = true
	}
}

// serve runs Middleware in front of a handler that reports the ID it sees
// in its context, and returns what the handler saw and the response header.
func serve(t *testing.T, headers []string) (seen, echoed string) {
	t.Helper()
	h := requestid.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := requestid.FromContext(r.Context())
		if !ok {
			t.Error("no request ID in the handler's context")
		}
		seen = id
		w.WriteHeader(http.StatusNoContent)
	}))
	req := httptest.NewRequest(http.MethodGet, "/graphql", nil)
	for _, v := range headers {
		req.Header.Add(requestid.Header, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if got := rec.Result().Header.Values(requestid.Header); len(got) != 1 {
		t.Fatalf("response %s headers = %q; want exactly one", requestid.Header, got)
	}
	return seen, rec.Result().Header.Get(requestid.Header)
}

func TestMiddlewareKeepsASaneClientID(t *testing.T) {
	const id = "8f14e45f-ceea-467a-9af0-2b4f3c1d0e9a"
	seen, echoed := serve(t, []string{id})
	if seen != id || echoed != id {
		t.Errorf("context %q, response %q; want the client's %q in both", seen, echoed, id)
	}
}

func TestMiddlewareReplacesAnInsaneClientID(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
	}{
		{"none", nil},
		{"empty", []string{""}},
		{"too long", []string{strings.Repeat("a", requestid.MaxLength+1)}},
		{"control characters", []string{"abc\x01def"}},
		{"unicode", []string{"r\u00e9quete-42"}},
		{"two headers", []string{"first-id", "second-id"}},
		{"merged list", []string{"first-id, second-id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen, echoed := serve(t, tt.headers)
			if !generated.MatchString(seen) || echoed != seen {
				t.Errorf("client sent %q: context %q, response %q; want one generated ID in both", tt.headers, seen, echoed)
			}
		})
	}
	a, _ := serve(t, nil)
	b, _ := serve(t, nil)
	if a == b {
		t.Errorf("two requests got the same generated ID %q", a)
	}
}

// TestMiddlewareOverRealConnection sends raw header bytes, as a hostile
// client would, to a real server: what net/http lets through must still be
// replaced, and the ID must reach error responses too.
func TestMiddlewareOverRealConnection(t *testing.T) {
	inner := http.NewServeMux()
	inner.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		id, _ := requestid.FromContext(r.Context())
		fmt.Fprint(w, id)
	})
	inner.HandleFunc("/fail", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusUnauthorized)
	})
	srv := httptest.NewServer(requestid.Middleware(inner))
	defer srv.Close()

	tests := []struct {
		name, path, rawHeader string
		wantClient            bool
	}{
		{"sane", "/ok", "X-Request-ID: abc-123\r\n", true},
		{"lower-case name", "/ok", "x-request-id: abc-123\r\n", true},
		{"surrounding spaces are trimmed by net/http", "/ok", "X-Request-ID:   abc-123  \r\n", true},
		{"inner space", "/ok", "X-Request-ID: abc 123\r\n", false},
		{"utf-8 bytes", "/ok", "X-Request-ID: abc\xc3\xa9\r\n", false},
		{"obs-text", "/ok", "X-Request-ID: abc\xff\r\n", false},
		{"twice", "/ok", "X-Request-ID: abc-123\r\nX-Request-ID: abc-123\r\n", false},
		{"error response", "/fail", "X-Request-ID: abc-123\r\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n", tt.path, tt.rawHeader)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode == http.StatusBadRequest && !tt.wantClient {
				return // net/http refused the header before any handler: also fine
			}
			got := resp.Header.Get(requestid.Header)
			switch {
			case tt.wantClient && got != "abc-123":
				t.Errorf("response ID %q; want the client's abc-123", got)
			case !tt.wantClient && !generated.MatchString(got):
				t.Errorf("response ID %q; want a generated one", got)
			}
		})
	}
}

func TestFromContext(t *testing.T) {
	if id, ok := requestid.FromContext(context.Background()); ok || id != "" {
		t.Errorf("FromContext(empty) = %q, %v; want \"\", false", id, ok)
	}
	if _, ok := requestid.FromContext(requestid.NewContext(context.Background(), "")); ok {
		t.Error("FromContext reports an empty ID as present")
	}
	type otherKey string // a string key with the same text must not collide
	ctx := context.WithValue(context.Background(), otherKey("requestid"), "x")
	if _, ok := requestid.FromContext(ctx); ok {
		t.Error("FromContext found a value under a foreign key")
	}
}
