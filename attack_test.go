package main

// The attack catalogue: what an anonymous client, a holder of a low-scope
// token or a malicious page can send, against the real server (run on
// 127.0.0.1:0 by startServer) and a fake issuer. Every row names the attack
// and the refusal SPEC.md promises. SECURITY.md describes the threat model.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/auth/authtest"
)

// tokenRow is one token sent as "Authorization: Bearer <token>".
type tokenRow struct {
	name   string
	token  string
	reason string // "" means the token is valid (200)
}

// runTokenRows sends each row's token three times, and each answer must be
// the row's: the later ones may come from the server's caches (a failed
// signature from the failure cache from the second time, a valid token
// from the token cache from the third).
func runTokenRows(t *testing.T, ts *testServer, rows []tokenRow) {
	t.Helper()
	for _, tt := range rows {
		t.Run(tt.name, func(t *testing.T) {
			challenge := challengeToken
			if tt.reason == "invalid_header" {
				challenge = challengeHeader
			}
			for range 3 {
				r := ts.graphQL(t, publicQuery, bearer(tt.token))
				if tt.reason == "" {
					wantStatus(t, r, http.StatusOK)
				} else {
					wantRefusal(t, r, http.StatusUnauthorized, "UNAUTHENTICATED", tt.reason, challenge)
				}
			}
		})
	}
}

// TestAttackTokens: tokens built to get past the validator, against the
// server with its production defaults: authtest's attack catalogue (which
// auth's TestValidate runs against the validator too), and what only the
// HTTP layer refuses.
func TestAttackTokens(t *testing.T) {
	ts := startServer(t, nil)
	is := ts.Issuer
	key := is.SigningKey()
	base := is.Claims(time.Now())
	attacker := authtest.Key(t, jwa.RS256)
	trap := authtest.NewTrap(t, attacker)

	rows := []tokenRow{
		// Over MAX_AUTH_HEADER_BYTES: an invalid token, refused before any
		// JSON or base64 is decoded.
		{"kid of 70000 bytes (over the cap)", authtest.Forge(t, attacker, base, map[string]any{"kid": strings.Repeat("k", 70000)}), "invalid_token"},
		{"20000 audiences (over the cap), ours among them", authtest.Forge(t, key, authtest.WithClaims(base, "aud", strings.Split(strings.Repeat("a,", 20000)+is.Audience, ",")), nil), "invalid_token"},
		{"kid of 9000 bytes (under the cap, unknown)", authtest.Forge(t, attacker, base, map[string]any{"kid": strings.Repeat("k", 9000)}), "invalid_token"},
	}
	runTokenRows(t, ts, append(rows, attackRows(is.Attacks(t, time.Now(), trap))...))
	if n := trap.Requests(); n != 0 {
		t.Errorf("the attacker's server received %d requests (jku/x5u followed); want 0", n)
	}
}

// TestAttackAlgorithmConfusion: with several algorithms allowed, an
// attacker cannot pick an algorithm that the key named by kid is not for
// (authtest's catalogue, which auth's TestAlgorithmConfusion runs against
// the validator too).
func TestAttackAlgorithmConfusion(t *testing.T) {
	const algs = "RS256,ES256,PS256,EdDSA"
	rsaTS := startServer(t, map[string]string{"AUTH0_ALGORITHMS": algs})
	ecIs := authtest.NewServer(t, authtest.IssuerOptions{Algorithm: jwa.ES256})
	ecTS := startServer(t, map[string]string{"AUTH0_ALGORITHMS": algs, "AUTH0_ISSUER_URL": ecIs.URL, "AUTH0_AUDIENCE": ecIs.Audience})
	ecTS.waitReady(t)

	t.Run("RSA issuer", func(t *testing.T) {
		runTokenRows(t, rsaTS, attackRows(rsaTS.Issuer.ConfusionAttacks(t, time.Now())))
	})
	t.Run("EC issuer", func(t *testing.T) {
		runTokenRows(t, ecTS, attackRows(ecIs.ConfusionAttacks(t, time.Now())))
	})
}

func attackRows(attacks []authtest.Attack) []tokenRow {
	rows := make([]tokenRow, len(attacks))
	for i, a := range attacks {
		rows[i] = tokenRow{a.Name, a.Token, a.Reason}
	}
	return rows
}

// TestAttackScopes: scope checks match whole scopes; and a token never
// carries more than its issuer signed.
func TestAttackScopes(t *testing.T) {
	ts := startServer(t, nil)
	is := ts.Issuer
	key := is.SigningKey()
	for _, tt := range []struct {
		name  string
		token string
	}{
		{"superstring, prefix and parts of the scope", is.Token(t, authtest.Scope("read:messages_all", "read", "messages", "read:", ":messages", "read:messages:x"))},
		{"permissions with near misses", is.Token(t, authtest.Permissions("read:messages ", " read:messages", "READ:MESSAGES", "read:message"))},
		{"SCOPE is not scope", authtest.Forge(t, key, []byte(`{"iss":"`+is.URL+`","aud":"`+is.Audience+`","exp":`+fmt.Sprint(time.Now().Add(time.Hour).Unix())+`,"scope":"openid","SCOPE":"read:messages","Permissions":["read:messages"],"ſcope":"read:messages"}`), nil)},
		{"scope in the header", authtest.Forge(t, key, is.Claims(time.Now()), map[string]any{"scope": "read:messages", "permissions": []string{"read:messages"}})},
		{"separated by other white space than a space (RFC 6749: %x20 only)", is.Token(t, authtest.Claim("scope", "openid\tread:messages\nprofile\u00a0read:messages"))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.graphQL(t, allFields, bearer(tt.token))
			wantStatus(t, r, http.StatusOK)
			body := r.json(t)
			data := body["data"].(map[string]any)
			if data["privateMessage"] == nil {
				t.Errorf("privateMessage is null for a valid token")
			}
			if data["scopedMessage"] != nil {
				t.Errorf("scopedMessage was served: %v", data["scopedMessage"])
			}
			wantFieldErrors(t, body, map[string]string{"scopedMessage": "FORBIDDEN"})
		})
	}
}

// TestAttackHeaders: the Authorization header and the request head.
func TestAttackHeaders(t *testing.T) {
	ts := startServer(t, nil)
	is := ts.Issuer
	tok := is.Token(t, authtest.Scope("read:messages"))
	host := strings.TrimSuffix(strings.TrimPrefix(ts.URL, "http://"), "/")
	body := `{"query":"{ publicMessage { text } privateMessage { text } }"}`

	// Over the cap, a bearer token is an invalid token (RFC 6750
	// invalid_token), and anything else a malformed header.
	limit := fmt.Sprint(auth.DefaultMaxCredentialsBytes)
	t.Run("a token over MAX_AUTH_HEADER_BYTES: invalid_token", func(t *testing.T) {
		h := "Bearer " + strings.Repeat("a", auth.DefaultMaxCredentialsBytes)
		r := ts.graphQL(t, publicQuery, h)
		wantRefusal(t, r, http.StatusUnauthorized, "UNAUTHENTICATED", "invalid_token", challengeToken)
		if !strings.Contains(string(r.Body), limit) {
			t.Errorf("refusal does not name the %s-byte limit: %s", limit, r.Body)
		}
	})

	t.Run("a 100 KiB token is still our 401, not 431", func(t *testing.T) {
		r := ts.graphQL(t, publicQuery, "Bearer "+strings.Repeat("a", 100<<10))
		wantRefusal(t, r, http.StatusUnauthorized, "UNAUTHENTICATED", "invalid_token", challengeToken)
	})

	t.Run("a malformed header over MAX_AUTH_HEADER_BYTES: invalid_header", func(t *testing.T) {
		for _, h := range []string{
			"Basic " + strings.Repeat("a", 100<<10),
			"Bearer " + strings.Repeat("a", 50<<10) + " " + strings.Repeat("b", 50<<10),
			strings.Repeat("a", 100<<10),
		} {
			r := ts.graphQL(t, publicQuery, h)
			wantRefusal(t, r, http.StatusUnauthorized, "UNAUTHENTICATED", "invalid_header", challengeHeader)
		}
	})

	t.Run("headers near MAX_HEADER_BYTES are served", func(t *testing.T) {
		r := do(t, http.MethodPost, ts.URL+"graphql", body, map[string]string{
			"Authorization": bearer(tok),
			"X-Filler":      strings.Repeat("f", 900<<10), // under the 1 MiB default
		})
		wantStatus(t, r, http.StatusOK)
	})

	t.Run("headers over MAX_HEADER_BYTES: 431, never 500", func(t *testing.T) {
		status := rawRequest(t, ts, rawPost(host, "Authorization: "+bearer(tok)+"\r\nX-Filler: "+strings.Repeat("f", 1100<<10)+"\r\n", body))
		if status != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("Status = %d; want 431", status)
		}
	})

	t.Run("Authorization alone over MAX_HEADER_BYTES: 431", func(t *testing.T) {
		status := rawRequest(t, ts, rawPost(host, "Authorization: Bearer "+strings.Repeat("a", 1100<<10)+"\r\n", body))
		if status != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("Status = %d; want 431", status)
		}
	})

	t.Run("two Authorization headers", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Add("Authorization", bearer(tok))
		req.Header.Add("Authorization", bearer(tok))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantRefusal(t, response{resp.StatusCode, resp.Header, b}, http.StatusUnauthorized, "UNAUTHENTICATED", "invalid_header", challengeHeader)
	})

	t.Run("Authorization and authorization (case variants are one header)", func(t *testing.T) {
		status := rawRequest(t, ts, rawPost(host, "Authorization: "+bearer(tok)+"\r\nauthorization: Bearer x.y.z\r\n", body))
		if status != http.StatusUnauthorized {
			t.Errorf("Status = %d; want 401", status)
		}
	})

	t.Run("access_token in the query string is ignored", func(t *testing.T) {
		for _, u := range []string{
			ts.URL + "graphql?access_token=" + tok,
			ts.URL + "graphql?query=" + url.QueryEscape("{ privateMessage { text } }") + "&access_token=" + tok,
		} {
			var r response
			if strings.Contains(u, "query=") {
				r = do(t, http.MethodGet, u, "", nil)
			} else {
				r = do(t, http.MethodPost, u, `{"query":"{ privateMessage { text } }"}`, nil)
			}
			wantStatus(t, r, http.StatusOK)
			got := r.json(t)
			if data, _ := got["data"].(map[string]any); data["privateMessage"] != nil {
				t.Errorf("a token in the URL authenticated the request: %s", r.Body)
			}
			wantFieldErrors(t, got, map[string]string{"privateMessage": "UNAUTHENTICATED"})
		}
	})

	t.Run("access_token in the body is ignored", func(t *testing.T) {
		r := do(t, http.MethodPost, ts.URL+"graphql", `{"query":"{ privateMessage { text } }","access_token":"`+tok+`","extensions":{"authorization":"Bearer `+tok+`"}}`, nil)
		wantStatus(t, r, http.StatusOK)
		wantFieldErrors(t, r.json(t), map[string]string{"privateMessage": "UNAUTHENTICATED"})
	})

	t.Run("unicode in the Authorization header", func(t *testing.T) {
		for _, h := range []string{"Bearer " + tok + "é", "Bearer ｔｏｋｅｎ", "Bеarer " + tok /* Cyrillic e */} {
			r := ts.graphQL(t, publicQuery, h)
			if r.Status != http.StatusUnauthorized {
				t.Errorf("%q: Status = %d; want 401", h, r.Status)
			}
		}
	})

	// Control characters never reach the application: net/http answers 400
	// for an invalid header value. What matters is that it is never 2xx or
	// 500, and that the server keeps serving.
	for name, h := range map[string]string{
		"NUL in the token":       "Bearer " + tok[:10] + "\x00" + tok[10:],
		"NUL after the token":    "Bearer " + tok + "\x00",
		"DEL in the token":       "Bearer " + tok + "\x7f",
		"vertical tab separator": "Bearer\v" + tok,
	} {
		t.Run(name, func(t *testing.T) {
			status := rawRequest(t, ts, rawPost(host, "Authorization: "+h+"\r\n", body))
			if status != http.StatusBadRequest {
				t.Errorf("Status = %d; want 400 from net/http", status)
			}
		})
	}
	t.Run("still serving", func(t *testing.T) {
		wantStatus(t, ts.graphQL(t, allFields, bearer(tok)), http.StatusOK)
	})
}

// TestAttackAuthHeaderCap: MAX_AUTH_HEADER_BYTES is honoured and named;
// over it a bearer token is invalid_token, a malformed header
// invalid_header.
func TestAttackAuthHeaderCap(t *testing.T) {
	ts := startServer(t, map[string]string{"MAX_AUTH_HEADER_BYTES": "1024"})
	tok := ts.Issuer.Token(t)
	if len(tok) > 1024-len("Bearer ") {
		t.Fatalf("test token of %d bytes does not fit the cap", len(tok))
	}
	wantStatus(t, ts.graphQL(t, publicQuery, bearer(tok)), http.StatusOK)
	r := ts.graphQL(t, publicQuery, bearer(tok+strings.Repeat("A", 1025-len(tok)-len("Bearer "))))
	wantRefusal(t, r, http.StatusUnauthorized, "UNAUTHENTICATED", "invalid_token", challengeToken)
	if !strings.Contains(string(r.Body), "1024") {
		t.Errorf("refusal does not name the 1024-byte limit: %s", r.Body)
	}
	r = ts.graphQL(t, publicQuery, "Basic "+strings.Repeat("A", 2048))
	wantRefusal(t, r, http.StatusUnauthorized, "UNAUTHENTICATED", "invalid_header", challengeHeader)
}

// TestThousandPermissionsToken: an Auth0 access token of a user holding
// 1,000 RBAC permissions, listed in "permissions" and in "scope" (54 KB),
// fits the default cap and works over a real socket, on GraphQL and REST.
func TestThousandPermissionsToken(t *testing.T) {
	ts := startServer(t, nil)
	perms := make([]string, 1000)
	for i := range perms {
		perms[i] = fmt.Sprintf("read:resource-%04d", i+1)
	}
	perms[999] = "read:messages" // the scope the guarded field and route need, last
	tok := ts.Issuer.Token(t, authtest.Permissions(perms...), authtest.Scope(append([]string{"openid", "profile", "email"}, perms...)...),
		authtest.Subject("auth0|5f7c8ec7c33c6c004bbafe82"), authtest.Claim("azp", "Xw3bA5fK2Lq9ZpT7mN1cV8rY4uE6hJ0s"))
	if n := len(bearer(tok)); n <= 50_000 || n > auth.DefaultMaxCredentialsBytes {
		t.Fatalf("Authorization of %d bytes; want over 50,000 and within the default cap %d", n, auth.DefaultMaxCredentialsBytes)
	}
	for range 2 { // validated, then from the token cache
		r := ts.graphQL(t, allFields, bearer(tok))
		wantStatus(t, r, http.StatusOK)
		body := r.json(t)
		if errs := body["errors"]; errs != nil {
			t.Fatalf("errors: %v", errs)
		}
		if data, _ := body["data"].(map[string]any); data["scopedMessage"] == nil {
			t.Fatalf("scopedMessage is null: %s", r.Body)
		}
		wantStatus(t, do(t, http.MethodGet, ts.URL+"api/private-scoped", "", map[string]string{"Authorization": bearer(tok)}), http.StatusOK)
	}
	// Without the scope that the route needs, the same size of token is a
	// 403, not a refusal of the token.
	perms[999] = "read:resource-1000"
	other := ts.Issuer.Token(t, authtest.Permissions(perms...), authtest.Scope(perms...))
	wantStatus(t, do(t, http.MethodGet, ts.URL+"api/private-scoped", "", map[string]string{"Authorization": bearer(other)}), http.StatusForbidden)
}

// graphiQLIntrospection is getIntrospectionQuery() of graphql-js 16.15
// with its defaults (descriptions, typeDepth 9): what GraphiQL and most
// tools send. The default limits must let it through.
const graphiQLIntrospection = `
    query IntrospectionQuery {
      __schema {
        queryType { name kind }
        mutationType { name kind }
        subscriptionType { name kind }
        types {
          ...FullType
        }
        directives {
          name
          description
          locations
          args {
            ...InputValue
          }
        }
      }
    }

    fragment FullType on __Type {
      kind
      name
      description
      fields(includeDeprecated: true) {
        name
        description
        args {
          ...InputValue
        }
        type {
          ...TypeRef
        }
        isDeprecated
        deprecationReason
      }
      inputFields {
        ...InputValue
      }
      interfaces {
        ...TypeRef
      }
      enumValues(includeDeprecated: true) {
        name
        description
        isDeprecated
        deprecationReason
      }
      possibleTypes {
        ...TypeRef
      }
    }

    fragment InputValue on __InputValue {
      name
      description
      type { ...TypeRef }
      defaultValue
    }

    fragment TypeRef on __Type {
      kind
      name
      ofType {
        name
        kind
        ofType {
          name
          kind
          ofType {
            name
            kind
            ofType {
              name
              kind
              ofType {
                name
                kind
                ofType {
                  name
                  kind
                  ofType {
                    name
                    kind
                    ofType {
                      name
                      kind
                      ofType {
                        name
                        kind
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
`

// graphiQLIntrospectionAll is the same with the options GraphiQL can turn
// on (inputValueDeprecation, schemaDescription).
const graphiQLIntrospectionAll = `query IntrospectionQuery { __schema { description queryType { name kind } mutationType { name kind } subscriptionType { name kind } types { ...FullType } directives { name description locations args(includeDeprecated: true) { ...InputValue } } } } fragment FullType on __Type { kind name description fields(includeDeprecated: true) { name description args(includeDeprecated: true) { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason } inputFields(includeDeprecated: true) { ...InputValue } interfaces { ...TypeRef } enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } possibleTypes { ...TypeRef } } fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue isDeprecated deprecationReason } fragment TypeRef on __Type { kind name ofType { name kind ofType { name kind ofType { name kind ofType { name kind ofType { name kind ofType { name kind ofType { name kind ofType { name kind ofType { name kind } } } } } } } } } }`

// fragmentBomb is n fragments each spreading the next twice: 2^n leaves
// once expanded, from a few hundred bytes.
func fragmentBomb(n int, on, root, leaf string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "query { %s }\n", strings.ReplaceAll(root, "@", "...F0"))
	for i := range n {
		fmt.Fprintf(&b, "fragment F%d on %s { ...F%d ...F%d }\n", i, on, i+1, i+1)
	}
	fmt.Fprintf(&b, "fragment F%d on %s { %s }\n", n, on, leaf)
	return b.String()
}

// nestedOfType is { __type(name: "Query") { fields { type { ofType { ... } } } } }
// with the ofType chain n deep: a valid query of depth n+4.
func nestedOfType(n int) string {
	return `{ __type(name: "Query") { fields { type { ` + strings.Repeat("ofType { ", n) + "name" + strings.Repeat(" }", n) + " } } } }"
}

func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

// TestAttackGraphQLLimits: operations too big to run are refused before
// any resolver, cheaply; the introspection query tools send is not.
func TestAttackGraphQLLimits(t *testing.T) {
	ts := startServer(t, map[string]string{"GRAPHQL_INTROSPECTION": "true"})
	tok := ts.Issuer.Token(t, authtest.Scope("read:messages"))

	t.Run("GraphiQL's introspection query passes every default limit", func(t *testing.T) {
		for name, q := range map[string]string{"defaults": graphiQLIntrospection, "all options": graphiQLIntrospectionAll} {
			r := ts.graphQL(t, q, bearer(tok))
			wantStatus(t, r, http.StatusOK)
			body := r.json(t)
			if errs, ok := body["errors"]; ok {
				t.Fatalf("%s: errors = %v", name, errs)
			}
			schema, _ := body["data"].(map[string]any)["__schema"].(map[string]any)
			if types, _ := schema["types"].([]any); len(types) < 10 {
				t.Errorf("%s: introspection returned %d types", name, len(types))
			}
		}
	})

	t.Run("deeper than GRAPHQL_MAX_DEPTH (default 15)", func(t *testing.T) {
		wantStatus(t, ts.graphQL(t, nestedOfType(11), ""), http.StatusOK) // depth 15
		wantGraphQLError(t, ts.graphQL(t, nestedOfType(12), ""), statusRequestError, "DEPTH_LIMIT_EXCEEDED")
		wantGraphQLError(t, ts.graphQL(t, nestedOfType(200), ""), statusRequestError, "DEPTH_LIMIT_EXCEEDED")
	})

	t.Run("more aliases than GRAPHQL_MAX_FIELDS (default 500)", func(t *testing.T) {
		aliases := func(n int) string {
			var b strings.Builder
			b.WriteString("{")
			for i := range n {
				fmt.Fprintf(&b, " a%d: __typename", i)
			}
			return b.String() + " }"
		}
		wantStatus(t, ts.graphQL(t, aliases(500), ""), http.StatusOK)
		wantGraphQLError(t, ts.graphQL(t, aliases(501), ""), statusRequestError, "FIELD_LIMIT_EXCEEDED")
		wantGraphQLError(t, ts.graphQL(t, strings.Replace(aliases(300), "__typename", "publicMessage { text }", -1), ""), statusRequestError, "FIELD_LIMIT_EXCEEDED")
	})

	t.Run("fragment bomb: 20 levels, answered at once", func(t *testing.T) {
		var r response
		took := timed(func() { r = ts.graphQL(t, fragmentBomb(20, "Query", "@", "publicMessage { text }"), "") })
		wantGraphQLError(t, r, statusRequestError, "FIELD_LIMIT_EXCEEDED")
		if took > 2*time.Second {
			t.Errorf("fragment bomb took %s", took)
		}
	})

	// gqlparser's MaxIntrospectionDepth rule re-walks a fragment at every
	// spread, so the same bomb under __type costs 2^n to 4^n before our
	// limits run (introspection on or off): 21 levels, a 1 KiB request, take
	// about a second without -race, 5 s with it; 30 levels, hours. With a
	// linear check it is as cheap as the bomb above.
	t.Run("fragment bomb under __type: answered at once", func(t *testing.T) {
		var r response
		took := timed(func() {
			r = ts.graphQL(t, fragmentBomb(21, "__Type", `__type(name: "Query") { @ }`, "name"), "")
		})
		// ~10 ms when linear; the exponential rule took seconds (tens under
		// -race), so 2 s tells them apart even on a loaded machine.
		if took > 2*time.Second {
			t.Errorf("a 21-level fragment bomb under __type took %s to refuse (exponential validation, see above)", took)
		}
		wantGraphQLError(t, r, statusRequestError, "FIELD_LIMIT_EXCEEDED", "GRAPHQL_VALIDATION_FAILED")
	})

	// gqlparser's OverlappingFieldsCanBeMerged compares every two fields
	// of one response name: 4,990 __typename (within the token limit, 55
	// KB) took 2.8 s to validate, 10 s and more under -race. Documents
	// over GRAPHQL_MAX_FIELDS fields written are refused before it runs.
	t.Run("thousands of fields of one name: answered at once", func(t *testing.T) {
		var r response
		took := timed(func() { r = ts.graphQL(t, "{"+strings.Repeat(" __typename", 4990)+" }", "") })
		wantGraphQLError(t, r, statusRequestError, "FIELD_LIMIT_EXCEEDED")
		if took > 2*time.Second {
			t.Errorf("4,990 fields of one name took %s to refuse (quadratic validation)", took)
		}
	})

	t.Run("fragment cycle", func(t *testing.T) {
		q := "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
		wantGraphQLError(t, ts.graphQL(t, q, ""), statusRequestError, "GRAPHQL_VALIDATION_FAILED")
	})

	t.Run("nested introspection lists", func(t *testing.T) {
		q := `{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }`
		r := ts.graphQL(t, q, "")
		// graph/limits.go answers; gqlparser's own (exponential) rule is
		// removed, see graph.validationRules.
		wantGraphQLError(t, r, statusRequestError, "INTROSPECTION_DEPTH_EXCEEDED")
		if !strings.Contains(strings.ToLower(string(r.Body)), "introspection") {
			t.Errorf("refusal does not say why: %s", r.Body)
		}
	})

	t.Run("more tokens than GRAPHQL_MAX_TOKENS (default 5000)", func(t *testing.T) {
		q := "{" + strings.Repeat(" __typename", 5001) + " }"
		r := ts.graphQL(t, q, "")
		wantGraphQLError(t, r, statusRequestError, "GRAPHQL_PARSE_FAILED")
		if !strings.Contains(string(r.Body), "token limit") {
			t.Errorf("refusal does not name the token limit: %s", r.Body)
		}
	})

	t.Run("batched array body", func(t *testing.T) {
		for _, body := range []string{`[{"query":"{ publicMessage { text } }"},{"query":"{ publicMessage { text } }"}]`, " \n\t[]"} {
			wantGraphQLError(t, postRaw(t, ts, body, ""), http.StatusBadRequest, "BATCHING_NOT_SUPPORTED")
		}
	})

	t.Run("body over MAX_BODY_BYTES (default 1 MiB)", func(t *testing.T) {
		pad := `{"query":"{ publicMessage { text } }","variables":{"pad":"` + strings.Repeat("p", 1<<20) + `"}}`
		wantGraphQLError(t, postRaw(t, ts, pad, ""), http.StatusRequestEntityTooLarge, "REQUEST_TOO_LARGE")
		// Without Content-Length (chunked), the cap holds while reading.
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"graphql", io.MultiReader(strings.NewReader(pad)))
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = -1
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantGraphQLError(t, response{resp.StatusCode, resp.Header, b}, http.StatusRequestEntityTooLarge, "REQUEST_TOO_LARGE")
	})
}

// TestAttackGraphQLLimitsConfigured: each limit follows its variable, and
// introspection is off by default in production.
func TestAttackGraphQLLimitsConfigured(t *testing.T) {
	ts := startServer(t, map[string]string{
		"GRAPHQL_MAX_DEPTH":  "1",
		"GRAPHQL_MAX_FIELDS": "3",
		"GRAPHQL_MAX_TOKENS": "100",
		"GRAPHQL_MAX_ERRORS": "3",
		"MAX_BODY_BYTES":     "1024",
	})

	wantStatus(t, ts.graphQL(t, `{ __typename }`, ""), http.StatusOK)
	wantGraphQLError(t, ts.graphQL(t, publicQuery, ""), statusRequestError, "DEPTH_LIMIT_EXCEEDED")
	wantStatus(t, ts.graphQL(t, `{ a: __typename b: __typename c: __typename }`, ""), http.StatusOK)
	wantGraphQLError(t, ts.graphQL(t, `{ a: __typename b: __typename c: __typename d: __typename }`, ""), statusRequestError, "FIELD_LIMIT_EXCEEDED")
	wantGraphQLError(t, ts.graphQL(t, "{"+strings.Repeat(" x", 100)+" }", ""), statusRequestError, "GRAPHQL_PARSE_FAILED")
	r := ts.graphQL(t, "{"+strings.Repeat(" x", 20)+" }", "")
	wantGraphQLError(t, r, statusRequestError, "GRAPHQL_VALIDATION_FAILED")
	var errs struct{ Errors []map[string]any }
	_ = json.Unmarshal(r.Body, &errs)
	if len(errs.Errors) != 4 || !strings.Contains(string(r.Body), `"TOO_MANY_ERRORS"`) {
		t.Errorf("20 unknown fields with GRAPHQL_MAX_ERRORS=3: %d errors; want 3 and one TOO_MANY_ERRORS\n%s", len(errs.Errors), r.Body)
	}

	body := func(n int) string {
		b := `{"query":"{ __typename }","variables":{"p":"`
		return b + strings.Repeat("p", n-len(b)-3) + `"}}`
	}
	wantStatus(t, postRaw(t, ts, body(1024), ""), http.StatusOK)
	wantGraphQLError(t, postRaw(t, ts, body(1025), ""), http.StatusRequestEntityTooLarge, "REQUEST_TOO_LARGE")

	t.Run("introspection is off by default in production", func(t *testing.T) {
		for _, q := range []string{`{ __schema { types { name } } }`, `{ __type(name: "Query") { name } }`, graphiQLIntrospection} {
			r := ts.graphQL(t, q, "")
			// (The full introspection query is over this server's 1 KiB MAX_BODY_BYTES.)
			if len(q) < 1000 && (r.Status != statusRequestError || !strings.Contains(string(r.Body), "introspection is disabled")) {
				t.Errorf("disabled introspection: want a refusal naming it, got %d %.300s", r.Status, r.Body)
			}
			if r.Status == http.StatusOK {
				var body struct {
					Data   map[string]any `json:"data"`
					Errors []any          `json:"errors"`
				}
				_ = json.Unmarshal(r.Body, &body)
				if body.Data["__schema"] != nil || body.Data["__type"] != nil || len(body.Errors) == 0 {
					t.Errorf("introspection answered: %.300s", r.Body)
				}
			}
			if r.Status >= 500 {
				t.Errorf("Status = %d", r.Status)
			}
			for _, leak := range []string{`"Message"`, `"scopedMessage"`, `"fields"`} {
				if strings.Contains(string(r.Body), leak) {
					t.Errorf("response leaks the schema (%s): %.300s", leak, r.Body)
				}
			}
		}
	})
}

// TestAbuseWhileServing: while two clients flood the server with requests
// that are expensive to refuse, a normal client is served every time, and
// random key IDs cost the issuer a bounded number of JWKS requests.
func TestAbuseWhileServing(t *testing.T) {
	const (
		flood      = 2 * time.Second
		refetch    = 500 * time.Millisecond
		maxFlood   = 3000 // requests, whichever comes first
		maxBody    = 64 << 10
		perRequest = 5 * time.Second
	)
	ts := startServer(t, map[string]string{
		"JWKS_REFETCH_INTERVAL": refetch.String(),
		"MAX_BODY_BYTES":        fmt.Sprint(maxBody),
	})
	is := ts.Issuer
	good := is.Token(t, authtest.Scope("read:messages"))
	bomb, _ := json.Marshal(map[string]string{"query": fragmentBomb(20, "Query", "@", "publicMessage { text }")})
	oversized := `{"query":"{ __typename }","variables":{"p":"` + strings.Repeat("p", maxBody) + `"}}`
	claims, _ := json.Marshal(is.Claims(time.Now()))
	jwksBefore := is.JWKSRequests()

	var sent atomic.Int64
	var mu sync.Mutex
	statuses := map[string]map[int]int{}
	deadline := time.Now().Add(flood)
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			client := &http.Client{Timeout: perRequest}
			for i := 0; time.Now().Before(deadline) && sent.Add(1) <= maxFlood; i++ {
				var kind, body, authz string
				switch i % 4 {
				case 0:
					kind, body = "fragment bomb", string(bomb)
				case 1:
					kind, body = "random kid", `{"query":"{ publicMessage { text } }"}`
					// An allowed alg and a kid never seen: the signature is
					// not even looked at before the key lookup.
					authz = bearer(authtest.Assemble(fmt.Sprintf(`{"alg":"RS256","typ":"JWT","kid":"random-%d-%d"}`, g, i), string(claims), make([]byte, 256)))
				case 2:
					kind, body = "oversized body", oversized
				case 3:
					kind, body = "alg none", `{"query":"{ publicMessage { text } }"}`
					authz = bearer(authtest.Assemble(`{"alg":"none"}`, `{"scope":"read:messages"}`, nil))
				}
				req, _ := http.NewRequest(http.MethodPost, ts.URL+"graphql", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				// A refused operation is a 4xx in this media type only.
				req.Header.Set("Accept", "application/graphql-response+json")
				if authz != "" {
					req.Header.Set("Authorization", authz)
				}
				status := -1 // transport error
				if resp, err := client.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				mu.Lock()
				if statuses[kind] == nil {
					statuses[kind] = map[int]int{}
				}
				statuses[kind][status]++
				mu.Unlock()
			}
		})
	}

	// The normal client, meanwhile.
	client := &http.Client{Timeout: perRequest}
	served, slowest := 0, time.Duration(0)
	for time.Now().Before(deadline) {
		var r response
		took := timed(func() {
			req, _ := http.NewRequest(http.MethodPost, ts.URL+"graphql", strings.NewReader(`{"query":"{ scopedMessage { text } }"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", bearer(good))
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("normal client: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			r = response{resp.StatusCode, resp.Header, b}
		})
		slowest = max(slowest, took)
		wantStatus(t, r, http.StatusOK)
		if data, _ := r.json(t)["data"].(map[string]any); data["scopedMessage"] == nil {
			t.Fatalf("normal client not served: %s", r.Body)
		}
		served++
		time.Sleep(20 * time.Millisecond)
	}
	wg.Wait()

	t.Logf("flood: %d requests %v; normal client: %d served, slowest %s", sent.Load(), statuses, served, slowest)
	if served < 3 {
		t.Errorf("the normal client got only %d answers in %s", served, flood)
	}
	want := map[string]int{"fragment bomb": 400, "random kid": 401, "oversized body": 413, "alg none": 401}
	for kind, byStatus := range statuses {
		for status, n := range byStatus {
			if status != want[kind] && status != -1 {
				t.Errorf("%s: %d answers with status %d; want %d", kind, n, status, want[kind])
			}
		}
		if byStatus[want[kind]] == 0 {
			t.Errorf("%s: never refused as expected (%v)", kind, byStatus)
		}
	}
	// Random kids: at most one refetch per JWKS_REFETCH_INTERVAL.
	fetches := is.JWKSRequests() - jwksBefore
	if limit := int64(flood/refetch) + 3; fetches > limit {
		t.Errorf("random kids caused %d JWKS requests in %s; want at most %d", fetches, flood, limit)
	}
	if fetches == 0 {
		t.Errorf("random kids never triggered a refetch (rotation would never be picked up)")
	}
}
