package requestid

import (
	"context"
	"log/slog"
)

// LogKey is the attribute key of the request ID in log records.
const LogKey = "request_id"

// handler adds LogKey to records whose context carries a request ID.
type handler struct {
	// base is the handler given to NewHandler, and ops the WithAttrs and
	// WithGroup calls made since, in order: base with ops applied is next.
	// Inside a group, an attribute added to the record would land in the
	// group; replaying ops on base.WithAttrs(id) keeps it at the top.
	base    slog.Handler
	next    slog.Handler
	ops     []func(slog.Handler) slog.Handler
	grouped bool
}

// NewHandler returns a slog.Handler that passes every record to next,
// adding the attribute request_id (LogKey) at the top level, outside any
// group, when the record's context carries a request ID (FromContext).
// Records logged without a context, or with one without an ID, pass
// unchanged.
func NewHandler(next slog.Handler) slog.Handler {
	return &handler{base: next, next: next}
}

func (h *handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	id, ok := FromContext(ctx)
	switch {
	case !ok:
		return h.next.Handle(ctx, r)
	case !h.grouped:
		r = r.Clone()
		r.AddAttrs(slog.String(LogKey, id))
		return h.next.Handle(ctx, r)
	}
	with := h.base.WithAttrs([]slog.Attr{slog.String(LogKey, id)})
	for _, op := range h.ops {
		with = op(with)
	}
	return with.Handle(ctx, r)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return h.with(func(n slog.Handler) slog.Handler { return n.WithAttrs(attrs) }, false)
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.with(func(n slog.Handler) slog.Handler { return n.WithGroup(name) }, true)
}

func (h *handler) with(op func(slog.Handler) slog.Handler, group bool) *handler {
	return &handler{
		base:    h.base,
		next:    op(h.next),
		ops:     append(h.ops[:len(h.ops):len(h.ops)], op),
		grouped: h.grouped || group,
	}
}
