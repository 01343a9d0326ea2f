// Package prototype runs the authz engine inside gqlgen's generated
// executor, to show where it hooks in: see wiring.go and prototype_test.go.
package prototype

//go:generate go tool gqlgen generate

import (
	"context"
	"slices"
	"sync"
)

// Resolver answers with the demo data and records which resolvers ran, so
// the tests can prove a denied field's resolver never does.
type Resolver struct {
	mu  sync.Mutex
	ran []string
}

// Ran returns, sorted, the resolvers run since the last call, and forgets
// them.
func (r *Resolver) Ran() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ran := slices.Sorted(slices.Values(r.ran))
	r.ran = nil
	return ran
}

func (r *Resolver) run(name string) {
	r.mu.Lock()
	r.ran = append(r.ran, name)
	r.mu.Unlock()
}

func ada() *User {
	email := "ada@example.test"
	return &User{ID: "user-1", Name: "Ada Lovelace", Email: &email}
}

func (r *Resolver) Mutation() MutationResolver         { return mutation{r} }
func (r *Resolver) Query() QueryResolver               { return query{r} }
func (r *Resolver) Subscription() SubscriptionResolver { return subscription{r} }

type mutation struct{ *Resolver }
type query struct{ *Resolver }
type subscription struct{ *Resolver }

func (r mutation) SendMessage(_ context.Context, text string) (*Message, error) {
	r.run("sendMessage")
	return &Message{ID: "m-1", Text: text, Sender: ada()}, nil
}

func (r mutation) DeleteMessage(context.Context, string) (bool, error) {
	r.run("deleteMessage")
	return true, nil
}

func (r query) PublicMessage(context.Context) (*Message, error) {
	r.run("publicMessage")
	return &Message{ID: "p", Text: "public", Sender: ada()}, nil
}

func (r query) PrivateMessage(context.Context) (*Message, error) {
	r.run("privateMessage")
	return &Message{ID: "q", Text: "private"}, nil
}

func (r query) ScopedMessage(context.Context) (*Message, error) {
	r.run("scopedMessage")
	return &Message{ID: "s", Text: "scoped"}, nil
}

func (r query) Me(context.Context) (*User, error) { r.run("me"); return ada(), nil }

func (r query) Users(context.Context) ([]*User, error) { r.run("users"); return []*User{ada()}, nil }

func (r query) Node(context.Context, string) (Node, error) { r.run("node"); return ada(), nil }

func (r query) Search(context.Context, string) ([]SearchResult, error) {
	r.run("search")
	return []SearchResult{ada(), &AuditEntry{ID: "audit-1", Action: "login"}}, nil
}

func (r query) AuditLog(context.Context) ([]*AuditEntry, error) {
	r.run("auditLog")
	return []*AuditEntry{{ID: "audit-1", Action: "login"}}, nil
}

func (r subscription) MessageSent(context.Context) (<-chan *Message, error) {
	r.run("messageSent")
	ch := make(chan *Message, 1)
	ch <- &Message{ID: "m", Text: "t", Sender: ada()}
	return ch, nil
}
