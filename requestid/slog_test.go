package requestid_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"testing/slogtest"

	"github.com/authgql/server/requestid"
)

func jsonLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestHandlerAddsRequestID(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(requestid.NewHandler(slog.NewJSONHandler(&buf, nil)))
	ctx := requestid.NewContext(context.Background(), "req-1")

	logger.InfoContext(ctx, "with id", "k", "v")
	logger.InfoContext(context.Background(), "without id")
	logger.Info("no context")
	logger.With("component", "auth").WarnContext(ctx, "with attrs")
	logger.WithGroup("ws").With("conn", 7).InfoContext(ctx, "in a group", "k", "v")
	logger.WithGroup("a").WithGroup("b").InfoContext(context.Background(), "group without id")
	logger.DebugContext(ctx, "below the level")

	lines := jsonLines(t, &buf)
	if len(lines) != 6 {
		t.Fatalf("%d lines; want 6 (debug is below the JSON handler's level)\n%s", len(lines), buf.String())
	}
	tests := []struct {
		msg    string
		wantID bool
	}{
		{"with id", true}, {"without id", false}, {"no context", false},
		{"with attrs", true}, {"in a group", true}, {"group without id", false},
	}
	for i, tt := range tests {
		l := lines[i]
		if l["msg"] != tt.msg {
			t.Fatalf("line %d msg %v; want %q", i, l["msg"], tt.msg)
		}
		id, has := l[requestid.LogKey]
		if tt.wantID && id != "req-1" || !tt.wantID && has {
			t.Errorf("%q: %s = %v (present %v); want present %v", tt.msg, requestid.LogKey, id, has, tt.wantID)
		}
	}
	if lines[3]["component"] != "auth" {
		t.Errorf("With attrs lost: %v", lines[3])
	}
	group, _ := lines[4]["ws"].(map[string]any)
	if group["conn"] != float64(7) || group["k"] != "v" || group[requestid.LogKey] != nil {
		t.Errorf("group content %v; want conn and k inside ws, request_id at the top only", lines[4])
	}
	if _, ok := lines[5]["a"]; ok {
		t.Errorf("empty groups written: %v", lines[5]) // slog drops empty groups; the wrapper must too
	}
}

// TestHandlerConformance runs the standard library's slog.Handler checks
// on the wrapper (with and without an ID in the context).
func TestHandlerConformance(t *testing.T) {
	for _, ctx := range []context.Context{context.Background(), requestid.NewContext(context.Background(), "req-2")} {
		var buf bytes.Buffer
		slogtest.Run(t, func(*testing.T) slog.Handler {
			buf.Reset()
			return withContext{requestid.NewHandler(slog.NewJSONHandler(&buf, nil)), ctx}
		}, func(t *testing.T) map[string]any {
			lines := jsonLines(t, &buf)
			if len(lines) != 1 {
				t.Fatalf("%d lines; want 1", len(lines))
			}
			m := lines[0]
			if id, ok := requestid.FromContext(ctx); ok {
				if m[requestid.LogKey] != id {
					t.Errorf("%s = %v; want %q", requestid.LogKey, m[requestid.LogKey], id)
				}
				delete(m, requestid.LogKey)
			}
			return m
		})
	}
}

// withContext hands every record to h with ctx, since slogtest logs with
// context.Background.
type withContext struct {
	h   slog.Handler
	ctx context.Context
}

func (w withContext) Enabled(_ context.Context, l slog.Level) bool  { return w.h.Enabled(w.ctx, l) }
func (w withContext) Handle(_ context.Context, r slog.Record) error { return w.h.Handle(w.ctx, r) }
func (w withContext) WithAttrs(as []slog.Attr) slog.Handler {
	return withContext{w.h.WithAttrs(as), w.ctx}
}
func (w withContext) WithGroup(name string) slog.Handler {
	return withContext{w.h.WithGroup(name), w.ctx}
}
