// Package listen opens the server's TCP listeners so that an IPv4 address
// is served over IPv4 only.
//
// Go's "tcp" network listens on the IPv4 wildcard 0.0.0.0 with a
// dual-stack socket ([::]), which accepts IPv6 connections too. An
// operator who sets HOST=0.0.0.0 (SPEC.md's default in production) or
// METRICS_ADDR=0.0.0.0:9464 asks for every IPv4 interface, and firewall
// rules written for IPv4 would not cover the IPv6 side.
package listen

import (
	"net"
	"net/netip"
)

// TCP listens on addr, a "host:port". A host that is an IPv4 address,
// 0.0.0.0 included, is listened on over IPv4 alone ("tcp4"); an IPv6
// address or a name is listened on as Go's "tcp" does (so "::" stays
// dual-stack). The errors are net.Listen's.
func TCP(addr string) (net.Listener, error) {
	return net.Listen(Network(addr), addr)
}

// Network is the network TCP listens on for addr: "tcp4" or "tcp".
func Network(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "tcp" // net.Listen reports the malformed address
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
		return "tcp4"
	}
	return "tcp"
}
