package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/authgql/server/internal/jsonscan"
)

// DefaultMaxBodyBytes caps a request body, and a WebSocket message, when
// Options.MaxBodyBytes is zero.
const DefaultMaxBodyBytes = 1 << 20

// Error codes, in extensions.code, of HTTP requests refused before they
// reach GraphQL. Each refusal's message is one of a fixed set (see
// RequestError): nothing of the request is echoed, no Go or library text.
const (
	CodeBadRequest           = "BAD_REQUEST"            // 400: not a well-formed GraphQL-over-HTTP request
	CodeBatchingForbidden    = "BATCHING_NOT_SUPPORTED" // 400: a JSON array of operations
	CodeBodyTooLarge         = "REQUEST_TOO_LARGE"      // 413: over Options.MaxBodyBytes
	CodeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE" // 415: a POST body that is not application/json
	CodeNotAcceptable        = "NOT_ACCEPTABLE"         // 406: Accept allows no media type we answer in
	CodeMethodNotAllowed     = "METHOD_NOT_ALLOWED"     // 405: a method, or a mutation over GET
)

// A RequestError refuses an HTTP request as a whole before GraphQL sees
// it: its Status, and one GraphQL error with Message and Code. The
// messages are fixed texts (the variables below, and errBodyTooLarge's
// configured size): the GraphQL over HTTP specification's "not a
// well-formed GraphQL-over-HTTP request" cases and HTTP's own refusals.
type RequestError struct {
	Status  int
	Code    string
	Message string
}

func (e *RequestError) Error() string { return "graph: " + e.Message }

func (e *RequestError) gqlError() *gqlerror.Error {
	return &gqlerror.Error{Message: e.Message, Extensions: map[string]any{"code": e.Code}}
}

func badRequest(message string) *RequestError {
	return &RequestError{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: message}
}

// The refusals of malformed requests, one fixed message per shape
// (SECURITY.md, issue 11 item 5; README "GraphQL over HTTP").
var (
	errBodyEmpty      = badRequest(`the request body is empty: send a JSON object with a "query" string`)
	errBodyNotJSON    = badRequest("the request body is not valid JSON")
	errBodyNotUTF8    = badRequest("the request body is not valid UTF-8")
	errBodyNotObject  = badRequest("the request body must be a JSON object")
	errBodyUnreadable = badRequest("could not read the request body")
	errBatching       = &RequestError{Status: http.StatusBadRequest, Code: CodeBatchingForbidden,
		Message: "batched operations are not supported: send one operation per request"}
	errQueryMissing  = badRequest(`the request has no "query": send the GraphQL document as a string`)
	errURLMalformed  = badRequest("the URL's query string is malformed")
	errURLNotUTF8    = badRequest("the URL's query string is not valid UTF-8")
	errMediaType     = &RequestError{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMediaType, Message: "a POST body must be application/json (UTF-8)"}
	errNotAcceptable = &RequestError{Status: http.StatusNotAcceptable, Code: CodeNotAcceptable,
		Message: "responses are application/graphql-response+json or application/json, and the Accept header allows neither"}
	errMethod = &RequestError{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed,
		Message: "this endpoint serves GraphQL over GET and POST"}
	errMutationOverGET = &RequestError{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed,
		Message: "mutations are not allowed over GET: use POST"}
)

// The members of a GraphQL-over-HTTP request (the specification's
// "Request Parameters"), each with its fixed refusals.
type member int

const (
	memberQuery member = iota
	memberOperationName
	memberVariables
	memberExtensions
	memberCount
)

var memberNames = [memberCount]string{"query", "operationName", "variables", "extensions"}

var (
	errMemberType = [memberCount]*RequestError{
		badRequest(`"query" must be a string`),
		badRequest(`"operationName" must be a string`),
		badRequest(`"variables" must be a JSON object`),
		badRequest(`"extensions" must be a JSON object`),
	}
	errMemberRepeated = [memberCount]*RequestError{
		badRequest(`"query" appears more than once`),
		badRequest(`"operationName" appears more than once`),
		badRequest(`"variables" appears more than once`),
		badRequest(`"extensions" appears more than once`),
	}
	// GET's variables and extensions are JSON inside the URL.
	errURLMemberJSON = [memberCount]*RequestError{
		memberVariables:  badRequest(`"variables" must be a JSON object, URL-encoded`),
		memberExtensions: badRequest(`"extensions" must be a JSON object, URL-encoded`),
	}
)

func memberOf[T string | []byte](name T) (member, bool) {
	for m, n := range memberNames {
		if n == string(name) {
			return member(m), true
		}
	}
	return memberCount, false
}

func errBodyTooLarge(maxBytes int64) *RequestError {
	return &RequestError{Status: http.StatusRequestEntityTooLarge, Code: CodeBodyTooLarge,
		Message: fmt.Sprintf("the request body is larger than %d bytes", maxBytes)}
}

// readBody reads a POST body of at most maxBytes.
func readBody(w http.ResponseWriter, r *http.Request, maxBytes int64) ([]byte, *RequestError) {
	if r.ContentLength > maxBytes {
		return nil, errBodyTooLarge(maxBytes)
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, errBodyEmpty
	}
	body := http.MaxBytesReader(w, r.Body, maxBytes)
	var (
		b   []byte
		err error
	)
	if r.ContentLength > 0 {
		// The usual case: one allocation of the announced size. A body
		// shorter than announced is net/http's unexpected EOF.
		b = make([]byte, r.ContentLength)
		_, err = io.ReadFull(body, b)
	} else {
		b, err = io.ReadAll(body)
	}
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return nil, errBodyTooLarge(maxBytes)
	case err != nil:
		return nil, errBodyUnreadable
	}
	return b, nil
}

// decodeBody decodes a POST body (application/json) into p: one pass over
// the body (jsonscan) finds the members by their exact names, then each is
// checked for type and decoded (variables and extensions only when sent).
// A body that is anything but one JSON object with the members' types
// gets its fixed RequestError; members besides the four are ignored, as
// the specification requires, and null is the same as absent. A member
// given twice is refused, so that nothing in front of the server reads
// another query than the one we run.
func decodeBody(body []byte, p *graphql.RawParams) *RequestError {
	start := skipSpace(body)
	switch {
	case start == len(body):
		return errBodyEmpty
	case !utf8.Valid(body):
		return errBodyNotUTF8
	case body[start] == '[':
		return errBatching
	case body[start] != '{':
		return errBodyNotObject
	}
	var raw [memberCount][]byte
	repeated := memberCount
	if jsonscan.Object(body, func(name, value []byte) {
		m, known := memberOf(name)
		switch {
		case !known:
		case raw[m] != nil && repeated == memberCount:
			repeated = m
		default:
			raw[m] = value
		}
	}) != nil {
		return errBodyNotJSON
	}
	if repeated != memberCount {
		return errMemberRepeated[repeated]
	}
	for m, v := range raw {
		if err := setMember(p, member(m), v); err != nil {
			return err
		}
	}
	if p.Query == "" && raw[memberQuery] == nil {
		return errQueryMissing
	}
	return nil
}

// setMember stores a member's value (raw JSON text; nil when absent), or
// refuses its type. null is the same as absent, but for query.
func setMember(p *graphql.RawParams, m member, v []byte) *RequestError {
	if v == nil || jsonscan.IsNull(v) {
		if v != nil && m == memberQuery {
			return errQueryMissing
		}
		return nil
	}
	switch m {
	case memberQuery, memberOperationName:
		s, ok := jsonscan.String(v)
		if !ok {
			return errMemberType[m]
		}
		if m == memberQuery {
			p.Query = s
		} else {
			p.OperationName = s
		}
	case memberVariables, memberExtensions:
		if !jsonscan.IsObject(v) {
			return errMemberType[m]
		}
		obj, err := decodeObject(v)
		if err != nil {
			return errBodyNotJSON
		}
		if m == memberVariables {
			p.Variables = obj
		} else {
			p.Extensions = obj
		}
	}
	return nil
}

// decodeObject decodes a JSON object already scanned as one, numbers kept
// as json.Number, as gqlgen does: integers beyond float64 keep their
// digits.
func decodeObject(v []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var obj map[string]any
	err := dec.Decode(&obj)
	return obj, err
}

// decodeURL decodes a GET request's URL query (application/x-www-form-
// urlencoded, as the specification's GET section says) into p. The empty
// string is the same as absent; variables and extensions are JSON objects.
func decodeURL(rawQuery string, p *graphql.RawParams) *RequestError {
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return errURLMalformed
	}
	var seen [memberCount]bool
	for name, vs := range values {
		m, known := memberOf(name)
		if !known {
			continue
		}
		if len(vs) > 1 {
			return errMemberRepeated[m]
		}
		if !utf8.ValidString(vs[0]) {
			return errURLNotUTF8
		}
		seen[m] = vs[0] != ""
	}
	if !seen[memberQuery] {
		return errQueryMissing
	}
	p.Query = values.Get("query")
	p.OperationName = values.Get("operationName")
	for _, m := range []member{memberVariables, memberExtensions} {
		if !seen[m] {
			continue
		}
		v := []byte(values.Get(memberNames[m]))
		if jsonscan.Object(v, func(_, _ []byte) {}) != nil {
			return errURLMemberJSON[m]
		}
		if err := setMember(p, m, bytes.TrimSpace(v)); err != nil {
			return err
		}
	}
	return nil
}

func skipSpace(b []byte) int {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}
