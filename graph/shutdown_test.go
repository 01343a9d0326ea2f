package graph

import (
	"context"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/99designs/gqlgen/graphql/handler/transport"
)

// recordingConn is a transport.WebsocketConn that records what is written.
type recordingConn struct {
	writes []string
}

func (c *recordingConn) Close() error                        { return nil }
func (c *recordingConn) NextReader() (int, io.Reader, error) { return 0, nil, io.EOF }
func (c *recordingConn) Subprotocol() string                 { return protocolTransportWS }
func (c *recordingConn) WriteJSON(v any) error               { c.writes = append(c.writes, "json"); return nil }
func (c *recordingConn) WriteClose(code int, reason string) error {
	c.writes = append(c.writes, fmt.Sprintf("close %d %s", code, reason))
	return nil
}

// TestGoingAwayConn: before Shutdown a connection writes what gqlgen asks;
// once its context ends because the server goes away, gqlgen's messages
// (an operation's complete) are dropped and its normal close becomes 1001
// "server shutting down"; a context ended for another reason changes
// nothing.
func TestGoingAwayConn(t *testing.T) {
	inner := &recordingConn{}
	ctx, cancel := context.WithCancelCause(context.Background())
	c := &goingAwayConn{WebsocketConn: inner, ctx: ctx}
	_ = c.WriteJSON("next")
	cancel(errGoingAway)
	_ = c.WriteJSON("complete")
	_ = c.WriteClose(transport.WebsocketCloseNormalClosure, "terminated")
	if want := []string{"json", "close 1001 server shutting down"}; !slices.Equal(inner.writes, want) {
		t.Errorf("going away: writes %q; want %q", inner.writes, want)
	}

	inner = &recordingConn{}
	ctx, cancel = context.WithCancelCause(context.Background())
	c = &goingAwayConn{WebsocketConn: inner, ctx: ctx}
	cancel(nil)
	_ = c.WriteJSON("complete")
	_ = c.WriteClose(transport.WebsocketCloseNormalClosure, "terminated")
	if want := []string{"json", "close 1000 terminated"}; !slices.Equal(inner.writes, want) {
		t.Errorf("context ended otherwise: writes %q; want %q", inner.writes, want)
	}
}
