// Package playground serves an offline GraphiQL page for the GraphQL API.
//
// Everything the page loads (GraphiQL, React, graphql-ws, fonts, styles) is
// compiled into the binary with go:embed and served by this package, so the
// playground works on machines without internet access and the page can run
// under a strict Content-Security-Policy that allows only its own origin.
// The vendored files are rebuilt from npm by playground/web/build.sh; Go
// builds never need npm.
//
// Mount one handler for both the page and its assets:
//
//	h := playground.Handler(playground.Options{Endpoint: "/graphql"})
//	mux.Handle("GET /{$}", h)
//	mux.Handle("GET /playground/", h)
//
// The page is also served at /playground and /playground/, so mounting only
// "GET /playground/" works too.
package playground

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strings"
	"time"
)

// assetPrefix is the URL path under which the page's scripts and styles are
// served. It is fixed (not relative to the mount point) so that the page can
// be served at "/" while its assets live in a namespace that cannot collide
// with API routes.
const assetPrefix = "/playground/assets/"

// Options configures the playground page.
type Options struct {
	// Endpoint is the GraphQL endpoint path, e.g. "/graphql". It must be a
	// same-origin path: the page's CSP only allows connections to its own
	// origin. Queries and mutations are POSTed there; subscriptions use a
	// WebSocket (graphql-transport-ws) on the same path. "" means "/graphql".
	Endpoint string
	// Title is the page title; "" means "GraphQL playground".
	Title string
	// DevTokenURL, in development mode only, is a same-origin path (e.g.
	// "/dev/token") answering GET (or POST, if GET is refused with 405) with
	// JSON {"access_token":"..."}. The page fetches it on every load and
	// pre-fills the Authorization header, so a new developer can run private
	// queries at once. Leave it "" in production: the page then starts with
	// no headers and explains in the default query how to add one.
	DevTokenURL string
	// DevAuthzURL, in development mode only, is a same-origin path (e.g.
	// "/dev/authz") answering GET, with the Authorization header of the
	// page's header editor, with the authorization matrix and the
	// decision for that token on every field (package devmode). The page
	// shows it in an "Authorization" panel beside the token's subject,
	// scopes and expiry. Leave it "" in production.
	DevAuthzURL string
	// NotFound answers the paths the handler does not serve, and
	// MethodNotAllowed the methods other than GET and HEAD (after Allow is
	// set); nil means net/http's plain-text answers. The server passes its
	// own JSON ones, so that every refusal it sends looks alike.
	NotFound, MethodNotAllowed http.Handler
}

//go:embed page.html
var pageSource string

//go:embed assets
var assetFS embed.FS

// asset is one embedded file, prepared once so requests do no hashing.
type asset struct {
	body        []byte
	contentType string
	etag        string
	immutable   bool
}

var contentTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".txt": "text/plain; charset=utf-8",
	".svg": "image/svg+xml",
}

// loadAssets maps URL paths to the embedded files. Each file is reachable
// under its plain name (revalidated on each use) and under a name carrying
// its content hash (cached for a year), so the page can use the hashed names
// and upgrades can never mix old and new files in a browser cache. hashed
// maps a file's path within assets/ to its hashed URL.
func loadAssets() (assets map[string]*asset, hashed map[string]string, err error) {
	assets, hashed = map[string]*asset{}, map[string]string{}
	err = fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := assetFS.ReadFile(p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, "assets/")
		ext := path.Ext(rel)
		ct, ok := contentTypes[ext]
		if !ok {
			// Sniffing is disabled (nosniff), so an unknown type would be
			// unusable in the browser anyway; failing here catches a new
			// asset kind in tests rather than in production.
			return fmt.Errorf("playground: no content type for %s", p)
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:])[:16]
		plain := &asset{body: body, contentType: ct, etag: `"` + hash + `"`}
		immutable := *plain
		immutable.immutable = true
		hashedURL := assetPrefix + strings.TrimSuffix(rel, ext) + "." + hash + ext
		assets[assetPrefix+rel] = plain
		assets[hashedURL] = &immutable
		hashed[rel] = hashedURL
		return nil
	})
	return assets, hashed, err
}

func parsePage(hashed map[string]string) (*template.Template, error) {
	return template.New("page").Funcs(template.FuncMap{
		"asset": func(rel string) (string, error) {
			u, ok := hashed[rel]
			if !ok {
				return "", fmt.Errorf("playground: page references missing asset %q", rel)
			}
			return u, nil
		},
	}).Parse(pageSource)
}

// pageConfig is what the page's script learns from the server. It travels as
// JSON inside <script type="application/json">, where html/template escapes
// it so no value can end the script element.
type pageConfig struct {
	Endpoint    string `json:"endpoint"`
	DevTokenURL string `json:"devTokenURL,omitempty"`
	DevAuthzURL string `json:"devAuthzURL,omitempty"`
}

// Handler returns the playground handler. It serves the page at "/",
// "/playground" and "/playground/", the embedded assets under
// "/playground/assets/" (content-hashed names, cached for a year), and 404
// for anything else. Only GET and HEAD are allowed.
//
// Handler panics if Endpoint, DevTokenURL or DevAuthzURL is not a
// same-origin path, since the page's Content-Security-Policy would block it
// anyway and failing at start-up is easier to diagnose than a broken page.
func Handler(opts Options) http.Handler {
	if opts.Endpoint == "" {
		opts.Endpoint = "/graphql"
	}
	if opts.Title == "" {
		opts.Title = "GraphQL playground"
	}
	if opts.NotFound == nil {
		opts.NotFound = http.NotFoundHandler()
	}
	if opts.MethodNotAllowed == nil {
		opts.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		})
	}
	mustBeLocalPath("Endpoint", opts.Endpoint)
	if opts.DevTokenURL != "" {
		mustBeLocalPath("DevTokenURL", opts.DevTokenURL)
	}
	if opts.DevAuthzURL != "" {
		mustBeLocalPath("DevAuthzURL", opts.DevAuthzURL)
	}
	// The page is rendered once around a random placeholder that each
	// request replaces with its nonce, so serving it executes no template.
	// Being random, the placeholder cannot also occur in Title or Endpoint.
	assets, hashed, err := loadAssets()
	if err != nil {
		panic(err)
	}
	page, err := parsePage(hashed)
	if err != nil {
		panic(err)
	}
	placeholder := newNonce()
	var buf bytes.Buffer
	err = page.Execute(&buf, pageData{
		Title:  opts.Title,
		Config: pageConfig{Endpoint: opts.Endpoint, DevTokenURL: opts.DevTokenURL, DevAuthzURL: opts.DevAuthzURL},
		Nonce:  placeholder,
	})
	if err != nil {
		panic(err)
	}
	before, after, ok := bytes.Cut(buf.Bytes(), []byte(placeholder))
	if !ok || bytes.Contains(after, []byte(placeholder)) {
		panic("playground: page template must use the nonce exactly once")
	}
	return &handler{pageBefore: before, pageAfter: after, assets: assets, started: time.Now(),
		notFound: opts.NotFound, methodNotAllowed: opts.MethodNotAllowed}
}

type pageData struct {
	Title  string
	Config pageConfig
	Nonce  string
}

// mustBeLocalPath rejects absolute and protocol-relative URLs ("//host/x"),
// which would point the page at another origin.
func mustBeLocalPath(field, p string) {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, `/\`) {
		panic(fmt.Sprintf("playground: Options.%s must be a same-origin path starting with a single /, got %q", field, p))
	}
}

type handler struct {
	pageBefore, pageAfter []byte // the rendered page around its nonce
	assets                map[string]*asset
	// started stands in for the assets' modification time: embedded files
	// have none, and a fixed time lets http.ServeContent answer
	// If-Modified-Since.
	started time.Time

	notFound, methodNotAllowed http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.methodNotAllowed.ServeHTTP(w, r)
		return
	}
	switch p := r.URL.Path; {
	case p == "/" || p == "/playground" || p == "/playground/":
		h.servePage(w, r)
	case strings.HasPrefix(p, assetPrefix) && h.assets[p] != nil:
		h.serveAsset(w, r, h.assets[p])
	default:
		h.notFound.ServeHTTP(w, r)
	}
}

func (h *handler) servePage(w http.ResponseWriter, r *http.Request) {
	nonce := newNonce()
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	// The page carries configuration, and in development a token is fetched
	// by it; neither should be kept by a browser or a proxy.
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Security-Policy", contentSecurityPolicy(r.Host, nonce))
	setCommonSecurityHeaders(hdr)
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Content-Length", fmt.Sprint(len(h.pageBefore)+len(nonce)+len(h.pageAfter)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(h.pageBefore)
		io.WriteString(w, nonce)
		w.Write(h.pageAfter)
	}
}

// newNonce returns a fresh CSP nonce. It is only needed for styles: GraphiQL
// inserts a <style> element when a dialog opens (see playground/web/build.mjs
// for how the bundle picks the nonce up), and a nonce keeps that working
// without allowing 'unsafe-inline'.
func newNonce() string {
	var b [16]byte
	rand.Read(b[:]) // never fails, see crypto/rand.Read
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (h *handler) serveAsset(w http.ResponseWriter, r *http.Request, a *asset) {
	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("ETag", a.etag)
	if a.immutable {
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hdr.Set("Cache-Control", "no-cache")
	}
	setCommonSecurityHeaders(hdr)
	http.ServeContent(w, r, "", h.started, bytes.NewReader(a.body))
}

func setCommonSecurityHeaders(hdr http.Header) {
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
}

// hostRe accepts host names, IPv4 and bracketed IPv6 addresses with an
// optional port. Anything else in a Host header (Go accepts characters such
// as ';') must not reach the CSP, where it could add directives.
var hostRe = regexp.MustCompile(`^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$`)

// contentSecurityPolicy allows the page only its own scripts and styles, and
// connections only to its own origin. 'self' covers ws:/wss: to the same host
// in CSP Level 3 browsers; the explicit ws://host and wss://host entries make
// the subscription WebSocket work in older ones without opening connect-src
// to every host. The fonts in GraphiQL's CSS are data: URLs, hence font-src.
func contentSecurityPolicy(host, nonce string) string {
	connect := "'self'"
	if hostRe.MatchString(host) {
		connect += " ws://" + host + " wss://" + host
	}
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"style-src 'self' 'nonce-" + nonce + "'",
		"img-src 'self' data:",
		"font-src 'self' data:",
		"connect-src " + connect,
		"object-src 'none'",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}
