package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestObject: Object accepts exactly what encoding/json accepts as a
// JSON object (or null), passes every member in order with its raw text,
// duplicates included, and decodes escaped names.
func TestObject(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string // name=value;... or "error"
	}{
		{`{"a":1,"b":"x","a":[true,null]}`, `a=1;b="x";a=[true,null];`},
		{` { "\u0071uery" : "{ x }" } `, `query="{ x }";`},
		{`null`, ``},
		{`{}`, ``},
		{`{"a":{"b":[1,{"c":2}]}}`, `a={"b":[1,{"c":2}]};`},
		{`{"a":1,}`, "error"},
		{`{"a" 1}`, "error"},
		{`{"a":01}`, "error"},
		{`{"a":1}x`, "error"},
		{`[1]`, "error"},
		{`"x"`, "error"},
		{`{"a":"\x01"}`, "error"},
		{`{"a":NaN}`, "error"},
	} {
		var got strings.Builder
		err := Object([]byte(tt.in), func(name, value []byte) {
			got.WriteString(string(name) + "=" + string(value) + ";")
		})
		var m map[string]json.RawMessage
		jsonErr := json.Unmarshal([]byte(tt.in), &m)
		if (err == nil) != (jsonErr == nil) {
			t.Errorf("Object(%s) err = %v; encoding/json says %v", tt.in, err, jsonErr)
		}
		if tt.want == "error" {
			if err == nil {
				t.Errorf("Object(%s) accepted it", tt.in)
			}
			continue
		}
		if err != nil || got.String() != tt.want {
			t.Errorf("Object(%s) = %q, %v; want %q", tt.in, got.String(), err, tt.want)
		}
	}
}

// TestStrings: String and AppendString decode like encoding/json, and
// report non-strings.
func TestStrings(t *testing.T) {
	for _, in := range []string{`"plain"`, `"\u00e9\n\"q\""`, `"\ud83d\ude00"`, `"\ud800"`} {
		var want string
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		if got, ok := String([]byte(in)); !ok || got != want {
			t.Errorf("String(%s) = %q, %v; want %q", in, got, ok, want)
		}
		var b strings.Builder
		if !AppendString(&b, []byte(in)) || b.String() != want {
			t.Errorf("AppendString(%s) = %q; want %q", in, b.String(), want)
		}
	}
	if _, ok := String([]byte(`12`)); ok {
		t.Errorf("String(12) reported a string")
	}
	n := 0
	if !Elements([]byte(`["a", 1, {"b":[2]}]`), func([]byte) bool { n++; return true }) || n != 3 {
		t.Errorf("Elements counted %d of 3", n)
	}
	if Elements([]byte(`{"a":1}`), func([]byte) bool { return true }) {
		t.Errorf("Elements accepted an object")
	}
}
