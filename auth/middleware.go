package auth

import (
	"errors"
	"log/slog"
	"net/http"
)

// MiddlewareOptions configures Middleware. OnError is required.
type MiddlewareOptions struct {
	// OnError writes the response that refuses the request. Each surface
	// (GraphQL, REST) renders the same *Error its own way.
	OnError func(w http.ResponseWriter, r *http.Request, err error)
	Logger  *slog.Logger // nil means discard
}

// Middleware authenticates every request before next sees it: the
// request's Authorization header goes through Validator.Authenticate. A
// request without one goes on anonymously, so that public fields and
// routes need no token. A valid token puts its Claims in the context. A
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
			credentials, err := authorizationHeader(r)
			var claims *Claims
			if err == nil {
				claims, err = v.Authenticate(r.Context(), credentials)
			}
			if err != nil {
				var e *Error
				if errors.As(err, &e) {
					logger.DebugContext(r.Context(), "request refused", "reason", e.Reason, "cause", e.Err, "path", r.URL.Path)
				}
				opts.OnError(w, r, err)
				return
			}
			if claims == nil {
				next.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), claims)))
		})
	}
}

// authorizationHeader returns the value of r's one Authorization header,
// "" when it has none. Several are refused: a proxy and this server could
// each read a different one.
func authorizationHeader(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return "", nil
	case 1:
		return values[0], nil
	}
	return "", &Error{Reason: ReasonInvalidHeader, Detail: "Only one Authorization header is allowed",
		Err: errors.New("several Authorization headers")}
}
