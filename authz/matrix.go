package authz

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// Matrix is the authorization matrix of a schema: every field of every
// object and interface type with its effective requirement. Types are in
// alphabetical order, fields in the order the schema declares them
// (extensions after the type they extend), so the text is stable and a
// change of who may read what shows up as a small diff. Introspection types
// and the __schema and __type fields are left out: they are always
// readable. It encodes to JSON as {"types": [{"name", "kind",
// "interfaces", "fields": [{"name", "requirement"}]}]}, each requirement as
// Requirement.MarshalJSON gives it.
type Matrix struct {
	Types []MatrixType `json:"types"`
}

// MatrixType is one object or interface type of a Matrix.
type MatrixType struct {
	Name       string        `json:"name"`
	Kind       string        `json:"kind"` // "OBJECT" or "INTERFACE"
	Interfaces []string      `json:"interfaces,omitempty"`
	Fields     []MatrixField `json:"fields"`
}

// MatrixField is one field of a MatrixType.
type MatrixField struct {
	Name        string      `json:"name"`
	Requirement Requirement `json:"requirement"`
}

// Matrix returns the authorization matrix of p's schema.
func (p *Policy) Matrix() Matrix {
	var m Matrix
	for _, def := range sortedTypes(p.schema) {
		if def.Kind != ast.Object && def.Kind != ast.Interface {
			continue
		}
		t := MatrixType{Name: def.Name, Kind: string(def.Kind), Interfaces: slices.Clone(def.Interfaces), Fields: []MatrixField{}}
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			r, _ := p.FieldRequirement(def.Name, f.Name)
			t.Fields = append(t.Fields, MatrixField{Name: f.Name, Requirement: r})
		}
		m.Types = append(m.Types, t)
	}
	return m
}

// Markdown renders m as a Markdown document: a title, a short legend, and
// one table per type with columns "field" and "requirement" (the
// requirement as Requirement.String prints it).
func (m Matrix) Markdown() string {
	var b strings.Builder
	b.WriteString("# Authorization matrix\n\n")
	b.WriteString("Every field of every object and interface type, with the requirement that\n")
	b.WriteString("applies to it: its own directive AND its type's AND those of the interfaces\n")
	b.WriteString("its type implements. `public`: anyone; `authenticated`: any valid token;\n")
	b.WriteString("`scopes: (a AND b) OR c`: a valid token granting a and b, or c.\n")
	b.WriteString("`__typename` and introspection are always readable.\n")
	b.WriteString("Generated from the schema; do not edit.\n")
	for _, t := range m.Types {
		fmt.Fprintf(&b, "\n## %s\n\n%s", t.Name, strings.ToLower(t.Kind))
		if len(t.Interfaces) > 0 {
			fmt.Fprintf(&b, ", implements %s", strings.Join(t.Interfaces, ", "))
		}
		if t.Kind == string(ast.Interface) {
			// An interface's own requirement is the least a field read
			// through it needs; each object type adds its own.
			var impl []string
			for _, o := range m.Types {
				if slices.Contains(o.Interfaces, t.Name) {
					impl = append(impl, o.Name)
				}
			}
			if len(impl) > 0 {
				fmt.Fprintf(&b, ", implemented by %s. A field read through it is decided on the object\n"+
					"type that answers it, whose requirement includes the one below: see those types.", strings.Join(impl, ", "))
			}
		}
		b.WriteString("\n\n| field | requirement |\n| --- | --- |\n")
		for _, f := range t.Fields {
			fmt.Fprintf(&b, "| `%s` | %s |\n", f.Name, markdownCell(f.Requirement.String()))
		}
	}
	return b.String()
}

// markdownCell escapes what Markdown would read as formatting or as the end
// of a table cell: a scope-token may contain any printable ASCII but space,
// '"' and '\'.
func markdownCell(s string) string {
	return strings.NewReplacer(
		"|", `\|`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`,
		"<", `\<`, ">", `\>`, "~", `\~`, "#", `\#`, "&", `\&`, "!", `\!`,
	).Replace(s)
}
