package main

import "github.com/authgql/server/auth/authtest"

func tokenScope(scopes ...string) []authtest.Option {
	return []authtest.Option{authtest.Scope(scopes...)}
}
