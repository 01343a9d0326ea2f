package auth

import "testing"

// TestDescribeScopes: the FORBIDDEN text names the scope sets that would
// grant access as they are: one scope, an AND, an OR of ANDs.
func TestDescribeScopes(t *testing.T) {
	for _, tt := range []struct {
		anyOf [][]string
		want  string
	}{
		{[][]string{{"read:x"}}, `the scope "read:x"`},
		{[][]string{{"read:audit", "read:users"}}, `the scopes "read:audit" and "read:users"`},
		{[][]string{{"read:users"}, {"admin"}}, `the scopes "read:users", or "admin"`},
		{[][]string{{"a", "b"}, {"c"}}, `the scopes "a" and "b", or "c"`},
	} {
		if got := describeScopes(tt.anyOf); got != tt.want {
			t.Errorf("describeScopes(%q) = %s; want %s", tt.anyOf, got, tt.want)
		}
	}
}
