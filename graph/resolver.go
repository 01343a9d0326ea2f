package graph

import (
	"context"
	"log/slog"
	"time"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/demo"
	"github.com/authgql/server/graph/model"
	"github.com/authgql/server/graphqlws"
	"github.com/authgql/server/messages"
	"github.com/authgql/server/metrics"
)

// Resolver is the root resolver and the one place the GraphQL layer gets its
// dependencies from. This file is not regenerated; the resolvers in
// schema.resolvers.go stay thin and call the helpers here.
type Resolver struct {
	Hub     messages.Bus
	Logger  *slog.Logger
	Metrics *metrics.Metrics // live subscriptions; nil means none
	Demo    *demo.Data       // the users and audit entries of SPEC.md's demo
}

// fixedMessage is one of the samples' fixed texts as a Message.
func fixedMessage(id, text string) *model.Message {
	return &model.Message{ID: id, Text: text}
}

// toModel is a sent message as clients see it; its sender is the user
// named by the sender's token subject.
func toModel(m messages.Message) *model.Message {
	sentAt := m.SentAt.Format(time.RFC3339Nano)
	out := &model.Message{ID: m.ID, Text: m.Text, SentAt: &sentAt, Sender: subjectUser(m.Author)}
	if m.Author != "" {
		out.Author = &m.Author
	}
	return out
}

// subject is the caller's token subject, "" without a token (the
// directives normally require one).
func subject(ctx context.Context) string {
	if c, ok := auth.FromContext(ctx); ok {
		return c.Subject
	}
	return ""
}

// subjectUser is the user a token subject stands for: its id and name are
// the subject, its email unknown; nil for a token without "sub" (RFC 7519
// makes it optional), which stands for no user: an ID! cannot be empty.
func subjectUser(sub string) *model.User {
	if sub == "" {
		return nil
	}
	return &model.User{ID: sub, Name: sub}
}

func userModel(u demo.User) *model.User {
	out := &model.User{ID: u.ID, Name: u.Name}
	if u.Email != "" {
		out.Email = &u.Email
	}
	return out
}

func auditModel(e demo.AuditEntry) *model.AuditEntry {
	return &model.AuditEntry{ID: e.ID, Action: e.Action}
}

func usersModel(users []demo.User) []*model.User {
	out := make([]*model.User, len(users))
	for i, u := range users {
		out[i] = userModel(u)
	}
	return out
}

func auditLogModel(entries []demo.AuditEntry) []*model.AuditEntry {
	out := make([]*model.AuditEntry, len(entries))
	for i, e := range entries {
		out[i] = auditModel(e)
	}
	return out
}

// forward relays the hub's messages to a GraphQL subscription until the
// client stops, the hub ends the subscription (slow client), or the
// caller's token expires. The last two end it with an error message on the
// subscription, so the client knows why: SLOW_SUBSCRIBER, or
// UNAUTHENTICATED with reason token_expired, telling it to re-authenticate.
// No subscription outlives its token.
func (r *Resolver) forward(ctx context.Context, sub *messages.Subscription) <-chan *model.Message {
	out := make(chan *model.Message)
	var expired <-chan time.Time
	stopTimer := func() bool { return false }
	if c, ok := auth.FromContext(ctx); ok && !c.ValidUntil.IsZero() {
		t := time.NewTimer(time.Until(c.ValidUntil))
		expired, stopTimer = t.C, t.Stop
	}
	fail := func(err error) {
		graphqlws.AddSubscriptionError(ctx, presentError(r.Logger, r.Metrics)(ctx, err))
	}
	expire := func() {
		fail(&auth.Error{Reason: auth.ReasonTokenExpired, Detail: "token expired during the subscription; subscribe again with a fresh token"})
	}
	ended := r.Metrics.SubscriptionStarted()
	go func() {
		defer close(out)
		defer ended()
		defer sub.Close()
		defer stopTimer()
		for {
			select {
			case <-ctx.Done():
				return
			case <-expired:
				expire()
				return
			case m, ok := <-sub.C:
				if !ok {
					if err := sub.Err(); err != nil {
						fail(err)
					}
					return
				}
				select {
				case out <- toModel(m):
				case <-ctx.Done():
					return
				case <-expired:
					expire()
					return
				}
			}
		}
	}()
	return out
}
