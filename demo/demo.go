// Package demo is the fixed data of the authorization demo that SPEC.md
// defines beside its schema block "Authorization beyond single fields": two
// users and two audit entries, always the same and in this order. The
// GraphQL resolvers (package graph) read it; who may read which field is
// the schema's business (package authz), not this package's.
package demo

import "strings"

// User is a person of the demo.
type User struct {
	ID    string
	Name  string
	Email string // "" for none
}

// AuditEntry is one entry of the demo's audit log.
type AuditEntry struct {
	ID     string
	Action string
}

// Data is the demo data. It is immutable: every method returns copies.
type Data struct {
	users []User
	audit []AuditEntry
}

// New returns the demo data of SPEC.md: users user-1 (Ada Lovelace,
// ada@example.test) and user-2 (Grace Hopper, grace@example.test), audit
// entries audit-1 (login) and audit-2 (delete-message).
func New() *Data {
	return &Data{
		users: []User{
			{ID: "user-1", Name: "Ada Lovelace", Email: "ada@example.test"},
			{ID: "user-2", Name: "Grace Hopper", Email: "grace@example.test"},
		},
		audit: []AuditEntry{
			{ID: "audit-1", Action: "login"},
			{ID: "audit-2", Action: "delete-message"},
		},
	}
}

// Users returns every user, in order.
func (d *Data) Users() []User { return append([]User(nil), d.users...) }

// AuditLog returns every audit entry, in order.
func (d *Data) AuditLog() []AuditEntry { return append([]AuditEntry(nil), d.audit...) }

// User returns the user with id.
func (d *Data) User(id string) (User, bool) {
	for _, u := range d.users {
		if u.ID == id {
			return u, true
		}
	}
	return User{}, false
}

// AuditEntry returns the audit entry with id.
func (d *Data) AuditEntry(id string) (AuditEntry, bool) {
	for _, e := range d.audit {
		if e.ID == id {
			return e, true
		}
	}
	return AuditEntry{}, false
}

// Search returns the users whose name, and the audit entries whose action,
// contain text, ignoring case (compared in lower case), each in order. An
// empty text matches everything.
func (d *Data) Search(text string) ([]User, []AuditEntry) {
	var users []User
	for _, u := range d.users {
		if containsFold(u.Name, text) {
			users = append(users, u)
		}
	}
	var entries []AuditEntry
	for _, e := range d.audit {
		if containsFold(e.Action, text) {
			entries = append(entries, e)
		}
	}
	return users, entries
}

// containsFold reports whether s contains sub, ignoring case.
func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
