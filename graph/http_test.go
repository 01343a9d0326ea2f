package graph

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

const (
	acceptJSON            = "application/json"
	acceptGraphQLResponse = "application/graphql-response+json"
)

// exchange is one HTTP request to the handler, read back.
type exchange struct {
	status int
	header http.Header
	body   string
	// decoded body: hasData tells "data" present (even null)
	hasData bool
	data    json.RawMessage
	errors  []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	}
}

func (e exchange) code() string {
	if len(e.errors) == 0 {
		return ""
	}
	c, _ := e.errors[0].Extensions["code"].(string)
	return c
}

// send runs one request; header values "" are left out.
func send(t *testing.T, h http.Handler, method, target, body string, header map[string]string) exchange {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body == "" {
		req.Body = http.NoBody
	}
	for k, v := range header {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	e := exchange{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		if method != http.MethodHead && rec.Code != http.StatusNoContent {
			t.Fatalf("%s %s: body is not a JSON object: %v\n%s", method, target, err, rec.Body)
		}
		return e
	}
	e.data, e.hasData = raw["data"]
	_ = json.Unmarshal(raw["errors"], &e.errors)
	return e
}

func postJSON(t *testing.T, h http.Handler, accept, body string) exchange {
	t.Helper()
	return send(t, h, http.MethodPost, "/graphql", body, map[string]string{"Content-Type": "application/json", "Accept": accept})
}

func getQuery(t *testing.T, h http.Handler, accept string, params url.Values) exchange {
	t.Helper()
	return send(t, h, http.MethodGet, "/graphql?"+params.Encode(), "", map[string]string{"Accept": accept})
}

// wsOperation runs one operation over graphql-transport-ws, anonymously,
// and returns the messages about it (next, error, complete), raw.
func wsOperation(t *testing.T, h http.Handler, query string) []string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	payload, _ := json.Marshal(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]string{"query": query}})
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init"}`)); err != nil {
		t.Fatal(err)
	}
	// graphql-transport-ws: nothing may be subscribed before the ack.
	if _, b, err := conn.Read(ctx); err != nil || !strings.Contains(string(b), `"connection_ack"`) {
		t.Fatalf("connection_init answered %s, %v", b, err)
	}
	if err := conn.Write(ctx, websocket.MessageText, payload); err != nil {
		t.Fatal(err)
	}
	var out []string
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("after %q: %v", out, err)
		}
		var m struct{ Type string }
		_ = json.Unmarshal(b, &m)
		switch m.Type {
		case "connection_ack", "ping", "pong":
			continue
		}
		out = append(out, string(b))
		if m.Type == "complete" || m.Type == "error" {
			return out
		}
	}
}

func queryBody(query string) string {
	b, _ := json.Marshal(map[string]string{"query": query})
	return string(b)
}

// TestGraphQLOverHTTPStatus is the status table of http.go, for each
// response media type: GraphQL request errors are 200 under
// application/json and 400 without "data" under
// application/graphql-response+json; malformed requests and HTTP-level
// refusals have their 4xx under both.
func TestGraphQLOverHTTPStatus(t *testing.T) {
	h := newTestHandler(t, Options{MaxBodyBytes: 1024, MaxFields: 5})
	type want struct {
		json, graphQLResponse int
		data                  bool   // a "data" entry (for request errors, never)
		code                  string // the first error's code, "" for no error
	}
	requestError := func(code string) want { return want{http.StatusOK, http.StatusBadRequest, false, code} }
	malformed := func(status int, code string) want { return want{status, status, false, code} }
	for _, tt := range []struct {
		name string
		body string
		want want
	}{
		{"data", queryBody(`{ publicMessage { text } }`), want{200, 200, true, ""}},
		{"data and a field error", queryBody(`{ publicMessage { text } privateMessage { text } }`), want{200, 200, true, "UNAUTHENTICATED"}},
		{"document does not parse", queryBody(`{`), requestError("GRAPHQL_PARSE_FAILED")},
		{"document does not validate", queryBody(`{ nope }`), requestError("GRAPHQL_VALIDATION_FAILED")},
		{"empty document", queryBody(``), requestError("GRAPHQL_VALIDATION_FAILED")},
		{"operationName names no operation", `{"query":"query A { __typename }","operationName":"B"}`, requestError("GRAPHQL_VALIDATION_FAILED")},
		{"two operations, no operationName", `{"query":"query A { __typename } query B { __typename }"}`, requestError("GRAPHQL_VALIDATION_FAILED")},
		{"variable does not coerce", `{"query":"query($id: ID!) { __typename }","variables":{"id":null}}`, requestError("GRAPHQL_VALIDATION_FAILED")},
		{"over a limit", queryBody(`{ a: __typename b: __typename c: __typename d: __typename e: __typename f: __typename }`), requestError(CodeFieldLimit)},
		{"introspection off", queryBody(`{ __schema { queryType { name } } }`), requestError("GRAPHQL_VALIDATION_FAILED")},
		{"subscription over HTTP", queryBody(`subscription { messageSent { text } }`), requestError(CodeSubscriptionTransport)},
		{"body not JSON", `{"query":`, malformed(400, CodeBadRequest)},
		{"query not a string", `{"query":1}`, malformed(400, CodeBadRequest)},
		{"no query", `{"qeury":"{ __typename }"}`, malformed(400, CodeBadRequest)},
		{"batch", `[{"query":"{ __typename }"}]`, malformed(400, CodeBatchingForbidden)},
		{"body too large", `{"query":"{ __typename }","pad":"` + strings.Repeat("p", 1024) + `"}`, malformed(413, CodeBodyTooLarge)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, accept := range []string{acceptJSON, acceptGraphQLResponse} {
				e := postJSON(t, h, accept, tt.body)
				status, ct := tt.want.json, "application/json; charset=utf-8"
				if accept == acceptGraphQLResponse {
					status, ct = tt.want.graphQLResponse, "application/graphql-response+json; charset=utf-8"
				}
				if e.status != status || e.hasData != tt.want.data || e.code() != tt.want.code {
					t.Errorf("Accept %s: %d, data %v, code %q; want %d, data %v, code %q\n%s",
						accept, e.status, e.hasData, e.code(), status, tt.want.data, tt.want.code, e.body)
				}
				if got := e.header.Get("Content-Type"); got != ct {
					t.Errorf("Accept %s: Content-Type %q; want %q", accept, got, ct)
				}
			}
		})
	}

	t.Run("HTTP refusals", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			method string
			target string
			header map[string]string
			body   string
			status int
			code   string
			allow  string
		}{
			{"no Content-Type", "POST", "/graphql", nil, queryBody(`{ __typename }`), 415, CodeUnsupportedMediaType, ""},
			{"text/plain (a form can send it)", "POST", "/graphql", map[string]string{"Content-Type": "text/plain"}, queryBody(`{ __typename }`), 415, CodeUnsupportedMediaType, ""},
			{"form", "POST", "/graphql", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "query=%7B__typename%7D", 415, CodeUnsupportedMediaType, ""},
			{"JSON in Latin-1", "POST", "/graphql", map[string]string{"Content-Type": "application/json; charset=iso-8859-1"}, queryBody(`{ __typename }`), 415, CodeUnsupportedMediaType, ""},
			{"JSON in UTF-8", "POST", "/graphql", map[string]string{"Content-Type": "application/json; charset=UTF-8"}, queryBody(`{ __typename }`), 200, "", ""},
			{"Accept neither", "POST", "/graphql", map[string]string{"Content-Type": "application/json", "Accept": "text/html"}, queryBody(`{ __typename }`), 406, CodeNotAcceptable, ""},
			{"mutation over GET", "GET", "/graphql?query=" + url.QueryEscape(`mutation { sendMessage(text: "x") { id } }`), nil, "", 405, CodeMethodNotAllowed, "POST"},
			{"PUT", "PUT", "/graphql", map[string]string{"Content-Type": "application/json"}, queryBody(`{ __typename }`), 405, CodeMethodNotAllowed, "GET, HEAD, POST, OPTIONS"},
			{"GET without query", "GET", "/graphql", nil, "", 400, CodeBadRequest, ""},
			{"GET", "GET", "/graphql?query=" + url.QueryEscape(`{ __typename }`), nil, "", 200, "", ""},
		} {
			e := send(t, h, tt.method, tt.target, tt.body, tt.header)
			if e.status != tt.status || e.code() != tt.code || e.hasData != (tt.status == 200) {
				t.Errorf("%s: %d, code %q, data %v; want %d, %q\n%s", tt.name, e.status, e.code(), e.hasData, tt.status, tt.code, e.body)
			}
			if got := e.header.Get("Allow"); got != tt.allow {
				t.Errorf("%s: Allow %q; want %q", tt.name, got, tt.allow)
			}
		}
		e := send(t, h, http.MethodOptions, "/graphql", "", nil)
		if e.status != http.StatusNoContent || e.header.Get("Allow") != "GET, HEAD, POST, OPTIONS" {
			t.Errorf("OPTIONS: %d, Allow %q", e.status, e.header.Get("Allow"))
		}
		e = send(t, h, http.MethodHead, "/graphql?query="+url.QueryEscape(`{ __typename }`), "", nil)
		if e.status != http.StatusOK {
			t.Errorf("HEAD: %d", e.status)
		}
	})
}

// TestGET: the parameters in the URL, variables and extensions as JSON;
// the empty string is absent.
func TestGET(t *testing.T) {
	h := newTestHandler(t, Options{Introspection: true})
	e := getQuery(t, h, acceptGraphQLResponse, url.Values{
		"query":         {`query Named($name: String!) { __type(name: $name) { name } } query Other { __typename }`},
		"operationName": {"Named"},
		"variables":     {`{"name":"Query"}`},
		"extensions":    {`{"some":"value"}`},
	})
	if e.status != http.StatusOK || string(e.data) != `{"__type":{"name":"Query"}}` {
		t.Errorf("GET with every parameter: %d %s", e.status, e.body)
	}
	e = getQuery(t, h, acceptJSON, url.Values{"query": {`{ __typename }`}, "variables": {""}, "operationName": {""}, "extensions": {"null"}})
	if e.status != http.StatusOK || len(e.errors) != 0 {
		t.Errorf("GET with empty parameters: %d %s", e.status, e.body)
	}
}

func TestNegotiate(t *testing.T) {
	for _, tt := range []struct {
		accept []string
		want   responseMedia
	}{
		{nil, mediaJSON},
		{[]string{""}, mediaJSON},
		{[]string{"application/json"}, mediaJSON},
		{[]string{"application/graphql-response+json"}, mediaGraphQLResponse},
		{[]string{"*/*"}, mediaJSON},
		{[]string{"application/*"}, mediaJSON},
		{[]string{"application/graphql-response+json, application/json;q=0.9"}, mediaGraphQLResponse},
		{[]string{"application/json, application/graphql-response+json;q=0.5"}, mediaJSON},
		{[]string{"application/json", "application/graphql-response+json"}, mediaGraphQLResponse},
		{[]string{"Application/GraphQL-Response+JSON ; charset=utf-8"}, mediaGraphQLResponse},
		{[]string{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, mediaJSON},
		{[]string{"application/graphql-response+json;q=0.1, */*"}, mediaJSON},
		{[]string{"*/*, application/graphql-response+json"}, mediaGraphQLResponse},
		{[]string{"text/html"}, mediaNone},
		{[]string{"application/json;q=0, application/graphql-response+json;q=0"}, mediaNone},
		{[]string{"*/*;q=0"}, mediaNone},
		{[]string{"application/json;q=2"}, mediaJSON}, // unreadable, as if absent
		{[]string{"nonsense"}, mediaJSON},
	} {
		r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		for _, a := range tt.accept {
			r.Header.Add("Accept", a)
		}
		if got := negotiate(r); got != tt.want {
			t.Errorf("negotiate(%q) = %v; want %v", tt.accept, got, tt.want)
		}
	}
}

// TestWriteErrorNegotiates: a 401 or 503 from authentication is in the
// media type the client asked for, and never has "data".
func TestWriteErrorNegotiates(t *testing.T) {
	for accept, ct := range map[string]string{
		"":                    "application/json; charset=utf-8",
		acceptGraphQLResponse: "application/graphql-response+json; charset=utf-8",
		"text/html":           "application/json; charset=utf-8",
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		WriteError(rec, req, context.DeadlineExceeded)
		if rec.Header().Get("Content-Type") != ct || strings.Contains(rec.Body.String(), `"data"`) {
			t.Errorf("Accept %q: %d %q %s", accept, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
	}
}

// TestCheckOperation: Options.CheckOperation runs once the operation is
// valid and within the limits, before any resolver: its refusal is 200
// (under either media type) with "data": null and every error it
// returned, bounded; nothing ran. Over WebSocket the same refusal reaches
// the client as errors, and the operation does not run either.
func TestCheckOperation(t *testing.T) {
	var checked []string
	check := func(_ context.Context, op *graphql.OperationContext) gqlerror.List {
		checked = append(checked, string(op.Operation.Operation))
		if op.Operation.Operation == ast.Query {
			return nil
		}
		var errs gqlerror.List
		for i, sel := range op.Operation.SelectionSet {
			errs = append(errs, &gqlerror.Error{
				Message:    "refused",
				Path:       ast.Path{ast.PathName(sel.(*ast.Field).Alias)},
				Extensions: map[string]any{"code": "FORBIDDEN", "i": i},
			})
		}
		return errs
	}
	h := newTestHandler(t, Options{CheckOperation: check, MaxErrors: 3})

	// Had sendMessage run, its directive would have answered
	// UNAUTHENTICATED (no token): the check's errors alone show it did not.
	for _, accept := range []string{acceptJSON, acceptGraphQLResponse} {
		e := postJSON(t, h, accept, queryBody(`mutation { a: sendMessage(text: "x") { id } b: sendMessage(text: "y") { id } }`))
		if e.status != http.StatusOK || string(e.data) != "null" || len(e.errors) != 2 || e.code() != "FORBIDDEN" ||
			strings.Contains(e.body, "UNAUTHENTICATED") {
			t.Errorf("Accept %s: refused mutation answered %d %s", accept, e.status, e.body)
		}
	}
	// Bounded like any other list.
	var many strings.Builder
	many.WriteString("mutation {")
	for i := range 10 {
		many.WriteString(" m" + string(rune('a'+i)) + `: sendMessage(text: "x") { id }`)
	}
	many.WriteString(" }")
	e := postJSON(t, h, acceptJSON, queryBody(many.String()))
	if len(e.errors) != 4 || e.errors[3].Extensions["code"] != CodeTooManyErrors {
		t.Errorf("10 refusals with MaxErrors 3: %s", e.body)
	}
	// Queries pass; invalid operations never reach the check.
	if e := postJSON(t, h, acceptJSON, queryBody(`{ publicMessage { text } }`)); e.status != 200 || string(e.data) == "null" {
		t.Errorf("query: %s", e.body)
	}
	before := len(checked)
	postJSON(t, h, acceptJSON, queryBody(`mutation { nope }`))
	postJSON(t, h, acceptJSON, queryBody(`subscription { messageSent { text } }`))
	if len(checked) != before {
		t.Errorf("the check ran on an invalid operation or a subscription over HTTP: %v", checked[before:])
	}

	t.Run("WebSocket", func(t *testing.T) {
		// The protocol's error message, with the check's errors.
		msgs := wsOperation(t, h, `mutation { a: sendMessage(text: "x") { id } }`)
		if len(msgs) != 1 || !strings.Contains(msgs[0], `"type":"error"`) || !strings.Contains(msgs[0], `"refused"`) || strings.Contains(msgs[0], "UNAUTHENTICATED") {
			t.Fatalf("refusal over WebSocket: %q", msgs)
		}
		t.Logf("over WebSocket: %s", msgs[0])
	})
}
