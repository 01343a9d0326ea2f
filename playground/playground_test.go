package playground

import (
	"encoding/json"
	"html"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// newMux mounts the handler the way the server does, so the tests cover the
// routing the page depends on, not just the handler in isolation.
func newMux(opts Options) *http.ServeMux {
	h := Handler(opts)
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", h)
	mux.Handle("GET /playground/", h)
	return mux
}

func do(t *testing.T, h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func getPage(t *testing.T, opts Options) (*httptest.ResponseRecorder, string) {
	t.Helper()
	rec := do(t, newMux(opts), http.MethodGet, "/")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET / = %d, want 200", rec.Code)
	}
	return rec, rec.Body.String()
}

// cspDirectives splits a policy into directive name -> source list.
func cspDirectives(t *testing.T, policy string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, d := range strings.Split(policy, ";") {
		f := strings.Fields(d)
		if len(f) == 0 {
			continue
		}
		if _, dup := out[f[0]]; dup {
			t.Errorf("CSP directive %s appears twice", f[0])
		}
		out[f[0]] = f[1:]
	}
	return out
}

func TestPageSecurityHeaders(t *testing.T) {
	rec, body := getPage(t, Options{Endpoint: "/graphql"})
	h := rec.Header()
	for name, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}

	csp := cspDirectives(t, h.Get("Content-Security-Policy"))
	exact := map[string]string{
		"default-src":     "'self'",
		"script-src":      "'self'",
		"img-src":         "'self' data:",
		"font-src":        "'self' data:",
		"object-src":      "'none'",
		"frame-ancestors": "'none'",
		"connect-src":     "'self' ws://example.com wss://example.com",
	}
	for name, want := range exact {
		if got := strings.Join(csp[name], " "); got != want {
			t.Errorf("CSP %s = %q, want %q", name, got, want)
		}
	}
	style := csp["style-src"]
	if len(style) != 2 || style[0] != "'self'" || !strings.HasPrefix(style[1], "'nonce-") {
		t.Fatalf("CSP style-src = %q, want 'self' and a nonce", style)
	}
	nonce := strings.TrimSuffix(strings.TrimPrefix(style[1], "'nonce-"), "'")
	if len(nonce) < 16 {
		t.Errorf("nonce %q is too short", nonce)
	}
	if !strings.Contains(body, `nonce="`+nonce+`"`) {
		t.Errorf("page does not carry the CSP nonce %q", nonce)
	}
	if strings.Contains(body, "unsafe-inline") || strings.Contains(h.Get("Content-Security-Policy"), "unsafe") {
		t.Errorf("policy or page allows unsafe sources")
	}

	rec2, _ := getPage(t, Options{Endpoint: "/graphql"})
	if rec2.Header().Get("Content-Security-Policy") == h.Get("Content-Security-Policy") {
		t.Errorf("nonce is reused across requests")
	}
}

// A Host header with characters Go accepts but CSP treats as syntax must not
// be able to add directives.
func TestCSPIgnoresOddHost(t *testing.T) {
	h := Handler(Options{})
	for _, host := range []string{"evil; script-src *", "a b", "x'y"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		csp := cspDirectives(t, rec.Header().Get("Content-Security-Policy"))
		if got := strings.Join(csp["connect-src"], " "); got != "'self'" {
			t.Errorf("host %q: connect-src = %q, want 'self'", host, got)
		}
		if got := strings.Join(csp["script-src"], " "); got != "'self'" {
			t.Errorf("host %q: script-src = %q", host, got)
		}
	}
	for _, host := range []string{"localhost:8080", "[::1]:8080", "api.example.com"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		want := "'self' ws://" + host + " wss://" + host
		csp := cspDirectives(t, rec.Header().Get("Content-Security-Policy"))
		if got := strings.Join(csp["connect-src"], " "); got != want {
			t.Errorf("host %q: connect-src = %q, want %q", host, got, want)
		}
	}
}

var refRe = regexp.MustCompile(`\b(?:src|href)\s*=\s*"([^"]*)"`)

func TestPageReferencesAreServedLocally(t *testing.T) {
	mux := newMux(Options{Endpoint: "/graphql", DevTokenURL: "/dev/token"})
	_, body := getPage(t, Options{Endpoint: "/graphql", DevTokenURL: "/dev/token"})

	refs := refRe.FindAllStringSubmatch(body, -1)
	if len(refs) < 7 {
		t.Fatalf("found %d src/href attributes, want the 5 scripts, 2 styles and icon", len(refs))
	}
	if n := strings.Count(body, "<script"); n != strings.Count(body, "<script src=")+strings.Count(body, "<script nonce=")+1 {
		t.Errorf("page has a script element other than the external ones and the config")
	}
	wantType := map[string]string{
		".js":  "text/javascript; charset=utf-8",
		".css": "text/css; charset=utf-8",
		".svg": "image/svg+xml",
	}
	for _, m := range refs {
		ref := html.UnescapeString(m[1])
		if !strings.HasPrefix(ref, "/playground/assets/") || strings.Contains(ref, "//") {
			t.Errorf("reference %q is not a local asset path", ref)
			continue
		}
		rec := do(t, mux, http.MethodGet, ref)
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", ref, rec.Code)
			continue
		}
		ext := ref[strings.LastIndex(ref, "."):]
		if got := rec.Header().Get("Content-Type"); got != wantType[ext] {
			t.Errorf("GET %s: Content-Type %q, want %q", ref, got, wantType[ext])
		}
		if got := rec.Header().Get("Cache-Control"); !strings.Contains(got, "immutable") {
			t.Errorf("GET %s: Cache-Control %q, want long-lived immutable", ref, got)
		}
		if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options %q", ref, got)
		}
		if rec.Body.Len() == 0 {
			t.Errorf("GET %s: empty body", ref)
		}
	}
}

var urlRe = regexp.MustCompile(`(?i)(?:https?|wss?):/`)

// The vendor bundles mention URLs in licence comments and error messages, so
// only the page and the files written for this package are scanned.
func TestNoRemoteURLsInPageOrOwnCode(t *testing.T) {
	_, body := getPage(t, Options{Endpoint: "/graphql", DevTokenURL: "/dev/token"})
	sources := map[string]string{"page": body}
	for _, name := range []string{"assets/playground.js", "assets/playground.css"} {
		b, err := assetFS.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sources[name] = string(b)
	}
	for name, text := range sources {
		if m := urlRe.FindAllString(text, -1); m != nil {
			t.Errorf("%s contains absolute URLs: %q", name, m)
		}
	}
}

var configRe = regexp.MustCompile(`(?s)<script type="application/json" id="playground-config">(.*?)</script>`)

func pageConfigOf(t *testing.T, body string) map[string]any {
	t.Helper()
	m := configRe.FindAllStringSubmatch(body, -1)
	if len(m) != 1 {
		t.Fatalf("found %d config blocks, want 1", len(m))
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(m[0][1]), &cfg); err != nil {
		t.Fatalf("config block is not JSON: %v\n%s", err, m[0][1])
	}
	return cfg
}

func TestConfigCannotBreakOutOfScript(t *testing.T) {
	evil := `/graphql</script><script>alert(1)</script><!--`
	title := `</title><script>alert(2)</script>`
	_, body := getPage(t, Options{Endpoint: evil, Title: title, DevTokenURL: "/dev/token</script>"})
	if strings.Contains(body, "alert(") && (strings.Contains(body, "<script>alert") || strings.Contains(body, "</title><script>")) {
		t.Fatalf("injected markup survived:\n%s", body)
	}
	if strings.Contains(body, "<!--") {
		t.Errorf("comment opener survived")
	}
	cfg := pageConfigOf(t, body)
	if cfg["endpoint"] != evil {
		t.Errorf("endpoint round-trips as %q, want %q", cfg["endpoint"], evil)
	}
	if cfg["devTokenURL"] != "/dev/token</script>" {
		t.Errorf("devTokenURL round-trips as %q", cfg["devTokenURL"])
	}
	if !strings.Contains(body, "<title>&lt;/title&gt;&lt;script&gt;alert(2)&lt;/script&gt;</title>") {
		t.Errorf("title not escaped as text")
	}
}

func TestDevTokenURL(t *testing.T) {
	_, body := getPage(t, Options{Endpoint: "/graphql"})
	cfg := pageConfigOf(t, body)
	if _, ok := cfg["devTokenURL"]; ok || strings.Contains(body, "devTokenURL") || strings.Contains(body, "/dev/") {
		t.Errorf("production page mentions a dev token: %v", cfg)
	}
	if cfg["endpoint"] != "/graphql" {
		t.Errorf("endpoint = %v", cfg["endpoint"])
	}

	_, body = getPage(t, Options{Endpoint: "/api/graphql", DevTokenURL: "/dev/token"})
	cfg = pageConfigOf(t, body)
	if cfg["devTokenURL"] != "/dev/token" || cfg["endpoint"] != "/api/graphql" {
		t.Errorf("dev config = %v", cfg)
	}
}

func TestDevAuthzURL(t *testing.T) {
	_, body := getPage(t, Options{Endpoint: "/graphql", DevTokenURL: "/dev/token"})
	if _, ok := pageConfigOf(t, body)["devAuthzURL"]; ok {
		t.Errorf("a page without DevAuthzURL configures the Authorization panel")
	}
	_, body = getPage(t, Options{Endpoint: "/graphql", DevTokenURL: "/dev/token", DevAuthzURL: "/dev/authz"})
	if got := pageConfigOf(t, body)["devAuthzURL"]; got != "/dev/authz" {
		t.Errorf("devAuthzURL = %v; want /dev/authz", got)
	}
}

func TestDefaults(t *testing.T) {
	_, body := getPage(t, Options{})
	if !strings.Contains(body, "<title>GraphQL playground</title>") {
		t.Errorf("default title missing")
	}
	if got := pageConfigOf(t, body)["endpoint"]; got != "/graphql" {
		t.Errorf("default endpoint = %v", got)
	}
	_, body = getPage(t, Options{Title: "Auth API"})
	if !strings.Contains(body, "<title>Auth API</title>") {
		t.Errorf("custom title missing")
	}
}

func TestRejectsNonLocalURLs(t *testing.T) {
	for _, opts := range []Options{
		{Endpoint: "https://api.example.com/graphql"},
		{Endpoint: "//api.example.com/graphql"},
		{Endpoint: `/\api.example.com/graphql`},
		{Endpoint: "graphql"},
		{DevTokenURL: "https://auth.example.com/token"},
		{DevTokenURL: "//auth.example.com/token"},
		{DevAuthzURL: "https://auth.example.com/authz"},
		{DevAuthzURL: "//auth.example.com/authz"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Handler(%+v) did not panic", opts)
				}
			}()
			Handler(opts)
		}()
	}
}

func TestRouting(t *testing.T) {
	mux := newMux(Options{})
	h := Handler(Options{})
	for _, tc := range []struct {
		handler http.Handler
		method  string
		path    string
		code    int
	}{
		{mux, http.MethodGet, "/", 200},
		{mux, http.MethodHead, "/", 200},
		{mux, http.MethodGet, "/playground/", 200},
		{mux, http.MethodGet, "/playground/assets/playground.js", 200},
		{mux, http.MethodGet, "/playground/assets/vendor/THIRD_PARTY_LICENSES.txt", 200},
		{mux, http.MethodGet, "/playground/assets/nope.js", 404},
		{mux, http.MethodGet, "/playground/assets/playground.0000000000000000.js", 404},
		{mux, http.MethodGet, "/playground/assets/vendor/", 404},
		{mux, http.MethodGet, "/playground/assets/", 404},
		{mux, http.MethodGet, "/playground/other", 404},
		{h, http.MethodGet, "/playground/assets/../playground.go", 404},
		{h, http.MethodGet, "/elsewhere", 404},
		{h, http.MethodPost, "/", 405},
		{h, http.MethodPost, "/playground/assets/playground.js", 405},
	} {
		rec := do(t, tc.handler, tc.method, tc.path)
		if rec.Code != tc.code {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, rec.Code, tc.code)
		}
	}
}

func TestHeadAndConditionalRequests(t *testing.T) {
	mux := newMux(Options{})
	_, body := getPage(t, Options{})
	ref := html.UnescapeString(refRe.FindAllStringSubmatch(body, -1)[1][1])

	get := do(t, mux, http.MethodGet, ref)
	head := do(t, mux, http.MethodHead, ref)
	if head.Code != 200 || head.Body.Len() != 0 {
		t.Errorf("HEAD %s = %d with %d body bytes", ref, head.Code, head.Body.Len())
	}
	if head.Header().Get("Content-Length") != get.Header().Get("Content-Length") || get.Header().Get("Content-Length") == "" {
		t.Errorf("HEAD Content-Length %q, GET %q", head.Header().Get("Content-Length"), get.Header().Get("Content-Length"))
	}
	if head.Header().Get("Content-Type") != get.Header().Get("Content-Type") {
		t.Errorf("HEAD Content-Type differs from GET")
	}

	etag := get.Header().Get("ETag")
	if etag == "" {
		t.Fatalf("no ETag on %s", ref)
	}
	if rec := do(t, mux, http.MethodGet, ref, "If-None-Match", etag); rec.Code != http.StatusNotModified {
		t.Errorf("conditional GET = %d, want 304", rec.Code)
	}

	plain := do(t, mux, http.MethodGet, "/playground/assets/playground.js")
	if got := plain.Header().Get("Cache-Control"); got != "no-cache" {
		t.Errorf("unhashed asset Cache-Control = %q, want no-cache", got)
	}

	page := do(t, mux, http.MethodHead, "/")
	if page.Body.Len() != 0 || page.Header().Get("Content-Security-Policy") == "" {
		t.Errorf("HEAD / returned a body or no CSP")
	}
}

// The page's own script must keep the guarantees the page promises; these
// are cheap textual checks that catch an accidental revert.
func TestOwnScript(t *testing.T) {
	b, err := assetFS.ReadFile("assets/playground.js")
	if err != nil {
		t.Fatal(err)
	}
	js := string(b)
	for _, want := range []string{
		"shouldPersistHeaders: false",
		"storage: createStorage()",
		"connectionParams",
		"authorization: authorization",
		"client.dispose()",
		"publicMessage",
		"privateMessage",
		"scopedMessage",
	} {
		if !strings.Contains(js, want) {
			t.Errorf("playground.js lacks %q", want)
		}
	}
	for _, bad := range []string{"sessionStorage", "eval(", "innerHTML", "document.write"} {
		if strings.Contains(js, bad) {
			t.Errorf("playground.js uses %q", bad)
		}
	}
}

func TestEmbeddedAssets(t *testing.T) {
	var total int64
	err := fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > 4<<20 {
		t.Errorf("embedded assets are %d bytes; keep them under 4 MiB", total)
	}
	f, err := assetFS.Open("assets/vendor/THIRD_PARTY_LICENSES.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lic, _ := io.ReadAll(f)
	for _, pkg := range []string{"graphiql@", "react@", "react-dom@", "graphql-ws@", "graphql@", "codemirror@"} {
		if !strings.Contains(string(lic), "======== "+pkg) {
			t.Errorf("licences lack %s", pkg)
		}
	}
}

// TestRefusalHandlers: the server's own 404 and 405 answer what the
// playground does not serve.
func TestRefusalHandlers(t *testing.T) {
	// Statuses no default would answer, to tell the given handlers apart.
	answer := func(status int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) })
	}
	h := Handler(Options{NotFound: answer(http.StatusGone), MethodNotAllowed: answer(http.StatusTeapot)})
	for _, tc := range []struct {
		method, path string
		code         int
	}{
		{http.MethodGet, "/playground/assets/nope.js", http.StatusGone},
		{http.MethodGet, "/elsewhere", http.StatusGone},
		{http.MethodPost, "/", http.StatusTeapot},
		{http.MethodGet, "/", 200},
	} {
		rec := do(t, h, tc.method, tc.path)
		if rec.Code != tc.code {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, rec.Code, tc.code)
		}
		if tc.code == http.StatusTeapot && rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("405 without Allow")
		}
	}
}
