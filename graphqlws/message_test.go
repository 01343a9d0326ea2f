package graphqlws

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestDecode: each protocol's client messages decode to their kind, and
// each kind of malformed message to its problem.
func TestDecode(t *testing.T) {
	for _, tt := range []struct {
		proto subprotocol
		in    string
		kind  kind
		prob  problem
		id    string
	}{
		{transportWS, `{"type":"connection_init"}`, kindInit, 0, ""},
		{transportWS, `{"type":"connection_init","payload":null}`, kindInit, 0, ""},
		{transportWS, `{"type":"connection_init","payload":{"authorization":"Bearer x"}}`, kindInit, 0, ""},
		{transportWS, ` {"type":"ping","payload":{"n":1}} `, kindPing, 0, ""},
		{transportWS, `{"type":"pong"}`, kindPong, 0, ""},
		{transportWS, `{"id":"1","type":"subscribe","payload":{"query":"{a}","variables":null,"operationName":null,"extensions":null}}`, kindSubscribe, 0, "1"},
		{transportWS, `{"id":"1","type":"complete"}`, kindComplete, 0, "1"},
		{legacyWS, `{"type":"connection_init","payload":{}}`, kindInit, 0, ""},
		{legacyWS, `{"id":"1","type":"start","payload":{"query":"{a}","variables":{"x":1}}}`, kindSubscribe, 0, "1"},
		{legacyWS, `{"id":"1","type":"stop"}`, kindComplete, 0, "1"},
		{legacyWS, `{"type":"connection_terminate"}`, kindTerminate, 0, ""},

		{transportWS, `{"type":"connection_init"`, 0, problemNotJSON, ""},
		{transportWS, ``, 0, problemNotJSON, ""},
		{transportWS, `{"type":"ping"} {}`, 0, problemNotJSON, ""},
		{transportWS, `["connection_init"]`, 0, problemNotObject, ""},
		{transportWS, `"connection_init"`, 0, problemNotObject, ""},
		{transportWS, `null`, 0, problemNotObject, ""},
		{transportWS, `{}`, 0, problemNoType, ""},
		{transportWS, `{"type":null}`, 0, problemNoType, ""},
		{transportWS, `{"type":1}`, 0, problemNoType, ""},
		{transportWS, `{"TYPE":"ping"}`, 0, problemNoType, ""},
		{transportWS, `{"type":"Ping"}`, 0, problemUnknownType, ""},
		{transportWS, `{"type":"next","id":"1","payload":{}}`, 0, problemUnknownType, ""},
		{transportWS, `{"type":"start","id":"1","payload":{"query":"{a}"}}`, 0, problemUnknownType, ""},
		{legacyWS, `{"type":"subscribe","id":"1","payload":{"query":"{a}"}}`, 0, problemUnknownType, ""},
		{legacyWS, `{"type":"ping"}`, 0, problemUnknownType, ""},
		{transportWS, `{"type":"connection_init","payload":"Bearer x"}`, kindInit, problemInitPayload, ""},
		{transportWS, `{"type":"connection_init","payload":42}`, kindInit, problemInitPayload, ""},
		{legacyWS, `{"type":"connection_init","payload":[1,2]}`, kindInit, problemInitPayload, ""},
		{transportWS, `{"type":"ping","payload":[]}`, kindPing, problemPingPayload, ""},
		{transportWS, `{"type":"subscribe","payload":{"query":"{a}"}}`, kindSubscribe, problemBadID, ""},
		{transportWS, `{"type":"subscribe","id":"","payload":{"query":"{a}"}}`, kindSubscribe, problemBadID, ""},
		{transportWS, `{"type":"subscribe","id":7,"payload":{"query":"{a}"}}`, kindSubscribe, problemBadID, ""},
		{transportWS, `{"type":"complete"}`, kindComplete, problemBadID, ""},
		{transportWS, `{"type":"subscribe","id":"1"}`, kindSubscribe, problemOperation, "1"},
		{transportWS, `{"type":"subscribe","id":"1","payload":"{a}"}`, kindSubscribe, problemOperation, "1"},
		{transportWS, `{"type":"subscribe","id":"1","payload":{}}`, kindSubscribe, problemQuery, "1"},
		{transportWS, `{"type":"subscribe","id":"1","payload":{"query":null}}`, kindSubscribe, problemQuery, "1"},
		{transportWS, `{"type":"subscribe","id":"1","payload":{"query":{"kind":"Document"}}}`, kindSubscribe, problemQuery, "1"},
		{transportWS, `{"type":"subscribe","id":"1","payload":{"query":"{a}","variables":"x"}}`, kindSubscribe, problemVariables, "1"},
		{transportWS, `{"type":"subscribe","id":"1","payload":{"query":"{a}","variables":[1]}}`, kindSubscribe, problemVariables, "1"},
		{transportWS, `{"type":"subscribe","id":"1","payload":{"query":"{a}","operationName":5}}`, kindSubscribe, problemOperationName, "1"},
		{legacyWS, `{"type":"start","id":"1","payload":{"query":"{a}","extensions":"x"}}`, kindSubscribe, problemExtensions, "1"},
	} {
		m, prob := decode(tt.proto, []byte(tt.in))
		if prob != tt.prob || m.kind != tt.kind || m.id != tt.id {
			t.Errorf("%v %s: kind %d, problem %q, id %q; want %d, %q, %q", tt.proto, tt.in, m.kind, prob.text(), m.id, tt.kind, tt.prob.text(), tt.id)
		}
	}
}

// TestDecodeValues: payloads arrive as the protocols define them, numbers
// exactly (json.Number, as gqlgen's HTTP transports).
func TestDecodeValues(t *testing.T) {
	m, prob := decode(transportWS, []byte(`{"id":"a","type":"subscribe","payload":{"query":"q","operationName":"Op","variables":{"n":12345678901234567890},"extensions":{"e":true}}}`))
	if prob != 0 {
		t.Fatal(prob.text())
	}
	p := m.params
	if p.Query != "q" || p.OperationName != "Op" || p.Variables["n"] != json.Number("12345678901234567890") || p.Extensions["e"] != true {
		t.Errorf("params = %+v", p)
	}
	m, _ = decode(transportWS, []byte(`{"type":"connection_init"}`))
	if m.init == nil || len(m.init) != 0 {
		t.Errorf("absent init payload = %#v; want an empty map", m.init)
	}
	m, _ = decode(transportWS, []byte(`{"type":"ping","payload":{"n":1}}`))
	if string(m.ping) != `{"n":1}` {
		t.Errorf("ping payload = %s", m.ping)
	}
	m, _ = decode(transportWS, []byte(`{"type":"ping","payload":null}`))
	if m.ping != nil {
		t.Errorf("null ping payload = %s; want none", m.ping)
	}
}

// TestProblemTexts: every client-visible text is fixed, distinct, fits a
// close reason after its prefix, and names nothing of Go.
func TestProblemTexts(t *testing.T) {
	seen := map[string]bool{}
	for p := problemNotJSON; p <= problemTooLarge; p++ {
		s := p.text()
		if s == "invalid message" || seen[s] {
			t.Errorf("problem %d has text %q (missing or repeated)", p, s)
		}
		seen[s] = true
		if r := "Invalid message received: " + s; len(r) > maxCloseReason {
			t.Errorf("close reason %q is %d bytes; the limit is %d", r, len(r), maxCloseReason)
		}
		for _, leak := range []string{"json:", "Go ", "map[", "[]", "interface", "unmarshal", "struct"} {
			if strings.Contains(s, leak) {
				t.Errorf("text %q contains %q", s, leak)
			}
		}
	}
}

// TestTruncateReason: close reasons fit RFC 6455's 123 bytes and stay
// UTF-8.
func TestTruncateReason(t *testing.T) {
	for _, in := range []string{strings.Repeat("é", 100), strings.Repeat("x", 200), "ok", "\xff\xfe"} {
		got := truncateReason(in)
		if len(got) > maxCloseReason || !utf8.ValidString(got) {
			t.Errorf("truncateReason(%q) = %q (%d bytes)", in, got, len(got))
		}
	}
}

// FuzzDecode: whatever bytes arrive, decode never panics and classifies
// consistently: invalid JSON exactly when encoding/json says so; a
// message either has a kind of its protocol or a problem; operations have
// a non-empty id and a query; and a decoded message, encoded again,
// decodes to the same thing.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"type":"connection_init","payload":{"authorization":"Bearer x"}}`,
		`{"type":"connection_init","payload":"Bearer x"}`,
		`{"type":"connection_init","payload":42}`,
		`{"type":"connection_init","payload":[1,2]}`,
		`{"type":"ping","payload":{"a":[1,{"b":null}]}}`,
		`{"type":"pong"}`,
		`{"id":"1","type":"subscribe","payload":{"query":"subscription { messageSent { id } }","variables":{"n":1.5e300}}}`,
		`{"id":"1","type":"start","payload":{"query":"{ a }","operationName":null}}`,
		`{"id":"1","type":"complete"}`,
		`{"id":"1","type":"stop"}`,
		`{"type":"connection_terminate"}`,
		`{"type":"subscribe","id":"\u0000","payload":{"query":"\ud800"}}`,
		`{"type":"next","id":"x","payload":{}}`,
		`{"type":"ka"}`,
		`[{"type":"ping"}]`,
		`{"type":"ping","type":"pong"}`,
		"{\"type\":\"ping\",\"payload\":{\"\xff\":1}}",
		`nul`,
		``,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, legacy bool) {
		proto := transportWS
		if legacy {
			proto = legacyWS
		}
		m, prob := decode(proto, data)
		if json.Valid(data) == (prob == problemNotJSON) {
			t.Fatalf("json.Valid = %v but problem %q", json.Valid(data), prob.text())
		}
		if prob != 0 {
			if prob.text() == "invalid message" {
				t.Fatalf("problem %d has no text", prob)
			}
			if m2, prob2 := decode(proto, data); prob2 != prob || m2.id != m.id || m2.kind != m.kind {
				t.Fatal("decode is not deterministic")
			}
			return
		}
		if typeOf(proto, m.kind) == "" {
			t.Fatalf("decoded kind %d is not a client message of %v", m.kind, proto)
		}
		switch m.kind {
		case kindSubscribe:
			if m.id == "" || m.params == nil {
				t.Fatalf("operation without id or params: %+v", m)
			}
		case kindComplete:
			if m.id == "" {
				t.Fatal("complete without id")
			}
		case kindInit:
			if m.init == nil {
				t.Fatal("init payload is nil")
			}
		}
		// Round trip: the decoded message, encoded again, decodes alike.
		out := map[string]any{"type": typeOf(proto, m.kind)}
		if m.id != "" {
			out["id"] = m.id
		}
		switch m.kind {
		case kindInit:
			out["payload"] = m.init
		case kindPing, kindPong:
			if m.ping != nil {
				out["payload"] = m.ping
			}
		case kindSubscribe:
			out["payload"] = map[string]any{"query": m.params.Query, "operationName": m.params.OperationName, "variables": m.params.Variables, "extensions": m.params.Extensions}
		}
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", m, err)
		}
		m2, prob2 := decode(proto, b)
		if prob2 != 0 || m2.kind != m.kind || m2.id != m.id {
			t.Fatalf("round trip of %s: %+v %q", b, m2, prob2.text())
		}
	})
}

// typeOf is the message type of p that asks for k, "" when none does.
func typeOf(p subprotocol, k kind) string {
	for _, typ := range []string{
		typeConnectionInit, typeConnectionAck, typePing, typePong, typeSubscribe, typeNext, typeError, typeComplete,
		typeConnectionError, typeKeepAlive, typeStart, typeData, typeStop, typeConnectionTerminate,
	} {
		if kk, ok := clientKind(p, typ); ok && kk == k {
			return typ
		}
	}
	return ""
}
