package messages

import (
	"testing"
	"time"
)

func TestParseRedisURL(t *testing.T) {
	tests := []struct {
		url              string
		addr, user, pass string
		db               int
		tls              bool
		serverName       string
	}{
		{"redis://localhost", "localhost:6379", "", "", 0, false, ""},
		{"redis://:pw@10.0.0.1:6380/3", "10.0.0.1:6380", "", "pw", 3, false, ""},
		{"rediss://user:pw@redis.example/2", "redis.example:6379", "user", "pw", 2, true, "redis.example"},
		{"redis://[::1]:7000", "[::1]:7000", "", "", 0, false, ""},
	}
	for _, tt := range tests {
		o, err := parseRedisURL(tt.url)
		if err != nil {
			t.Errorf("parseRedisURL(%q): %v", tt.url, err)
			continue
		}
		if o.Addr != tt.addr || o.Username != tt.user || o.Password != tt.pass || o.DB != tt.db || (o.TLSConfig != nil) != tt.tls {
			t.Errorf("parseRedisURL(%q) = addr %s user %q db %d tls %v; want %s %q %d %v", tt.url, o.Addr, o.Username, o.DB, o.TLSConfig != nil, tt.addr, tt.user, tt.db, tt.tls)
		}
		if tt.tls && o.TLSConfig.ServerName != tt.serverName {
			t.Errorf("parseRedisURL(%q): TLS server name %q; want %q", tt.url, o.TLSConfig.ServerName, tt.serverName)
		}
	}
}

// TestBackoff: waits double from the minimum, stay within [d/2, d] of
// that and never exceed the maximum, even after many failures.
func TestBackoff(t *testing.T) {
	lo, hi := 100*time.Millisecond, 5*time.Second
	for failures := 1; failures <= 100; failures++ {
		d := lo << min(failures-1, 10)
		d = min(d, hi)
		for range 20 {
			got := backoff(failures, lo, hi)
			if got < d/2 || got > d {
				t.Fatalf("backoff(%d) = %s; want within [%s, %s]", failures, got, d/2, d)
			}
		}
	}
	if got := backoff(70, time.Duration(1<<62), time.Duration(1<<62)+1); got <= 0 {
		t.Errorf("backoff overflowed: %s", got)
	}
}
