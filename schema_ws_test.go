package main

import (
	"net/http"
	"testing"
)

// executeSubscription is a placeholder until the WebSocket transport lands.
func (ts *testServer) executeSubscription(t *testing.T, op, field, authorization string) fieldResult {
	t.Helper()
	t.Skip("subscriptions are not served yet")
	return fieldResult{status: http.StatusOK}
}
