package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/auth/authtest"
	"github.com/authgql/server/jwks"
)

func TestExplore(t *testing.T) {
	is := authtest.NewServer(t)
	keys, _ := jwks.New(jwks.Options{URL: is.JWKSURL()})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go keys.Run(ctx)
	for !keys.Ready() {
		time.Sleep(10 * time.Millisecond)
	}
	v, err := auth.NewValidator(auth.Config{Issuer: is.URL, Audience: is.Audience}, keys)
	if err != nil {
		t.Fatal(err)
	}
	tok := is.Token(t, authtest.Scope("read"), authtest.Claim("SCOPE", "read:messages"))
	c, err := v.Validate(ctx, tok)
	t.Logf("SCOPE: %v %v", c, err)
	tok = is.Token(t, authtest.Claim("exp", "9999999999"), authtest.Claim("EXP", 1))
	c, err = v.Validate(ctx, tok)
	t.Logf("EXP: %v %v", c, err)
	tok = is.Token(t, authtest.Claim("exp", nil))
	c, err = v.Validate(ctx, tok)
	t.Logf("exp null: %v %v", c, err)
	tok = is.Token(t)
	parts := strings.Split(tok, ".")
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range parts {
		p := parts[i]
		last := p[len(p)-1]
		idx := strings.IndexByte(alphabet, last)
		for d := 1; d < 4; d++ {
			mut := p[:len(p)-1] + string(alphabet[idx^d])
			q := append([]string(nil), parts...)
			q[i] = mut
			_, err := v.Validate(ctx, strings.Join(q, "."))
			t.Logf("part %d len%%4=%d change %c->%c: err=%v", i, len(p)%4, last, alphabet[idx^d], err)
		}
	}
}
