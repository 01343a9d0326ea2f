package auth

import (
	"fmt"
	"testing"
	"time"
)

func TestTokenCacheBounded(t *testing.T) {
	now := time.Now()
	c := newTokenCache(10)
	for i := range 1000 {
		c.put(fmt.Sprint("token-", i), "kid", &Claims{ValidUntil: now.Add(time.Hour)}, now)
		if len(c.m) > 10 {
			t.Fatalf("cache holds %d entries; max 10", len(c.m))
		}
	}
	if _, ok := c.get("token-999", now, func(string) bool { return true }); !ok {
		t.Errorf("the newest entry was evicted")
	}
	if _, ok := c.get("token-999", now, func(string) bool { return false }); ok {
		t.Errorf("hit although the key is gone")
	}
	if newTokenCache(0) != nil {
		t.Errorf("size 0 does not disable the cache")
	}
	var disabled *tokenCache
	disabled.put("x", "k", &Claims{}, now)
	if _, ok := disabled.get("x", now, func(string) bool { return true }); ok {
		t.Errorf("disabled cache hit")
	}
}
