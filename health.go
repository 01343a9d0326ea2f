package main

import (
	"net/http"
	"sync/atomic"

	"github.com/authgql/server/api"
)

// health answers a load balancer's questions: GET /healthz, whether the
// process is alive, and GET /readyz, whether it should get traffic.
//
// /readyz is 503 while no signing key is loaded (every token-bearing
// request would get 503) and from SIGTERM on (the drain delay, see run),
// and 200 otherwise. Redis does not take part: every instance shares the
// one Redis and loses it at the same moment, so failing readiness on it
// would take every instance out of the load balancer at once and turn a
// degraded service (sendMessage answers SERVICE_UNAVAILABLE at once,
// everything else works, subscriptions catch up when Redis is back) into
// no service at all. The body says whether Redis is connected, for
// people; alert on authgql_redis_errors_total instead.
type health struct {
	keys  interface{ Ready() bool }     // the validator: signing keys loaded
	redis interface{ Connected() bool } // the Redis bus; nil with the in-process hub

	draining atomic.Bool // set when shutdown starts
}

// drain makes /readyz answer 503 from now on.
func (h *health) drain() { h.draining.Store(true) }

// closeWhileDraining asks, once draining, that each connection be closed
// after its response ("Connection: close", RFC 9112 section 9.6), so that
// clients and load balancers open their next connection elsewhere.
// Closing idle keep-alive connections at once instead
// (http.Server.SetKeepAlivesEnabled) races with a client that is sending
// a request on one, which then fails.
func (h *health) closeWhileDraining(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.draining.Load() && r.Header.Get("Upgrade") == "" {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

func (h *health) live(w http.ResponseWriter, _ *http.Request) {
	api.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (h *health) ready(w http.ResponseWriter, _ *http.Request) {
	body := map[string]string{"status": "ready"}
	if h.redis != nil {
		body["redis"] = "connected"
		if !h.redis.Connected() {
			body["redis"] = "unreachable: sendMessage answers SERVICE_UNAVAILABLE until it is back"
		}
	}
	status := http.StatusOK
	switch {
	case h.draining.Load():
		status, body["status"] = http.StatusServiceUnavailable, "shutting down"
	case !h.keys.Ready():
		status, body["status"] = http.StatusServiceUnavailable, "waiting for the issuer's signing keys"
	}
	api.WriteJSON(w, status, body)
}
