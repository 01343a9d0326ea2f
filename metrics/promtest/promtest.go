// Package promtest runs Debian's Prometheus server and promtool for tests,
// as net/http/httptest runs an HTTP server: Start launches a real
// prometheus on a free loopback port with a generated configuration and
// storage in a temporary directory, scraping the given targets every
// second, and stops it by PID when the test ends. Query reads values back
// through Prometheus's HTTP API (/api/v1/query); CheckMetrics lints an
// exposition with `promtool check metrics`.
//
// A missing binary fails the test with the Debian package to install,
// unless AUTHGQL_SKIP_DAEMONS=1, which skips it instead.
//
// Prometheus is pointed only at loopback: it listens on 127.0.0.1, scrapes
// only the targets given, and has no Alertmanager, remote write or other
// outgoing configuration. Only test code imports this package.
package promtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Bounds of the waits. They are generous: the machine running the tests
// may be shared and loaded.
const (
	ScrapeInterval = time.Second      // how often Prometheus scrapes each target
	ReadyTimeout   = 60 * time.Second // from start to /-/ready answering 200
	WaitTimeout    = 30 * time.Second // WaitFor's default bound
	StopTimeout    = 10 * time.Second // from SIGTERM to exit, then SIGKILL
	startAttempts  = 3                // another free port when the chosen one was taken meanwhile
)

// SkipEnv set to 1 skips, rather than fails, tests whose daemon is missing.
const SkipEnv = "AUTHGQL_SKIP_DAEMONS"

// Prometheus is a Prometheus server run by a test.
type Prometheus struct {
	URL string // base URL, "http://127.0.0.1:PORT"
	Job string // the job name of the targets, the "job" label of their series

	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
	client *http.Client
}

// Start runs prometheus scraping targets ("host:port", path /metrics, all
// in one job) every ScrapeInterval and returns once it is ready. It is
// stopped (SIGTERM, then SIGKILL after StopTimeout) when tb ends.
func Start(tb testing.TB, targets ...string) *Prometheus {
	tb.Helper()
	bin := Binary(tb, "prometheus", "prometheus")
	for _, t := range targets {
		if host, _, err := net.SplitHostPort(t); err != nil || !isLoopback(host) {
			tb.Fatalf("promtest: target %q must be a loopback host:port", t)
		}
	}
	var lastErr error
	for range startAttempts {
		p, err := start(tb, bin, targets)
		if err == nil {
			return p
		}
		lastErr = err
	}
	tb.Fatalf("promtest: %v", lastErr)
	return nil
}

func start(tb testing.TB, bin string, targets []string) (*Prometheus, error) {
	tb.Helper()
	dir := tb.TempDir()
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p := &Prometheus{
		URL:    "http://127.0.0.1:" + strconv.Itoa(port),
		Job:    "authgql",
		dir:    dir,
		exited: make(chan struct{}),
		client: &http.Client{Timeout: 5 * time.Second},
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(config(p.Job, targets)), 0o600); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	p.cmd = exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(port),
		"--log.level=warn",
	)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a ^C to the test does not reach it before cleanup
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	tb.Cleanup(p.stop)
	if err := p.waitReady(); err != nil {
		p.stop()
		return nil, fmt.Errorf("%w\n%s", err, p.Log())
	}
	return p, nil
}

// config is prometheus.yml: one job scraping targets every second.
func config(job string, targets []string) string {
	quoted := make([]string, len(targets))
	for i, t := range targets {
		quoted[i] = strconv.Quote(t)
	}
	return fmt.Sprintf(`global:
  scrape_interval: %[1]s
  scrape_timeout: %[1]s
  evaluation_interval: %[1]s
scrape_configs:
  - job_name: %[2]q
    metrics_path: /metrics
    scheme: http
    static_configs:
      - targets: [%[3]s]
`, ScrapeInterval, job, strings.Join(quoted, ", "))
}

func (p *Prometheus) waitReady() error {
	deadline := time.Now().Add(ReadyTimeout)
	for {
		select {
		case <-p.exited:
			return errors.New("prometheus exited before it was ready (port taken?)")
		default:
		}
		resp, err := p.client.Get(p.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("prometheus not ready after %s (last: %v)", ReadyTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop ends the process by its PID: SIGTERM, then SIGKILL.
func (p *Prometheus) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(StopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// Log returns what prometheus has written to stdout and stderr so far.
func (p *Prometheus) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "prometheus.log"))
	return string(b)
}

// Sample is one element of an instant vector.
type Sample struct {
	Metric map[string]string // labels, __name__ included
	Value  float64
}

// Query evaluates expr at the current time through /api/v1/query and
// returns its instant vector (a scalar becomes one sample without labels).
func (p *Prometheus) Query(ctx context.Context, expr string) ([]Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/api/v1/query?"+url.Values{"query": {expr}}.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("query %q: %s: %w", expr, resp.Status, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %q: %s: %s", expr, resp.Status, r.Error)
	}
	switch r.Data.ResultType {
	case "vector":
		var vec []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if err := json.Unmarshal(r.Data.Result, &vec); err != nil {
			return nil, fmt.Errorf("query %q: %w", expr, err)
		}
		out := make([]Sample, len(vec))
		for i, s := range vec {
			v, err := sampleValue(s.Value)
			if err != nil {
				return nil, fmt.Errorf("query %q: %w", expr, err)
			}
			out[i] = Sample{Metric: s.Metric, Value: v}
		}
		return out, nil
	case "scalar":
		var s [2]any
		if err := json.Unmarshal(r.Data.Result, &s); err != nil {
			return nil, fmt.Errorf("query %q: %w", expr, err)
		}
		v, err := sampleValue(s)
		return []Sample{{Value: v}}, err
	default:
		return nil, fmt.Errorf("query %q: result type %q, want vector or scalar", expr, r.Data.ResultType)
	}
}

// sampleValue decodes [unix_time, "value"] (Prometheus HTTP API, "Expression query result formats").
func sampleValue(v [2]any) (float64, error) {
	s, ok := v[1].(string)
	if !ok {
		return 0, fmt.Errorf("sample value %v is not a string", v[1])
	}
	return strconv.ParseFloat(s, 64)
}

// WaitFor polls expr until it returns exactly one sample equal to want, and
// fails the test with what it last saw after WaitTimeout.
func (p *Prometheus) WaitFor(tb testing.TB, expr string, want float64) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	var last string
	for {
		got, err := p.Query(ctx, expr)
		switch {
		case err != nil:
			last = err.Error()
		case len(got) == 1 && got[0].Value == want:
			return
		default:
			last = fmt.Sprintf("%v", got)
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("promtest: %s = %s after %s; want one sample of %v\nprometheus log:\n%s", expr, last, WaitTimeout, want, p.Log())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Binary returns the path of the Debian package pkg's program name, or
// fails tb naming the package (skips it when AUTHGQL_SKIP_DAEMONS=1).
func Binary(tb testing.TB, name, pkg string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv(SkipEnv) == "1" {
		tb.Skipf("%s not installed and %s=1: skipping", name, SkipEnv)
	}
	tb.Fatalf("%s not found in PATH: install Debian's %s package (apt-get install %s), or set %s=1 to skip", name, pkg, pkg, SkipEnv)
	return ""
}

// CheckMetrics runs `promtool check metrics` on exposition (Prometheus text
// format) and fails tb with every complaint, if any.
func CheckMetrics(tb testing.TB, exposition []byte) {
	tb.Helper()
	bin := Binary(tb, "promtool", "prometheus")
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "check", "metrics")
	cmd.Stdin = bytes.NewReader(exposition)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		tb.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// Scrape GETs url as Prometheus would and returns the body, failing tb
// unless the answer is 200 in the Prometheus text format.
func Scrape(tb testing.TB, url string) []byte {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := (&http.Client{Timeout: WaitTimeout}).Do(req)
	if err != nil {
		tb.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("scrape %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		tb.Fatalf("scrape %s: %s, Content-Type %q; want 200 text/plain\n%s", url, resp.Status, resp.Header.Get("Content-Type"), body)
	}
	return body
}

// Samples returns the samples of an exposition in the Prometheus text
// format as it writes them: "name{label="value",...}" (labels sorted by
// name) to value. It fails tb on a line it cannot read.
func Samples(tb testing.TB, exposition []byte) map[string]float64 {
	tb.Helper()
	samples := make(map[string]float64)
	for line := range strings.Lines(string(exposition)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			tb.Fatalf("promtest: sample %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples
}

// AssertNoExposition fails tb if baseURL (an API listener, "http://host:port")
// answers GET /metrics with anything but 404, or with a body that looks like
// a Prometheus exposition: the metrics belong to METRICS_ADDR only.
func AssertNoExposition(tb testing.TB, baseURL string) {
	tb.Helper()
	for _, path := range []string{"/metrics", "/metrics/", "/metrics?format=prometheus"} {
		resp, err := (&http.Client{Timeout: WaitTimeout}).Get(baseURL + path)
		if err != nil {
			tb.Fatalf("GET %s%s: %v", baseURL, path, err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			tb.Errorf("GET %s%s = %s; want 404 (metrics are served on METRICS_ADDR only)", baseURL, path, resp.Status)
		}
		if bytes.Contains(body, []byte("# TYPE ")) || bytes.Contains(body, []byte("authgql_")) || bytes.Contains(body, []byte("go_goroutines")) {
			tb.Errorf("GET %s%s serves a Prometheus exposition:\n%.300s", baseURL, path, body)
		}
	}
}

// AssertOnlyMetrics fails tb unless the metrics listener at baseURL serves
// GET /metrics and answers 404 on every other path a client might try.
func AssertOnlyMetrics(tb testing.TB, baseURL string) {
	tb.Helper()
	Scrape(tb, baseURL+"/metrics")
	for _, path := range []string{"/", "/graphql", "/healthz", "/readyz", "/api/public", "/debug/pprof/", "/metrics/", "/metricsx", "/x/metrics"} {
		resp, err := (&http.Client{Timeout: WaitTimeout}).Get(baseURL + path)
		if err != nil {
			tb.Fatalf("GET %s%s: %v", baseURL, path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			tb.Errorf("GET %s%s on the metrics listener = %s; want 404", baseURL, path, resp.Status)
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
