package graph

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/go-cmp/cmp"
)

// requestErrors is every RequestError a request can get, but the size
// refusal, whose message carries the configured limit.
func requestErrors() []*RequestError {
	errs := []*RequestError{errBodyEmpty, errBodyNotJSON, errBodyNotUTF8, errBodyNotObject, errBodyUnreadable,
		errBatching, errQueryMissing, errURLMalformed, errURLNotUTF8, errMediaType, errNotAcceptable, errMethod, errMutationOverGET}
	for m := range memberCount {
		errs = append(errs, errMemberType[m], errMemberRepeated[m])
		if errURLMemberJSON[m] != nil {
			errs = append(errs, errURLMemberJSON[m])
		}
	}
	return errs
}

// isRequestErrorMessage reports whether msg is one of the fixed messages.
func isRequestErrorMessage(msg string) bool {
	for _, e := range requestErrors() {
		if e.Message == msg {
			return true
		}
	}
	return false
}

// TestDecodeBody: every malformed shape of a POST body gets its fixed
// message (issue 11, item 5: a member of the wrong type answered with the
// decoder's text naming a Go type and the whole body echoed).
func TestDecodeBody(t *testing.T) {
	for _, tt := range []struct {
		body string
		want *RequestError
	}{
		{``, errBodyEmpty},
		{" \n\t ", errBodyEmpty},
		{`{"query": <script>`, errBodyNotJSON},
		{`{"query":"{ __typename }"`, errBodyNotJSON},
		{`{"query":"{ __typename }"} {"query":"{ __typename }"}`, errBodyNotJSON},
		{`{"query":"{ __typename }"}]`, errBodyNotJSON},
		{`{"query":"{ __typename }",}`, errBodyNotJSON},
		{`{'query':'{ __typename }'}`, errBodyNotJSON},
		{"{\"query\":\"{ __typename \xff}\"}", errBodyNotUTF8},
		{`"{ __typename }"`, errBodyNotObject},
		{`42`, errBodyNotObject},
		{`null`, errBodyNotObject},
		{`NONSENSE`, errBodyNotObject},
		{`[{"query":"{ __typename }"}]`, errBatching},
		{`[]`, errBatching},
		{`{}`, errQueryMissing},
		{`{"qeury":"{ __typename }"}`, errQueryMissing},
		{`{"Query":"{ __typename }"}`, errQueryMissing},
		{`{"query":null}`, errQueryMissing},
		{`{"query":1}`, errMemberType[memberQuery]},
		{`{"query":{"obj":"ect"}}`, errMemberType[memberQuery]},
		{`{"query":["{ __typename }"]}`, errMemberType[memberQuery]},
		{`{"query":false}`, errMemberType[memberQuery]},
		{`{"query":"{ __typename }","operationName":0}`, errMemberType[memberOperationName]},
		{`{"query":"{ __typename }","operationName":["a"]}`, errMemberType[memberOperationName]},
		{`{"query":"{ __typename }","variables":"x"}`, errMemberType[memberVariables]},
		{`{"query":"{ __typename }","variables":[7]}`, errMemberType[memberVariables]},
		{`{"query":"{ __typename }","variables":0}`, errMemberType[memberVariables]},
		{`{"query":"{ __typename }","extensions":"x"}`, errMemberType[memberExtensions]},
		{`{"query":"{ __typename }","extensions":false}`, errMemberType[memberExtensions]},
		{`{"query":"{ a }","query":"{ b }"}`, errMemberRepeated[memberQuery]},
		{`{"query":"{ a }","operationName":"A","operationName":"B"}`, errMemberRepeated[memberOperationName]},
		{`{"query":"{ a }","variables":{},"variables":{}}`, errMemberRepeated[memberVariables]},
		{`{"query":"{ a }","extensions":null,"extensions":{}}`, errMemberRepeated[memberExtensions]},
	} {
		var p graphql.RawParams
		got := decodeBody([]byte(tt.body), &p)
		if got != tt.want {
			t.Errorf("decodeBody(%.60q) = %v; want %v", tt.body, got, tt.want)
		}
	}
}

// TestDecodeBodyMembers: the members' values, null as absent, others
// ignored, numbers kept as written.
func TestDecodeBodyMembers(t *testing.T) {
	var p graphql.RawParams
	body := `{"unknown":[1,{"x":2}],"query":"query Q($n: Int) { __typename }","operationName":"Q",` +
		`"variables":{"n":12345678901234567890,"s":"é"},"extensions":{"persistedQuery":{"version":1}}}`
	if err := decodeBody([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	want := graphql.RawParams{
		Query:         "query Q($n: Int) { __typename }",
		OperationName: "Q",
		Variables:     map[string]any{"n": json.Number("12345678901234567890"), "s": "é"},
		Extensions:    map[string]any{"persistedQuery": map[string]any{"version": json.Number("1")}},
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("params (-want +got):\n%s", diff)
	}
	p = graphql.RawParams{}
	if err := decodeBody([]byte(`{"query":"{ __typename }","operationName":null,"variables":null,"extensions":null}`), &p); err != nil ||
		p.OperationName != "" || p.Variables != nil || p.Extensions != nil {
		t.Errorf("nulls: %v %+v", err, p)
	}
}

func TestDecodeURL(t *testing.T) {
	for _, tt := range []struct {
		query string
		want  *RequestError
	}{
		{"", errQueryMissing},
		{"query=", errQueryMissing},
		{"query=%7B__typename%7D", nil},
		{"query=%7B__typename%7D&variables=&extensions=&operationName=", nil},
		{"query=%7B__typename%7D&variables=null", nil},
		{"query=%zz", errURLMalformed},
		{"query=%7B__typename%7D&query=%7Bx%7D", errMemberRepeated[memberQuery]},
		{"query=%7B__typename%7D&operationName=a&operationName=b", errMemberRepeated[memberOperationName]},
		{"query=%7B__typename%FF%7D", errURLNotUTF8},
		{"query=%7B__typename%7D&variables=x", errURLMemberJSON[memberVariables]},
		{"query=%7B__typename%7D&variables=%5B1%5D", errURLMemberJSON[memberVariables]},
		{"query=%7B__typename%7D&variables=%7B%7D%7B%7D", errURLMemberJSON[memberVariables]},
		{"query=%7B__typename%7D&extensions=%22x%22", errURLMemberJSON[memberExtensions]},
	} {
		var p graphql.RawParams
		if got := decodeURL(tt.query, &p); got != tt.want {
			t.Errorf("decodeURL(%q) = %v; want %v", tt.query, got, tt.want)
		}
	}
}

// TestMalformedRequestsOverHTTP: through the handler, a malformed request
// gets 400, one error with its fixed message and code BAD_REQUEST (or its
// own), and the response holds nothing of the request.
func TestMalformedRequestsOverHTTP(t *testing.T) {
	h := newTestHandler(t, Options{})
	marker := strings.Repeat("SECRET-", 2000)
	for _, body := range []string{
		`{"query":"{ publicMessage { text } }","variables":"` + marker + `"}`,
		`{"query":"{ publicMessage { text } }","extensions":["` + marker + `"]}`,
		`{"query":"{ publicMessage { text } }","operationName":{"` + marker + `":1}}`,
		`{"query":["` + marker + `"]}`,
		`{"query":"` + marker + `",`,
		`"` + marker + `"`,
		`[{"query":"` + marker + `"}]`,
		`{"query":"` + marker + `","query":"x"}`,
		"{\"query\":\"" + marker + "\xc3\"}",
	} {
		e := postJSON(t, h, acceptJSON, body)
		if e.status != http.StatusBadRequest || len(e.errors) != 1 || !isRequestErrorMessage(e.errors[0].Message) {
			t.Errorf("%.40q: %d %.300s", body, e.status, e.body)
		}
		if strings.Contains(e.body, "SECRET") || strings.Contains(e.body, "json:") || strings.Contains(e.body, "Go value") {
			t.Errorf("%.40q: the response echoes the request or the decoder: %.300s", body, e.body)
		}
	}
	for _, q := range []string{"query=" + url.QueryEscape(marker) + "&variables=" + url.QueryEscape(marker), "query=%" + marker} {
		e := send(t, h, http.MethodGet, "/graphql?"+q, "", nil)
		if e.status != http.StatusBadRequest || !isRequestErrorMessage(e.errors[0].Message) || strings.Contains(e.body, "SECRET") {
			t.Errorf("GET %.40q: %d %.300s", q, e.status, e.body)
		}
	}
}

// FuzzDecodeBody: whatever the bytes, decodeBody does not panic, refuses
// with one of the fixed messages (so it cannot echo the input), and
// accepts only one JSON object whose query is a string.
func FuzzDecodeBody(f *testing.F) {
	for _, seed := range []string{
		`{"query":"{ publicMessage { text } }"}`,
		`{"query":"query Q($n: Int) { a(n: $n) }","operationName":"Q","variables":{"n":1},"extensions":{"persistedQuery":{"version":1}}}`,
		`{"query":"{ a }","variables":"x"}`,
		`{"query":"{ a }","query":"{ b }"}`,
		`{"query":null,"unknown":[1,2,{"a":null}]}`,
		`[{"query":"{ a }"}]`,
		`  {"query": "\u00e9\ud83c\udfc3"}  `,
		"{\"query\":\"\xff\"}",
		`{"query":"{ a }"} trailing`,
		`NONSENSE`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var p graphql.RawParams
		err := decodeBody(body, &p)
		if err != nil {
			if !isRequestErrorMessage(err.Message) || err.Status != http.StatusBadRequest {
				t.Fatalf("decodeBody(%q) = %d %q: not a fixed refusal", body, err.Status, err.Message)
			}
			return
		}
		trimmed := bytes.TrimSpace(body)
		if !json.Valid(body) || !utf8.Valid(body) || len(trimmed) == 0 || trimmed[0] != '{' {
			t.Fatalf("decodeBody accepted %q, which is not one JSON object", body)
		}
		var check map[string]any
		if err := json.Unmarshal(body, &check); err != nil {
			t.Fatalf("decodeBody accepted %q: %v", body, err)
		}
		if q, ok := check["query"].(string); !ok || q != p.Query {
			t.Fatalf("decodeBody(%q): query %q, the body's %v", body, p.Query, check["query"])
		}
	})
}
