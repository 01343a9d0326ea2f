package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// CheckSchema enforces default deny: every field of Query, Mutation and
// Subscription must carry exactly one of @public, @auth and @hasScope, and
// every @hasScope must name a well-formed scope. It returns one error line
// per offending field, so a forgotten directive stops the server at start
// instead of exposing the field.
func CheckSchema(s *ast.Schema) error {
	var errs []error
	for _, root := range []*ast.Definition{s.Query, s.Mutation, s.Subscription} {
		if root == nil {
			continue
		}
		for _, f := range root.Fields {
			if strings.HasPrefix(f.Name, "__") { // introspection, added by the parser
				continue
			}
			if err := checkField(f); err != nil {
				errs = append(errs, fmt.Errorf("schema: %s.%s %w", root.Name, f.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

func checkField(f *ast.FieldDefinition) error {
	var found []*ast.Directive
	for _, d := range f.Directives {
		switch d.Name {
		case DirectivePublic, DirectiveAuth, DirectiveHasScope:
			found = append(found, d)
		}
	}
	switch len(found) {
	case 0:
		return errors.New("has no access directive: add exactly one of @public, @auth, @hasScope(scope: ...)")
	case 1:
	default:
		return fmt.Errorf("has %d access directives: keep exactly one of @public, @auth, @hasScope", len(found))
	}
	if d := found[0]; d.Name == DirectiveHasScope {
		arg := d.Arguments.ForName("scope")
		if arg == nil || arg.Value == nil || arg.Value.Kind != ast.StringValue || !validScope(arg.Value.Raw) {
			return errors.New(`has @hasScope without a valid literal scope (RFC 6749 scope-token, e.g. "read:messages")`)
		}
	}
	return nil
}

// validScope reports whether s is an RFC 6749 scope-token, which is also
// what makes it safe to quote in a WWW-Authenticate header.
func validScope(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < 0x21 || c == '"' || c == '\\' || c > 0x7e {
			return false
		}
	}
	return true
}

// SchemaScopes lists, sorted and without duplicates, the scopes that the
// @hasScope directives of s require, on any field.
func SchemaScopes(s *ast.Schema) []string {
	var scopes []string
	for _, def := range s.Types {
		for _, f := range def.Fields {
			if d := f.Directives.ForName(DirectiveHasScope); d != nil {
				if arg := d.Arguments.ForName("scope"); arg != nil && arg.Value != nil {
					scopes = append(scopes, arg.Value.Raw)
				}
			}
		}
	}
	slices.Sort(scopes)
	return slices.Compact(scopes)
}
