package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/vektah/gqlparser/v2/gqlerror"
)

// DefaultMaxBodyBytes caps a request body, and a WebSocket message, when
// Options.MaxBodyBytes is zero.
const DefaultMaxBodyBytes = 1 << 20

// Error codes of refused request bodies, in extensions.code.
const (
	CodeBodyTooLarge      = "REQUEST_TOO_LARGE"
	CodeBatchingForbidden = "BATCHING_NOT_SUPPORTED"
)

// limitBody refuses request bodies over maxBytes with 413, batched
// operations (a JSON array) with 400, and bodies that are not JSON with 400,
// before gqlgen reads them. Each operation then meets the per-operation
// limits on its own, which a batch would multiply; and gqlgen's own
// decoding error, which echoes the body and the decoder's text, never
// reaches the client.
func limitBody(maxBytes int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body == nil || r.Body == http.NoBody {
				next.ServeHTTP(w, r)
				return
			}
			tooLarge := func() {
				w.Header().Set("Connection", "close") // the rest of the body is not read
				writeErrors(w, http.StatusRequestEntityTooLarge, &gqlerror.Error{
					Message:    fmt.Sprintf("request body is larger than %d bytes", maxBytes),
					Extensions: map[string]any{"code": CodeBodyTooLarge}})
			}
			if r.ContentLength > maxBytes {
				tooLarge()
				return
			}
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
			var maxErr *http.MaxBytesError
			switch {
			case errors.As(err, &maxErr):
				tooLarge()
				return
			case err != nil:
				writeErrors(w, http.StatusBadRequest, &gqlerror.Error{Message: "could not read the request body",
					Extensions: map[string]any{"code": "BAD_REQUEST"}})
				return
			}
			trimmed := bytes.TrimLeft(body, " \t\r\n")
			switch {
			case len(trimmed) > 0 && trimmed[0] == '[':
				writeErrors(w, http.StatusBadRequest, &gqlerror.Error{
					Message:    "batched operations are not supported: send one operation per request",
					Extensions: map[string]any{"code": CodeBatchingForbidden}})
				return
			case isJSON(r) && !json.Valid(body):
				writeError(w, http.StatusBadRequest, "BAD_REQUEST", "request body is not valid JSON")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			next.ServeHTTP(w, r)
		})
	}
}

// isJSON reports whether the request says its body is JSON; other media
// types are left to the transports, which refuse what they do not serve.
func isJSON(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && (mt == "application/json" || mt == "application/graphql-response+json")
}
