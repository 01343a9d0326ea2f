package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authgql/server/authz"
	"github.com/authgql/server/messages"
)

// TestBadConfiguration: each kind of bad configuration stops the server at
// start, non-zero (an error from run), with one line per problem naming the
// variable; several problems are all reported at once.
func TestBadConfiguration(t *testing.T) {
	prod := map[string]string{"AUTH0_DOMAIN": "tenant.eu.auth0.com", "AUTH0_AUDIENCE": "https://api.example.com"}
	for _, tt := range []struct {
		name string
		env  map[string]string
		want []string // one substring per expected line
	}{
		{"no audience", map[string]string{"AUTH0_DOMAIN": "tenant.eu.auth0.com"}, []string{"AUTH0_AUDIENCE: is required"}},
		{"domain with scheme", with(prod, "AUTH0_DOMAIN", "https://tenant.eu.auth0.com"), []string{"AUTH0_DOMAIN: "}},
		{"http issuer", with(prod, "AUTH0_ISSUER_URL", "http://tenant.example.com/"), []string{"AUTH0_ISSUER_URL: \"http://tenant.example.com/\" must use https"}},
		{"relative issuer", with(prod, "AUTH0_ISSUER_URL", "tenant/"), []string{"AUTH0_ISSUER_URL: \"tenant/\" is not an absolute URL"}},
		{"http jwks", with(prod, "AUTH0_JWKS_URL", "http://keys.example.com/jwks.json"), []string{"AUTH0_JWKS_URL: "}},
		{"jwks without issuer", map[string]string{"AUTH0_JWKS_URL": "https://x.example/jwks.json"}, []string{"AUTH0_JWKS_URL: is set but no issuer"}},
		{"bad port", with(prod, "PORT", "http"), []string{"PORT: "}},
		{"port out of range", with(prod, "PORT", "70000"), []string{"PORT: "}},
		{"wildcard origin", with(prod, "CLIENT_ORIGIN_URL", "*"), []string{"CLIENT_ORIGIN_URL: wildcards"}},
		{"origin with path", with(prod, "CLIENT_ORIGIN_URL", "https://app.example.com/app"), []string{"CLIENT_ORIGIN_URL: "}},
		{"hmac algorithm", with(prod, "AUTH0_ALGORITHMS", "RS256,HS256"), []string{"AUTH0_ALGORITHMS: \"HS256\""}},
		{"none algorithm", with(prod, "AUTH0_ALGORITHMS", "none"), []string{"AUTH0_ALGORITHMS: "}},
		{"bad duration", with(prod, "READ_TIMEOUT", "forever"), []string{"READ_TIMEOUT: "}},
		{"scope claims", with(prod, "SCOPE_CLAIMS", "scope, exp,scope,"), []string{
			`SCOPE_CLAIMS: "exp" is a registered claim (RFC 7519), not one that grants scopes`,
			`SCOPE_CLAIMS: "scope" is named twice`, "SCOPE_CLAIMS: a claim name is empty"}},
		{"token cache bytes", with(prod, "TOKEN_CACHE_BYTES", "10"), []string{"TOKEN_CACHE_BYTES: "}},
		{"websocket limits", with(with(with(prod, "WS_MAX_OPERATIONS", "0"), "WS_PONG_TIMEOUT", "1ms"), "WS_WRITE_TIMEOUT", "slow"),
			[]string{"WS_MAX_OPERATIONS: ", "WS_PONG_TIMEOUT: ", "WS_WRITE_TIMEOUT: "}},
		{"bad bool", with(prod, "GRAPHQL_INTROSPECTION", "maybe"), []string{"GRAPHQL_INTROSPECTION: "}},
		{"no errors at all", with(prod, "GRAPHQL_MAX_ERRORS", "0"), []string{"GRAPHQL_MAX_ERRORS: "}},
		{"refresh bounds", with(with(prod, "JWKS_MIN_REFRESH", "1h"), "JWKS_MAX_REFRESH", "1m"), []string{"JWKS_MAX_REFRESH: "}},
		{"redis scheme", with(prod, "REDIS_URL", "http://cache.internal:6379"), []string{`REDIS_URL: the Redis URL must start with redis:// or rediss://, not "http:"`}},
		{"redis query", with(prod, "REDIS_URL", "redis://cache.internal:6379/0?dial_timeout=1s"), []string{"REDIS_URL: the Redis URL must not have query parameters"}},
		{"redis database", with(prod, "REDIS_URL", "redis://cache.internal/zero"), []string{"REDIS_URL: the Redis URL's path must be empty or a database number"}},
		{"redis settings", with(with(with(prod, "REDIS_STREAM_MAX_LEN", "0"), "REDIS_POOL_SIZE", "1"), "REDIS_SEND_TIMEOUT", "soon"),
			[]string{"REDIS_STREAM_MAX_LEN: ", "REDIS_SEND_TIMEOUT: ", "REDIS_POOL_SIZE: "}},
		{"redis stream name", with(prod, "REDIS_STREAM", "two words"), []string{"REDIS_STREAM: "}},
		{"metrics address", with(prod, "METRICS_ADDR", "9464"), []string{"METRICS_ADDR: \"9464\" is not host:port"}},
		{"metrics port", with(prod, "METRICS_ADDR", "127.0.0.1:99999"), []string{"METRICS_ADDR: "}},
		{"drain delay", with(prod, "SHUTDOWN_DRAIN_DELAY", "-1s"), []string{"SHUTDOWN_DRAIN_DELAY: "}},
		{"plan cache and deletable messages", with(with(prod, "AUTHZ_PLAN_CACHE_SIZE", "0"), "DELETABLE_MESSAGES", "-1"),
			[]string{"AUTHZ_PLAN_CACHE_SIZE: ", "DELETABLE_MESSAGES: "}},
		{"dev mode on a public address", map[string]string{"HOST": "0.0.0.0"}, []string{"HOST: \"0.0.0.0\" is not a loopback address"}},
		{"host with a port", map[string]string{"HOST": "127.0.0.1:80"}, []string{`HOST: "127.0.0.1:80" is not an IP address or host name`}},
		{"host with a space", with(prod, "HOST", "local host"), []string{`HOST: "local host" is not an IP address or host name`}},
		{"IPv4 host in brackets", with(prod, "HOST", "[127.0.0.1]"), []string{`HOST: "[127.0.0.1]" is not an IP address or host name`}},
		{"dev mode metrics on every interface", map[string]string{"METRICS_ADDR": ":9464"}, []string{"METRICS_ADDR: \":9464\" is not a loopback address"}},
		{"dev mode metrics on a public address", map[string]string{"METRICS_ADDR": "0.0.0.0:9464"}, []string{"METRICS_ADDR: \"0.0.0.0:9464\" is not a loopback address"}},
		{"several at once", map[string]string{"AUTH0_DOMAIN": "tenant.auth0.com", "PORT": "x", "CLIENT_ORIGIN_URL": "*", "LOG_LEVEL": "loud"},
			[]string{"AUTH0_AUDIENCE: ", "PORT: ", "CLIENT_ORIGIN_URL: ", "LOG_LEVEL: "}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := run(ctx, []string{"server", "-env-file", emptyEnvFile(t)}, mapLookup(tt.env), &stdout, &stderr)
			if err == nil {
				t.Fatalf("run started with bad configuration")
			}
			problems := strings.Split(strings.TrimSpace(err.Error()), "\n")
			for _, l := range problems {
				if !oneProblemLine.MatchString(l) {
					t.Errorf("line %q does not say, on its own, which variable is wrong", l)
				}
			}
			if len(problems) != len(tt.want) {
				t.Fatalf("got %d problem lines, want %d:\n%s", len(problems), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.Contains(problems[i], w) && !strings.Contains(err.Error(), w) {
					t.Errorf("no line contains %q:\n%s", w, err)
				}
			}
			if strings.Contains(stdout.String(), "listening") {
				t.Errorf("server listened despite bad configuration")
			}
		})
	}
}

// oneProblemLine is a start-up error line that stands on its own.
var oneProblemLine = regexp.MustCompile(`^invalid configuration: [A-Z0-9_]+: \S`)

func with(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for key, val := range m {
		if key != k {
			out[key] = val
		}
	}
	return out
}

// TestDotEnv: .env supplies settings; the environment wins over it, a
// variable set to the empty string included; a missing file is fine unless
// -env-file names it.
func TestDotEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(path, []byte("# comment\nAUTH0_DOMAIN=tenant.auth0.com\nAUTH0_AUDIENCE=\"https://from-file\"\nPORT=1234\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv, err := withDotEnv(mapLookup(map[string]string{"PORT": "4321"}), path, true)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Port != 4321 || cfg.Auth.Audience != "https://from-file" || cfg.Auth.Issuer != "https://tenant.auth0.com/" ||
		cfg.JWKS.URL != "https://tenant.auth0.com/.well-known/jwks.json" || cfg.HTTP.Host != "0.0.0.0" || cfg.Graph.Introspection {
		t.Errorf("config = %+v", cfg)
	}
	// AUTH0_DOMAIN set, empty, in the environment: development mode,
	// whatever the file says.
	getenv, err = withDotEnv(mapLookup(map[string]string{"AUTH0_DOMAIN": ""}), path, true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := loadConfig(getenv); err != nil || !cfg.DevMode {
		t.Errorf("an empty AUTH0_DOMAIN in the environment did not win over the file: dev mode %v, %v", cfg.DevMode, err)
	}
	missing := filepath.Join(t.TempDir(), "missing.env")
	if _, err := withDotEnv(mapLookup(nil), missing, false); err != nil {
		t.Errorf("the default .env missing: %v", err)
	}
	if _, err := withDotEnv(mapLookup(nil), missing, true); err == nil {
		t.Errorf("an -env-file that does not exist was accepted")
	}
	// A malformed file: the error names the line, and repeats nothing of
	// the file, where secrets live. A value spanning lines is fine.
	for _, tt := range []struct {
		text string
		line int
	}{
		{"NOT VALID LINE WITHOUT EQUALS\nREDIS_URL=redis://:s3cret@cache:6379\n", 1},
		{"LOG_LEVEL=info\nbad line here\nREDIS_URL=redis://:s3cret@cache:6379\n", 2},
		{"A=\"multi\nline s3cret\"\n# comment\n\nB C s3cret\n", 5},
	} {
		if err := os.WriteFile(path, []byte(tt.text), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := withDotEnv(mapLookup(nil), path, true)
		if want := fmt.Sprintf("%s: line %d is not KEY=VALUE", path, tt.line); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v; want one saying %q", tt.text, err, want)
		} else if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "line s") {
			t.Errorf("%q: the error repeats the file: %v", tt.text, err)
		}
	}
}

// TestHostForms: HOST takes an IPv6 address with or without brackets,
// and listens on it either way.
func TestHostForms(t *testing.T) {
	for _, host := range []string{"::1", "[::1]", "localhost", "127.0.0.1"} {
		cfg, err := loadConfig(mapEnv(map[string]string{"HOST": host}))
		if err != nil {
			t.Errorf("HOST=%s: %v", host, err)
			continue
		}
		want := strings.Trim(host, "[]")
		if cfg.HTTP.Host != want {
			t.Errorf("HOST=%s: host %q; want %q", host, cfg.HTTP.Host, want)
		}
	}
	if !hasIPv6Loopback() {
		t.Skip("no IPv6 loopback on this machine")
	}
	ts := startServer(t, map[string]string{"HOST": "[::1]"})
	if !strings.HasPrefix(ts.URL, "http://[::1]:") {
		t.Fatalf("listening on %s; want [::1]", ts.URL)
	}
	checkREST(t, do(t, http.MethodGet, ts.URL+"api/public", "", nil), http.StatusOK, map[string]string{"message": messages.Public})
}

// TestArguments: -h prints the flags and succeeds; an argument that is not
// a flag is refused rather than ignored.
func TestArguments(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"server", "-h"}, mapLookup(nil), &stdout, &stderr); err != nil || !strings.Contains(stderr.String(), "-print-authz") {
		t.Errorf("-h: %v, stderr %q; want nil and the flags", err, stderr.String())
	}
	for _, args := range [][]string{{"server", "serve"}, {"server", "-print-authz", "extra"}} {
		stdout.Reset()
		err := run(context.Background(), args, mapLookup(nil), &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), "unexpected argument") || stdout.Len() > 0 {
			t.Errorf("%q: %v, stdout %d bytes; want an unexpected argument error and nothing printed", args, err, stdout.Len())
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.DevMode || cfg.HTTP.Host != "127.0.0.1" || cfg.HTTP.Port != 8080 || !cfg.Graph.Introspection ||
		len(cfg.HTTP.Origins) != 1 || cfg.HTTP.Origins[0] != "http://localhost:4040" {
		t.Errorf("dev defaults = %+v", cfg)
	}
	if cfg.Graph.Authz.PlanCacheSize != authz.DefaultPlanCacheSize || cfg.Messages.Deletable != messages.DefaultDeletable {
		t.Errorf("plan cache %d, deletable %d; want the packages' defaults", cfg.Graph.Authz.PlanCacheSize, cfg.Messages.Deletable)
	}
	cfg, err = loadConfig(mapEnv(map[string]string{"AUTH0_ISSUER_URL": "http://127.0.0.1:9999/", "AUTH0_AUDIENCE": "a",
		"CLIENT_ORIGIN_URL": "https://a.example/, http://localhost:3000"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DevMode || cfg.JWKS.URL != "http://127.0.0.1:9999/.well-known/jwks.json" || strings.Join(cfg.HTTP.Origins, ",") != "https://a.example,http://localhost:3000" {
		t.Errorf("prod config = %+v", cfg)
	}
	// Several instances: no Redis and no metrics unless asked; production
	// drains for a few seconds, development mode stops at once.
	if cfg.Redis.URL != "" || cfg.MetricsAddr != "" || cfg.HTTP.DrainDelay != defaultDrainDelay || cfg.Redis.StreamMaxLen != messages.DefaultStreamMaxLen ||
		cfg.Redis.SendTimeout != messages.DefaultSendTimeout || cfg.Redis.SendRetries != 0 || cfg.Redis.Stream != messages.DefaultStream {
		t.Errorf("prod config = %+v", cfg)
	}
	if dev, _ := loadConfig(mapEnv(nil)); dev.HTTP.DrainDelay != 0 {
		t.Errorf("development mode drains for %s; want 0", dev.HTTP.DrainDelay)
	}
}

// TestRedisURLNotEchoed: a REDIS_URL the server refuses is never repeated
// in the error, since it may carry a password.
func TestRedisURLNotEchoed(t *testing.T) {
	for _, u := range []string{"http://user:s3cret@cache:6379", "redis://:s3cret@cache:6379/x", "redis://:s3cret@cache:6379/0?x=1", "redis://:s3cret@[cache"} {
		_, err := loadConfig(mapEnv(map[string]string{"REDIS_URL": u}))
		if err == nil || !strings.Contains(err.Error(), "REDIS_URL: ") {
			t.Errorf("%s: error %v; want one naming REDIS_URL", u, err)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("the error repeats the password: %v", err)
		}
	}
}

// hasIPv6Loopback reports whether this machine can listen on [::1].
func hasIPv6Loopback() bool {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// TestBusyPorts: a port already taken stops the server at start with an
// error naming the setting (PORT or METRICS_ADDR), not only the address.
func TestBusyPorts(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, port, _ := net.SplitHostPort(busy.Addr().String())
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"PORT": port}, "listen on HOST and PORT: "},
		{map[string]string{"PORT": "0", "METRICS_ADDR": busy.Addr().String()}, "METRICS_ADDR: "},
	} {
		var stdout, stderr bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := run(ctx, []string{"server", "-env-file", emptyEnvFile(t)}, mapLookup(tt.env), &stdout, &stderr)
		cancel()
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) || !strings.Contains(err.Error(), "address already in use") {
			t.Errorf("%v: %v; want an error starting %q", tt.env, err, tt.want)
		}
	}
}
