package authz_test

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/authz"
)

func TestRequirementString(t *testing.T) {
	tests := []struct {
		name string
		r    authz.Requirement
		want string
	}{
		{"zero value", authz.Requirement{}, "public"},
		{"public", authz.Public(), "public"},
		{"authenticated", authz.Authenticated(), "authenticated"},
		{"has scope", authz.HasScope("read:messages"), "scopes: read:messages"},
		{"one AND set, in the schema's order", authz.RequiresScopes([][]string{{"read:users", "read:audit"}}), "scopes: read:users AND read:audit"},
		{"OR of ANDs, in the schema's order", authz.RequiresScopes([][]string{{"c"}, {"b", "a"}}), "scopes: c OR (b AND a)"},
		{"duplicate scopes in a set", authz.RequiresScopes([][]string{{"a", "a", "b"}}), "scopes: a AND b"},
		{"duplicate sets", authz.RequiresScopes([][]string{{"a"}, {"a"}}), "scopes: a"},
		{"equal sets in another order: the first stays", authz.RequiresScopes([][]string{{"c"}, {"b", "a"}, {"a", "b"}}), "scopes: c OR (b AND a)"},
		{"superset dropped", authz.RequiresScopes([][]string{{"a", "b"}, {"a"}}), "scopes: a"},
		{"superset dropped, other kept", authz.RequiresScopes([][]string{{"x", "a", "b"}, {"b", "a"}, {"c"}}), "scopes: (b AND a) OR c"},
		{"empty AND set is any token", authz.RequiresScopes([][]string{{"a"}, {}}), "authenticated"},
		{"empty OR is nobody", authz.RequiresScopes(nil), "nobody"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.String(); got != tt.want {
				t.Errorf("String() = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestRequirementAnd(t *testing.T) {
	a, b, c := authz.HasScope("a"), authz.HasScope("b"), authz.HasScope("c")
	aOrB := authz.RequiresScopes([][]string{{"a"}, {"b"}})
	tests := []struct {
		name string
		x, y authz.Requirement
		want string
	}{
		{"public AND public", authz.Public(), authz.Public(), "public"},
		{"public AND authenticated", authz.Public(), authz.Authenticated(), "authenticated"},
		{"authenticated AND public", authz.Authenticated(), authz.Public(), "authenticated"},
		{"authenticated AND scopes", authz.Authenticated(), a, "scopes: a"},
		{"scopes AND authenticated", a, authz.Authenticated(), "scopes: a"},
		{"scopes AND scopes", a, b, "scopes: a AND b"},
		{"same scope twice", a, a, "scopes: a"},
		{"distributed", aOrB, c, "scopes: (a AND c) OR (b AND c)"},
		{"absorbed", aOrB, a, "scopes: a"},
		// Apollo's composition example: ((read:profile AND read:users) OR
		// read:admin) AND read:admin is read:admin.
		{"Apollo's example",
			authz.RequiresScopes([][]string{{"read:profile", "read:users"}, {"read:admin"}}),
			authz.HasScope("read:admin"), "scopes: read:admin"},
		{"nobody absorbs", authz.RequiresScopes(nil), aOrB, "nobody"},
		{"authenticated AND nobody", authz.Authenticated(), authz.RequiresScopes(nil), "nobody"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.x.And(tt.y).String(); got != tt.want {
				t.Errorf("(%s).And(%s) = %q; want %q", tt.x, tt.y, got, tt.want)
			}
		})
	}
}

// TestRequirementAndMeansBoth checks the simplification against the
// meaning: for random requirements and every set of scopes a token can
// hold, x.And(y) admits exactly the tokens both x and y admit, and the
// canonical form of the result is what building it again gives.
func TestRequirementAndMeansBoth(t *testing.T) {
	universe := []string{"a", "b", "c", "d"}
	rng := rand.New(rand.NewPCG(1, 2))
	random := func() authz.Requirement {
		switch rng.IntN(5) {
		case 0:
			return authz.Public()
		case 1:
			return authz.Authenticated()
		}
		var sets [][]string
		for range rng.IntN(4) {
			var set []string
			for range 1 + rng.IntN(3) {
				set = append(set, universe[rng.IntN(len(universe))])
			}
			sets = append(sets, set)
		}
		return authz.RequiresScopes(sets)
	}
	now := time.Unix(1_000_000, 0)
	for range 500 {
		x, y := random(), random()
		both := x.And(y)
		if got, again := both.String(), authz.RequiresScopes(both.Scopes()).String(); both.Kind() == authz.KindScopes && got != again {
			t.Fatalf("(%s).And(%s) = %q is not canonical: rebuilt as %q", x, y, got, again)
		}
		if other := y.And(x); !both.Equal(other) {
			t.Fatalf("And is not commutative: %q vs %q", both, other)
		}
		for mask := range 1 << len(universe) {
			var scopes []string
			for i, s := range universe {
				if mask&(1<<i) != 0 {
					scopes = append(scopes, s)
				}
			}
			c := &auth.Claims{Subject: "u", Scopes: scopes}
			want := authz.Decide(x, c, now) == nil && authz.Decide(y, c, now) == nil
			if got := authz.Decide(both, c, now) == nil; got != want {
				t.Fatalf("scopes %v: Decide((%s).And(%s) = %s) allows = %v; want %v", scopes, x, y, both, got, want)
			}
		}
	}
}

func TestRequirementEqual(t *testing.T) {
	tests := []struct {
		x, y authz.Requirement
		want bool
	}{
		{authz.Public(), authz.Requirement{}, true},
		{authz.Public(), authz.Authenticated(), false},
		{authz.Authenticated(), authz.RequiresScopes([][]string{{"a"}, {}}), true},
		{authz.RequiresScopes([][]string{{"a", "b"}, {"c"}}), authz.RequiresScopes([][]string{{"c"}, {"b", "a"}}), true},
		{authz.RequiresScopes([][]string{{"a", "b"}, {"a"}}), authz.HasScope("a"), true},
		{authz.RequiresScopes([][]string{{"a", "b"}}), authz.RequiresScopes([][]string{{"a"}, {"b"}}), false},
		{authz.RequiresScopes(nil), authz.HasScope("a"), false},
		{authz.RequiresScopes([][]string{{"a b"}}), authz.RequiresScopes([][]string{{"a", "b"}}), false},
	}
	for _, tt := range tests {
		if got := tt.x.Equal(tt.y); got != tt.want {
			t.Errorf("(%s).Equal(%s) = %v; want %v", tt.x, tt.y, got, tt.want)
		}
	}
}

func TestRequirementScopesIsACopy(t *testing.T) {
	r := authz.RequiresScopes([][]string{{"a", "b"}})
	r.Scopes()[0][0] = "z"
	if got := r.String(); got != "scopes: a AND b" {
		t.Errorf("after changing Scopes()'s result, String() = %q", got)
	}
	in := [][]string{{"b", "a"}}
	r = authz.RequiresScopes(in)
	if in[0][0] != "b" {
		t.Errorf("RequiresScopes changed its argument: %v", in)
	}
}

func TestRequirementJSON(t *testing.T) {
	tests := []struct {
		r    authz.Requirement
		want string
	}{
		{authz.Public(), `{"kind":"public","text":"public"}`},
		{authz.Authenticated(), `{"kind":"authenticated","text":"authenticated"}`},
		{authz.RequiresScopes([][]string{{"c"}, {"b", "a"}}), `{"kind":"scopes","scopes":[["c"],["b","a"]],"text":"scopes: c OR (b AND a)"}`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(tt.r)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("json.Marshal(%s) = %s; want %s", tt.r, got, tt.want)
		}
	}
}

func TestDecide(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	token := func(scopes ...string) *auth.Claims {
		return &auth.Claims{Subject: "user", Scopes: scopes, ValidUntil: now.Add(time.Minute)}
	}
	expired := &auth.Claims{Subject: "user", Scopes: []string{"a"}, ValidUntil: now}
	noExpiry := &auth.Claims{Subject: "user", Scopes: []string{"a"}}
	aAndBOrC := authz.RequiresScopes([][]string{{"a", "b"}, {"c"}})
	tests := []struct {
		name   string
		r      authz.Requirement
		claims *auth.Claims
		want   auth.Reason // "" for allowed
	}{
		{"public, anonymous", authz.Public(), nil, ""},
		{"public, expired token", authz.Public(), expired, ""},
		{"authenticated, anonymous", authz.Authenticated(), nil, auth.ReasonMissing},
		{"authenticated, token", authz.Authenticated(), token(), ""},
		{"authenticated, expired at ValidUntil", authz.Authenticated(), expired, auth.ReasonTokenExpired},
		{"authenticated, no ValidUntil", authz.Authenticated(), noExpiry, ""},
		{"scope, anonymous", authz.HasScope("a"), nil, auth.ReasonMissing},
		{"scope, expired token with it", authz.HasScope("a"), expired, auth.ReasonTokenExpired},
		{"scope granted", authz.HasScope("a"), token("a"), ""},
		{"scope missing", authz.HasScope("a"), token("b"), auth.ReasonInsufficientScope},
		{"longer scope is not it", authz.HasScope("read:x"), token("read:xy"), auth.ReasonInsufficientScope},
		{"shorter scope is not it", authz.HasScope("read:xy"), token("read:x"), auth.ReasonInsufficientScope},
		{"first AND set", aAndBOrC, token("b", "a"), ""},
		{"half of an AND set", aAndBOrC, token("a"), auth.ReasonInsufficientScope},
		{"second set", aAndBOrC, token("c"), ""},
		{"nobody", authz.RequiresScopes(nil), token("a", "b", "c"), auth.ReasonInsufficientScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := authz.Decide(tt.r, tt.claims, now)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Decide = %v; want nil", err)
				}
				return
			}
			var ae *auth.Error
			if !errors.As(err, &ae) {
				t.Fatalf("Decide = %v; want an *auth.Error", err)
			}
			if ae.Reason != tt.want {
				t.Errorf("Reason = %q; want %q", ae.Reason, tt.want)
			}
			if !errors.Is(err, auth.ErrUnauthorized) {
				t.Errorf("errors.Is(err, auth.ErrUnauthorized) = false")
			}
			var wantScopes [][]string
			if tt.want == auth.ReasonInsufficientScope {
				wantScopes = tt.r.Scopes()
			}
			if diff := cmp.Diff(wantScopes, ae.RequiredScopes); diff != "" {
				t.Errorf("RequiredScopes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestErrorDescribed checks that the error reaches clients as the auth
// package's one table says: codes, and the scope for RFC 6750's challenge.
func TestErrorDescribed(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	tok := &auth.Claims{Subject: "user", Scopes: []string{"x"}}
	tests := []struct {
		name      string
		err       error
		code      string
		challenge string // auth.Error.Scope()
	}{
		{"anonymous", authz.Decide(authz.HasScope("a"), nil, now), "UNAUTHENTICATED", ""},
		{"one AND set", authz.Decide(authz.RequiresScopes([][]string{{"b", "a"}}), tok, now), "FORBIDDEN", "b a"},
		{"two sets", authz.Decide(authz.RequiresScopes([][]string{{"a"}, {"b"}}), tok, now), "FORBIDDEN", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := auth.Describe(tt.err).GraphQLCode; got != tt.code {
				t.Errorf("GraphQLCode = %q; want %q", got, tt.code)
			}
			var ae *auth.Error
			errors.As(tt.err, &ae)
			if ae.Scope() != tt.challenge {
				t.Errorf("auth.Error.Scope() = %q; want %q", ae.Scope(), tt.challenge)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	got := []string{authz.KindPublic.String(), authz.KindAuthenticated.String(), authz.KindScopes.String()}
	if want := []string{"public", "authenticated", "scopes"}; !slices.Equal(got, want) {
		t.Errorf("Kind strings = %v; want %v", got, want)
	}
}
