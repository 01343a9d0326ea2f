package demo_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/authgql/server/demo"
)

func TestData(t *testing.T) {
	d := demo.New()
	wantUsers := []demo.User{
		{ID: "user-1", Name: "Ada Lovelace", Email: "ada@example.test"},
		{ID: "user-2", Name: "Grace Hopper", Email: "grace@example.test"},
	}
	if diff := cmp.Diff(wantUsers, d.Users()); diff != "" {
		t.Errorf("Users (-want +got):\n%s", diff)
	}
	wantAudit := []demo.AuditEntry{{ID: "audit-1", Action: "login"}, {ID: "audit-2", Action: "delete-message"}}
	if diff := cmp.Diff(wantAudit, d.AuditLog()); diff != "" {
		t.Errorf("AuditLog (-want +got):\n%s", diff)
	}
	d.Users()[0].Name = "changed"
	if u, _ := d.User("user-1"); u.Name != "Ada Lovelace" {
		t.Errorf("Users returned the data itself: a caller changed it to %q", u.Name)
	}
	if u, ok := d.User("user-2"); !ok || u.Name != "Grace Hopper" {
		t.Errorf("User(user-2) = %+v, %v", u, ok)
	}
	if e, ok := d.AuditEntry("audit-2"); !ok || e.Action != "delete-message" {
		t.Errorf("AuditEntry(audit-2) = %+v, %v", e, ok)
	}
	for _, id := range []string{"", "user-3", "USER-1", "audit-1 "} {
		if _, ok := d.User(id); ok {
			t.Errorf("User(%q) found", id)
		}
		if _, ok := d.AuditEntry(id); ok && id != "audit-1" {
			t.Errorf("AuditEntry(%q) found", id)
		}
	}
}

func TestSearch(t *testing.T) {
	d := demo.New()
	for _, tt := range []struct {
		text  string
		users []string
		audit []string
	}{
		{"", []string{"user-1", "user-2"}, []string{"audit-1", "audit-2"}},
		{"o", []string{"user-1", "user-2"}, []string{"audit-1"}},
		{"LOVE", []string{"user-1"}, nil},
		{"grace h", []string{"user-2"}, nil},
		{"delete", nil, []string{"audit-2"}},
		{"e-m", nil, []string{"audit-2"}},
		{"ada@", nil, nil}, // emails are not searched
		{"nobody", nil, nil},
	} {
		users, entries := d.Search(tt.text)
		var gotUsers, gotAudit []string
		for _, u := range users {
			gotUsers = append(gotUsers, u.ID)
		}
		for _, e := range entries {
			gotAudit = append(gotAudit, e.ID)
		}
		if diff := cmp.Diff(tt.users, gotUsers); diff != "" {
			t.Errorf("Search(%q) users (-want +got):\n%s", tt.text, diff)
		}
		if diff := cmp.Diff(tt.audit, gotAudit); diff != "" {
			t.Errorf("Search(%q) audit entries (-want +got):\n%s", tt.text, diff)
		}
	}
}
