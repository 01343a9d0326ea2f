package auth

import (
	"errors"
	"log/slog"
	"net/http"
)

// MiddlewareOptions configures Middleware. OnError is required.
type MiddlewareOptions struct {
	// MaxHeaderBytes caps the Authorization header; 0 means
	// DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// OnError writes the response that refuses the request. Each surface
	// (GraphQL, REST) renders the same *Error its own way.
	OnError func(w http.ResponseWriter, r *http.Request, err error)
	Logger  *slog.Logger // nil means discard
}

// Middleware authenticates every request before next sees it. A request
// without an Authorization header goes on anonymously, so that public fields
// and routes need no token. A valid token puts its Claims in the context. A
// malformed header, an invalid token, or a token while no key is loaded yet
// is refused through OnError and next is not called: a client that sent a
// broken token learns so at once rather than reading public data as if it
// were anonymous.
func Middleware(v *Validator, opts MiddlewareOptions) func(http.Handler) http.Handler {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, err := BearerToken(r, opts.MaxHeaderBytes)
			if err == nil && raw == "" {
				next.ServeHTTP(w, r)
				return
			}
			var claims *Claims
			if err == nil {
				claims, err = v.Validate(r.Context(), raw)
			}
			if err != nil {
				var e *Error
				if errors.As(err, &e) {
					logger.DebugContext(r.Context(), "request refused", "reason", e.Reason, "cause", e.Err, "path", r.URL.Path)
				}
				opts.OnError(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), claims)))
		})
	}
}
