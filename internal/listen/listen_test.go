package listen_test

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/authgql/server/internal/listen"
)

func TestNetwork(t *testing.T) {
	for addr, want := range map[string]string{
		"0.0.0.0:8080":   "tcp4",
		"127.0.0.1:0":    "tcp4",
		"10.1.2.3:9464":  "tcp4",
		"[::]:8080":      "tcp",
		"[::1]:8080":     "tcp",
		"localhost:8080": "tcp",
		":8080":          "tcp",
		"not an address": "tcp",
	} {
		if got := listen.Network(addr); got != want {
			t.Errorf("Network(%q) = %q; want %q", addr, got, want)
		}
	}
}

// TestWildcardIPv4IsIPv4Only: a listener on 0.0.0.0 accepts over IPv4 and
// refuses IPv6 ([::1]), where Go's plain "tcp" would accept both.
func TestWildcardIPv4IsIPv4Only(t *testing.T) {
	probe, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	probe.Close()

	ln, err := listen.TCP("0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	c, err := net.DialTimeout("tcp4", net.JoinHostPort("127.0.0.1", port), 2*time.Second)
	if err != nil {
		t.Fatalf("over IPv4: %v", err)
	}
	c.Close()
	if c, err := net.DialTimeout("tcp6", net.JoinHostPort("::1", port), 2*time.Second); err == nil {
		c.Close()
		t.Errorf("a listener on 0.0.0.0 accepted a connection over IPv6 ([::1]:%s)", port)
	}
}
