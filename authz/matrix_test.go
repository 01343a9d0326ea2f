package authz_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMatrixMarkdown: the demo schema's matrix is the committed AUTHZ.md
// (after its header), which go run . -print-authz writes.
func TestMatrixMarkdown(t *testing.T) {
	got := mustPolicy(t, loadSchema(t, demoFiles)).Matrix().Markdown()
	b, err := os.ReadFile(filepath.Join("..", "AUTHZ.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, want, ok := strings.Cut(string(b), "-->\n\n")
	if !ok {
		t.Fatalf("AUTHZ.md has no generated-file header: %.100s", b)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Markdown() differs from AUTHZ.md (-want +got); run go run . -print-authz > AUTHZ.md:\n%s", diff)
	}
}

func TestMatrixContent(t *testing.T) {
	m := mustPolicy(t, loadSchema(t, trapFiles)).Matrix()
	var names []string
	for _, ty := range m.Types {
		names = append(names, ty.Name+" "+ty.Kind)
		for _, f := range ty.Fields {
			if strings.HasPrefix(f.Name, "__") {
				t.Errorf("%s.%s is listed; introspection is left out", ty.Name, f.Name)
			}
		}
	}
	want := []string{"AuditEntry OBJECT", "Message OBJECT", "Mutation OBJECT", "Node INTERFACE", "Query OBJECT", "Secret INTERFACE", "Subscription OBJECT", "User OBJECT", "Vault OBJECT"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("types (-want +got):\n%s", diff)
	}
	// Fields keep the schema's order, extensions after the type.
	var query []string
	for _, ty := range m.Types {
		if ty.Name == "Query" {
			for _, f := range ty.Fields {
				query = append(query, f.Name)
			}
		}
	}
	wantQuery := []string{"publicMessage", "privateMessage", "scopedMessage", "me", "users", "node", "search", "auditLog", "secrets", "vault", "guarded"}
	if diff := cmp.Diff(wantQuery, query); diff != "" {
		t.Errorf("Query fields (-want +got):\n%s", diff)
	}
}

func TestMatrixJSON(t *testing.T) {
	m := mustPolicy(t, loadSchema(t, demoFiles)).Matrix()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Types []struct {
			Name       string
			Kind       string
			Interfaces []string
			Fields     []struct {
				Name        string
				Requirement struct {
					Kind   string
					Scopes [][]string
					Text   string
				}
			}
		}
	}
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	for _, ty := range decoded.Types {
		if ty.Name != "User" {
			continue
		}
		if diff := cmp.Diff([]string{"Node"}, ty.Interfaces); diff != "" {
			t.Errorf("User interfaces (-want +got):\n%s", diff)
		}
		for _, f := range ty.Fields {
			if f.Name == "email" {
				if f.Requirement.Kind != "scopes" || f.Requirement.Text != "scopes: read:users OR admin" {
					t.Errorf("User.email requirement = %+v", f.Requirement)
				}
				if diff := cmp.Diff([][]string{{"read:users"}, {"admin"}}, f.Requirement.Scopes); diff != "" {
					t.Errorf("User.email scopes (-want +got):\n%s", diff)
				}
				return
			}
		}
	}
	t.Errorf("User.email not in the JSON matrix: %s", b)
}

func TestMatrixMarkdownEscapes(t *testing.T) {
	s := loadSchema(t, nil, `directive @hasScope(scope: String!) on FIELD_DEFINITION
type Query { a: String @hasScope(scope: "x|y*z") }`)
	got := mustPolicy(t, s).Matrix().Markdown()
	if !strings.Contains(got, "| `a` | scopes: x\\|y\\*z |\n") {
		t.Errorf("Markdown() does not escape the scope:\n%s", got)
	}
}
