package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/messages"
	"github.com/authgql/server/metrics"
)

// This file is where every GraphQL error body is written: gqlgen's error
// presenter and recover func for errors during an operation, and, for
// requests refused as a whole (authentication, malformed requests, body
// limits, WebSocket upgrades), WriteError and writeErrors; and
// writeResponse for every GraphQL response over HTTP. Package api writes
// the server's other JSON bodies.

// presentError is gqlgen's error presenter. Auth errors get their code and
// text from auth.Describe, their reason, and with FORBIDDEN the scope sets
// that would grant access (extensions.requiredScopes), and count in m as
// denied fields; errors that gqlgen and gqlparser build for the client
// (syntax, validation, limits) pass through; anything else is an internal
// error: logged, and shown only as a generic message, because gqlgen would
// otherwise send err.Error() to the client.
func presentError(logger *slog.Logger, m *metrics.Metrics) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		var gqlErr *gqlerror.Error
		errors.As(err, &gqlErr)
		out := &gqlerror.Error{Path: graphql.GetPath(ctx)}
		if gqlErr != nil {
			if gqlErr.Path != nil {
				out.Path = gqlErr.Path
			}
			out.Locations = gqlErr.Locations
		}
		var authErr *auth.Error
		var msgErr *messages.Error
		switch {
		case errors.As(err, &authErr):
			m.FieldDenied(surface(ctx), string(authErr.Reason))
			r := auth.Describe(authErr)
			out.Message = r.Description
			out.Extensions = map[string]any{"code": r.GraphQLCode, "reason": authErr.Reason}
			if authErr.Reason == auth.ReasonInsufficientScope {
				// FORBIDDEN says what would grant access, so a client can
				// ask for the right consent: the OR-of-AND scope sets.
				out.Extensions["requiredScopes"] = requiredScopes(authErr.RequiredScopes)
			}
		case errors.As(err, &msgErr):
			out.Message = msgErr.Message
			out.Extensions = map[string]any{"code": msgErr.Code}
		case gqlErr != nil && gqlErr.Err == nil:
			return gqlErr
		default:
			logger.ErrorContext(ctx, "graphql internal error", "err", err, "path", out.Path.String())
			r := auth.Describe(err)
			out.Message = r.Description
			out.Extensions = map[string]any{"code": r.GraphQLCode}
		}
		return out
	}
}

// surface says whether ctx is an operation's over WebSocket (its upgrade
// request went through guardUpgrades) or over plain HTTP.
func surface(ctx context.Context) metrics.Surface {
	if _, ok := ctx.Value(upgradeCredentialsKey{}).(string); ok {
		return metrics.SurfaceWebSocket
	}
	return metrics.SurfaceGraphQL
}

// requiredScopes is extensions.requiredScopes: a JSON array of arrays of
// scopes, never null.
func requiredScopes(sets [][]string) [][]string {
	if sets == nil {
		return [][]string{}
	}
	return sets
}

// recoverPanic keeps a panicking resolver from taking the connection down;
// the stack goes to the log, the client sees an internal error.
func recoverPanic(logger *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		logger.ErrorContext(ctx, "graphql resolver panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return errors.New("graph: resolver panicked")
	}
}

// WriteError refuses a whole GraphQL request for an auth error (401, 503):
// an errors-only GraphQL response, never with "data", plus the headers RFC
// 6750 and RFC 9110 ask for, in the media type the request's Accept asks
// for (application/json when it allows neither).
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	resp := auth.Describe(err)
	ext := map[string]any{"code": resp.GraphQLCode}
	var authErr *auth.Error
	if errors.As(err, &authErr) {
		ext["reason"] = authErr.Reason
	}
	auth.SetHeaders(w.Header(), err)
	media := negotiate(r)
	if media == mediaNone {
		media = mediaJSON
	}
	writeErrors(w, resp.Status, media, gqlerror.List{{Message: resp.Description, Extensions: ext}})
}

// writeError refuses a WebSocket upgrade.
func writeError(w http.ResponseWriter, status int, code, message string) {
	writeErrors(w, status, mediaJSON, gqlerror.List{{Message: message, Extensions: map[string]any{"code": code}}})
}

// writeRequestError refuses a request before GraphQL sees it.
func writeRequestError(w http.ResponseWriter, media responseMedia, e *RequestError) {
	writeErrors(w, e.Status, media, gqlerror.List{e.gqlError()})
}

// writeErrors writes a GraphQL response of errors alone: a request error,
// for which the GraphQL specification says "data" is not present
// (section 7.1.2), and GraphQL over HTTP asks for no "data" under
// application/graphql-response+json.
func writeErrors(w http.ResponseWriter, status int, media responseMedia, errs gqlerror.List) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, media, struct {
		Errors gqlerror.List `json:"errors"`
	}{errs})
}

// writeResponse writes a GraphQL response that has "data" (null when the
// operation was refused as a whole before it ran).
func writeResponse(w http.ResponseWriter, status int, media responseMedia, resp *graphql.Response) {
	if len(resp.Errors) > 0 {
		w.Header().Set("Cache-Control", "no-store")
	}
	if isDataOnly(resp) {
		// The usual response is data alone, which gqlgen's marshalers
		// have written as compact JSON already: json.Marshal would only
		// scan it again to compact it, on every request.
		b := make([]byte, 0, len(`{"data":}`)+len(resp.Data))
		b = append(append(append(b, `{"data":`...), resp.Data...), '}')
		writeBody(w, status, media, b)
		return
	}
	writeJSON(w, status, media, resp)
}

// isDataOnly reports whether resp has nothing but non-empty data.
func isDataOnly(resp *graphql.Response) bool {
	return len(resp.Data) > 0 && len(resp.Errors) == 0 && resp.Label == "" && resp.Path == nil &&
		resp.HasNext == nil && len(resp.Extensions) == 0
}

func writeJSON(w http.ResponseWriter, status int, media responseMedia, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a resolver's value that JSON cannot hold gets here;
		// gqlgen's marshalers produce none.
		status = http.StatusInternalServerError
		b = []byte(`{"errors":[{"message":"internal server error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`)
	}
	writeBody(w, status, media, b)
}

func writeBody(w http.ResponseWriter, status int, media responseMedia, b []byte) {
	w.Header().Set("Content-Type", media.contentType())
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
