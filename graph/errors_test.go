package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/messages"
)

func TestPresentError(t *testing.T) {
	var logs bytes.Buffer
	present := presentError(slog.New(slog.NewTextHandler(&logs, nil)), nil)
	ctx := graphql.WithPathContext(context.Background(), graphql.NewPathWithField("scopedMessage"))

	for _, tt := range []struct {
		name     string
		err      error
		message  string
		code     string
		logged   bool
		leakFree string // must not appear in the message
	}{
		{"auth error", &auth.Error{Reason: auth.ReasonInsufficientScope, RequiredScopes: [][]string{{"read:x"}}, Err: errors.New("jwx: secret detail")},
			`You don't have access to this resource: it requires the scope "read:x"`, "FORBIDDEN", false, "jwx"},
		{"wrapped auth error", gqlerror.WrapPath(ast.Path{ast.PathName("privateMessage")}, &auth.Error{Reason: auth.ReasonMissing}),
			"Authorization header is expected", "UNAUTHENTICATED", false, ""},
		{"domain error", fmt.Errorf("send: %w", &messages.Error{Code: messages.CodeBadInput, Message: "text is too long"}),
			"text is too long", messages.CodeBadInput, false, "send:"},
		{"internal error", errors.New("pq: password authentication failed for user admin"),
			"internal server error", "INTERNAL_SERVER_ERROR", true, "password"},
		{"wrapped internal error", gqlerror.WrapPath(nil, errors.New("dial tcp 10.0.0.5:5432: refused")),
			"internal server error", "INTERNAL_SERVER_ERROR", true, "10.0.0.5"},
		{"panic", recoverPanic(slog.New(slog.NewTextHandler(&logs, nil)))(ctx, "index out of range [secret]"),
			"internal server error", "INTERNAL_SERVER_ERROR", true, "secret"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			got := present(ctx, tt.err)
			if got.Message != tt.message || got.Extensions["code"] != tt.code {
				t.Errorf("presented %q %v; want %q %s", got.Message, got.Extensions, tt.message, tt.code)
			}
			if tt.leakFree != "" && strings.Contains(got.Message, tt.leakFree) {
				t.Errorf("message leaks %q: %q", tt.leakFree, got.Message)
			}
			if logged := logs.Len() > 0; logged != tt.logged {
				t.Errorf("logged = %v; want %v (%s)", logged, tt.logged, logs.String())
			}
			if len(got.Path) == 0 {
				t.Errorf("no path")
			}
		})
	}

	t.Run("gqlparser validation errors pass through", func(t *testing.T) {
		in := gqlerror.Errorf(`Cannot query field "nope" on type "Query".`)
		if got := present(ctx, in); got != in {
			t.Errorf("validation error rewritten: %v", got)
		}
	})
}

func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, httptest.NewRequest(http.MethodPost, "/graphql", nil), &auth.Error{Reason: auth.ReasonTokenExpired, Err: errors.New(`"exp" not satisfied`)})
	body := rec.Body.String()
	if rec.Code != 401 || strings.Contains(body, "not satisfied") || strings.Contains(body, `"data"`) ||
		rec.Header().Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
		t.Errorf("%d %q %s", rec.Code, rec.Header().Get("WWW-Authenticate"), body)
	}
}

// TestWriteResponseDataOnly: the data-only fast path writes what
// encoding/json would (byte for byte but for its HTML escaping of <, >
// and &, which application/json does not need), and every other response
// goes through encoding/json.
func TestWriteResponseDataOnly(t *testing.T) {
	hasNext := false
	for _, resp := range []*graphql.Response{
		{Data: json.RawMessage(`{"publicMessage":{"text":"a \"quoted\" \u00e9 text"}}`)},
		{Data: json.RawMessage(`null`)},
		{Data: json.RawMessage(`{"a":1}`), Extensions: map[string]any{}}, // gqlgen's usual: an empty map
		{Data: json.RawMessage(`{"text":"<script>&</script>"}`)},
		{Data: json.RawMessage(`{"a":1}`), Errors: gqlerror.List{{Message: "x"}}},
		{Data: json.RawMessage(`{"a":1}`), Extensions: map[string]any{"k": "v"}},
		{Data: json.RawMessage(`{"a":1}`), HasNext: &hasNext},
		{},
	} {
		want, err := json.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		writeResponse(rec, http.StatusOK, mediaJSON, resp)
		var got, wantValue any
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("writeResponse(%+v) wrote invalid JSON %s: %v", resp, rec.Body, err)
		}
		_ = json.Unmarshal(want, &wantValue)
		if !reflect.DeepEqual(got, wantValue) || !strings.ContainsAny(string(resp.Data), "<>&") && rec.Body.String() != string(want) {
			t.Errorf("writeResponse(%+v) = %s; want %s", resp, rec.Body, want)
		}
	}
}
