package graph

import (
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/lexer"
)

// maxMessageBytes caps an error message, and each name in its path: a
// parse error quotes the token it stopped at, which may be a string
// literal of the whole body's size.
const maxMessageBytes = 300

// sanitize rewrites the errors of CreateOperationContext before any
// client sees them:
//
//   - An operationName that names no operation of the document is
//     refused with a fixed message (gqlgen's would echo the name).
//   - With introspection off, no message names a schema element that the
//     request did not name itself. A validation error's message may quote
//     only names that are name tokens of the request's document;
//     otherwise it is replaced by the fixed message of its rule
//     (genericValidationMessage). "Did you mean" suggestions are cut off
//     first (the rules run without them anyway: validationRules). The
//     rule ValuesOfCorrectType is always replaced, since it names the
//     expected type unquoted ("Int cannot represent ..."). A variable's
//     coercion error keeps only the messages that name nothing
//     (safeVariableMessage).
//   - Every message, and every name of a path, is cut at maxMessageBytes.
//   - A document over the field limit, refused during validation
//     (validationRules), keeps the limit's code.
//
// Locations and paths are kept: they point into the request itself.
func (x *executor) sanitize(params *graphql.RawParams, op *graphql.OperationContext, errs gqlerror.List) gqlerror.List {
	var names map[string]bool // the document's name tokens, read when first needed
	docNames := func() map[string]bool {
		if names == nil {
			names = nameTokens(params.Query)
		}
		return names
	}
	for _, e := range errs {
		switch {
		case op != nil && op.Doc != nil && op.Operation == nil:
			// GetOperation failed (GraphQL spec, 6.1).
			if params.OperationName == "" {
				e.Message = "the document has more than one operation: name the one to run in operationName"
			} else {
				e.Message = "operationName names no operation of the document"
			}
		case x.introspection:
		case e.Rule != "":
			e.Message = validationMessage(e, docNames)
		case op != nil && op.Operation != nil && !safeVariableMessage(e.Message):
			e.Message = "the value of this variable does not match its type"
		}
		if e.Rule == ruleDocumentFields {
			// One code for the field limit, wherever it is met (gqlgen
			// gives every validation error its own code).
			e.Extensions = map[string]any{"code": CodeFieldLimit}
		}
		e.Message = truncate(e.Message)
		for i, p := range e.Path {
			if name, ok := p.(ast.PathName); ok && len(name) > maxMessageBytes {
				e.Path[i] = ast.PathName(truncate(string(name)))
			}
		}
	}
	return errs
}

// validationMessage is e's message without suggestions when every name it
// quotes is one of the document's, else its rule's fixed message.
func validationMessage(e *gqlerror.Error, docNames func() map[string]bool) string {
	rule := strings.TrimSuffix(e.Rule, "WithoutSuggestions")
	msg, _, _ := strings.Cut(e.Message, " Did you mean ")
	if rule == "ValuesOfCorrectType" || !quotesOnly(msg, docNames) {
		return genericValidationMessage(rule)
	}
	return msg
}

// quotesOnly reports whether every name inside the double-quoted parts of
// msg is in names. An unbalanced quote fails.
func quotesOnly(msg string, names func() map[string]bool) bool {
	for {
		_, rest, found := strings.Cut(msg, `"`)
		if !found {
			return true
		}
		quoted, after, closed := strings.Cut(rest, `"`)
		if !closed {
			return false
		}
		for _, name := range identifiers(quoted) {
			if !names()[name] {
				return false
			}
		}
		msg = after
	}
}

// identifiers returns the GraphQL names (/[_A-Za-z][_0-9A-Za-z]*/) in s:
// "$id" holds id, "[String!]!" String, "Query.field" Query and field.
func identifiers(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		if !isNameStart(s[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(s) && (isNameStart(s[j]) || s[j] >= '0' && s[j] <= '9') {
			j++
		}
		out = append(out, s[i:j])
		i = j
	}
	return out
}

func isNameStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// nameTokens returns the Name tokens of a document: field, argument,
// type, fragment, variable, directive and enum value names, and keywords
// (query, on, ...). String literals are not names: a message may not
// confirm a guess made in a string.
func nameTokens(query string) map[string]bool {
	names := map[string]bool{}
	lx := lexer.New(&ast.Source{Input: query})
	for {
		tok, err := lx.ReadToken()
		if err != nil || tok.Kind == lexer.EOF {
			return names
		}
		if tok.Kind == lexer.Name {
			names[tok.Value] = true
		}
	}
}

// safeVariableMessage reports whether msg is one of gqlparser's variable
// coercion messages that name no type (validator.VariableValues); the
// others name the expected type, which for a field of an input object the
// request never named.
func safeVariableMessage(msg string) bool {
	switch msg {
	case "must be defined", "cannot be null", "unknown field", "enums must be ints or strings":
		return true
	}
	return false
}

// genericValidationMessage is the fixed message of a validation rule
// (gqlparser's rule names, graphql-js's texts without the names).
func genericValidationMessage(rule string) string {
	switch rule {
	case "FieldsOnCorrectType":
		return "Cannot query this field: its parent type has no field of this name."
	case "FragmentsOnCompositeTypes":
		return "A fragment can only be on an object, interface or union type."
	case "KnownArgumentNames":
		return "Unknown argument."
	case "KnownDirectives":
		return "Unknown directive, or a directive where it may not be used."
	case "KnownFragmentNames":
		return "Unknown fragment."
	case "KnownRootType":
		return "This operation type is not supported."
	case "KnownTypeNames":
		return "Unknown type."
	case "NoUndefinedVariables":
		return "A variable is used but not defined by the operation."
	case "NoUnusedVariables":
		return "A variable is defined but never used."
	case "OverlappingFieldsCanBeMerged":
		return "Two fields of the same response name conflict: use different aliases."
	case "PossibleFragmentSpreads":
		return "This fragment can never apply here."
	case "ProvidedRequiredArguments":
		return "A required argument is missing."
	case "ScalarLeafs":
		return "A field of a scalar or enum type cannot have a selection, and a field of an object type needs one."
	case "SingleFieldSubscriptions":
		return "A subscription must select exactly one top level field, and no introspection field."
	case "ValuesOfCorrectType":
		return "A value does not match the type expected where it is used."
	case "VariablesAreInputTypes":
		return "A variable's type must be an input type: a scalar, an enum or an input object."
	case "VariablesInAllowedPosition":
		return "A variable's type does not match the type expected where it is used."
	default:
		return "The document is not valid for this schema."
	}
}

// truncate cuts s to at most maxMessageBytes, at a character boundary.
func truncate(s string) string {
	if len(s) <= maxMessageBytes {
		return s
	}
	cut := maxMessageBytes - len("…")
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
