// Package metrics is the server's Prometheus instrumentation: a Metrics
// value that owns its own registry (never the global default one), typed
// methods that the other packages call at the events they see, HTTP
// middleware observing request latency, and the separate listener that
// serves the exposition at GET /metrics on METRICS_ADDR (SPEC.md,
// "Operating several instances").
//
// A nil *Metrics is valid and does nothing, so a package takes a *Metrics
// in its options and calls it unconditionally; without METRICS_ADDR the
// server passes nil.
//
// # Metrics
//
// Names follow Prometheus's conventions (https://prometheus.io/docs/practices/naming/):
// the prefix authgql_, base units (seconds), _total on counters, and
// _timestamp_seconds for a point in time. Every label takes values from a
// fixed set; any other value is counted as "other", so no token, subject,
// raw path or free text can ever become a label. Every known combination
// of a counter's labels exists at 0 from the start.
//
//	authgql_requests_refused_total{surface, reason}         counter
//	    Requests refused by authentication or authorization: an HTTP 401,
//	    403 or 503 from the auth middleware, or a WebSocket connection_init
//	    refused. surface: graphql, rest, websocket. reason: the auth reason
//	    code: temporarily_unavailable, authorization_header_missing,
//	    invalid_header, token_expired, invalid_claims, invalid_token,
//	    insufficient_scope.
//	authgql_graphql_fields_denied_total{surface, reason}    counter
//	    GraphQL fields denied by a directive (null with an error, resolver
//	    not run), one per denied path. surface: graphql, websocket.
//	    reason: authorization_header_missing (no token), token_expired,
//	    insufficient_scope.
//	authgql_jwks_fetches_total{outcome}                     counter
//	    Fetches of the issuer's JWKS. outcome: success, error.
//	authgql_jwks_keys                                       gauge
//	    Signing keys in the key set in use (kept through failed fetches).
//	authgql_jwks_last_success_timestamp_seconds             gauge
//	    Unix time of the last successful JWKS fetch, 0 before the first.
//	    Seconds since the last success: time() - authgql_jwks_last_success_timestamp_seconds.
//	authgql_token_cache_lookups_total{result}               counter
//	    Lookups in the validated-token cache. result: hit, miss.
//	authgql_websocket_connections                           gauge
//	    WebSocket connections open now.
//	authgql_graphql_subscriptions                           gauge
//	    GraphQL subscriptions live now.
//	authgql_messages_published_total                        counter
//	    Messages sent through this instance and accepted by the message bus.
//	authgql_messages_delivered_total                        counter
//	    Messages handed to a subscriber of this instance (n subscribers: n).
//	authgql_redis_errors_total{operation}                   counter
//	    Failed Redis commands of the message bus. operation: publish, read, ping.
//	authgql_http_request_duration_seconds{route, method, code}  histogram
//	    Time until the handler returned. route: the matched ServeMux
//	    pattern's path, from the fixed list in Options.Routes, else other.
//	    method: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, else other.
//	    code: the status code. WebSocket upgrades are not observed.
//	    Buckets (s): 0.001 0.0025 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10.
//
// Besides these, the registry holds the Go runtime (go_*) and process
// (process_*) collectors, go_build_info, and
// promhttp_metric_handler_errors_total.
//
// # Listener
//
// Listen binds METRICS_ADDR; Server.Serve serves GET and HEAD /metrics
// (404 for every other path, 405 for other methods) until its context
// ends, with read, write and idle timeouts. The API's port never serves
// the exposition.
package metrics
