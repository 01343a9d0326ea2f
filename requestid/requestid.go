// Package requestid gives every HTTP request an identifier that ties its
// log lines together and that the client sees in the response.
//
// Middleware takes the client's X-Request-ID when it is sane (Valid): one
// header, 1 to MaxLength bytes of ASCII letters, digits and "-_.:+/=",
// which covers UUIDs, hex, base64 and base64url IDs, Heroku's rule
// (20-200 of alphanumerics and "+=/-") within the length bound, and what
// load balancers and proxies generate. Anything else (empty, too long, control
// characters, spaces, commas of a merged list, non-ASCII, two headers) is
// replaced by a fresh ID, 32 lowercase hex digits: a random 64-bit prefix
// drawn from crypto/rand when the middleware is made, then a counter, so
// IDs are unique within a process, unlikely to meet another process's, and
// cost no system call per request. The ID is stored in the request's context (FromContext) and set
// on the response before the handler runs, so every response, errors and
// WebSocket upgrades included, carries it.
//
// A client chooses its own ID, so an ID proves nothing: it correlates log
// lines, it is never an authorization or a unique key.
//
// NewHandler wraps a slog.Handler so that every record logged with a
// context carrying an ID (logger.InfoContext(ctx, ...)) gets the attribute
// request_id at its top level.
package requestid

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"sync/atomic"
)

// Header is the request and response header field of the ID.
const Header = "X-Request-ID"

// canonicalHeader is Header as net/http keys it
// (textproto.CanonicalMIMEHeaderKey), so that reading and setting it
// costs no canonicalisation per request.
const canonicalHeader = "X-Request-Id"

// MaxLength is the longest ID, in bytes, taken from a client.
const MaxLength = 128

type ctxKey struct{}

// NewContext returns a copy of ctx carrying id.
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the request ID in ctx, if any.
func FromContext(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(ctxKey{}).(string)
	return id, ok && id != ""
}

// Valid reports whether id is acceptable from a client: 1 to MaxLength
// bytes, each an ASCII letter or digit or one of "-_.:+/=".
func Valid(id string) bool {
	if id == "" || len(id) > MaxLength {
		return false
	}
	for i := range len(id) {
		if !safe(id[i]) {
			return false
		}
	}
	return true
}

func safe(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '_', '.', ':', '+', '/', '=':
		return true
	}
	return false
}

// A Generator makes IDs of 32 hex digits: a random 64-bit prefix, drawn
// from crypto/rand by NewGenerator, and a 64-bit counter. It is safe for
// concurrent use.
type Generator struct {
	prefix [16]byte // the prefix's hex digits
	n      atomic.Uint64
}

// NewGenerator returns a Generator with a fresh random prefix.
func NewGenerator() *Generator {
	var b [8]byte
	rand.Read(b[:])
	g := &Generator{}
	hex.Encode(g.prefix[:], b[:])
	return g
}

// New returns the next ID.
func (g *Generator) New() string {
	var b [32]byte
	copy(b[:16], g.prefix[:])
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], g.n.Add(1))
	hex.Encode(b[16:], n[:])
	return string(b[:])
}

// Middleware gives the request an ID (the client's X-Request-ID when
// Valid and sent once, else a Generator's), stores it in the request's
// context and sets it on the response. Place it outermost, so that
// everything inside, panic recovery included, logs with it.
func Middleware(next http.Handler) http.Handler {
	gen := NewGenerator()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := ""
		if values := r.Header[canonicalHeader]; len(values) == 1 && Valid(values[0]) {
			id = values[0]
		} else {
			id = gen.New()
		}
		w.Header()[canonicalHeader] = []string{id}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
	})
}
