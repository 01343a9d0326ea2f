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
)

// This file is where every GraphQL error body is written: gqlgen's error
// presenter and recover func for errors during an operation, and, for
// requests refused as a whole (authentication, body limits, WebSocket
// upgrades), WriteError and writeErrors. Package api writes the server's
// other JSON bodies.

// presentError is gqlgen's error presenter. Auth errors get their code and
// text from auth.Describe, their reason, and with FORBIDDEN the scope sets
// that would grant access (extensions.requiredScopes); errors that gqlgen and gqlparser build for the
// client (syntax, validation, limits) pass through; anything else is an
// internal error: logged, and shown only as a generic message, because
// gqlgen would otherwise send err.Error() to the client.
func presentError(logger *slog.Logger) graphql.ErrorPresenterFunc {
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
// 6750 and RFC 9110 ask for.
func WriteError(w http.ResponseWriter, _ *http.Request, err error) {
	r := auth.Describe(err)
	ext := map[string]any{"code": r.GraphQLCode}
	var authErr *auth.Error
	if errors.As(err, &authErr) {
		ext["reason"] = authErr.Reason
	}
	auth.SetHeaders(w.Header(), err)
	writeErrors(w, r.Status, &gqlerror.Error{Message: r.Description, Extensions: ext})
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeErrors(w, status, &gqlerror.Error{Message: message, Extensions: map[string]any{"code": code}})
}

func writeErrors(w http.ResponseWriter, status int, errs ...*gqlerror.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// Not graphql.Response: it would add "data":null, and a refused request
	// has no data at all.
	_ = json.NewEncoder(w).Encode(struct {
		Errors gqlerror.List `json:"errors"`
	}{errs})
}
