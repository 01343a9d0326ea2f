package main

// The fan-out benchmark of issue 9, section 5: real server processes
// (the binary, built here), a real redis-server, and WebSocket
// subscribers speaking graphql-transport-ws, all on this machine. It is a
// measurement, not a test: it prints figures and asserts nothing.
//
//	go test -run '^$' -bench BenchmarkFanOut -benchtime 1x .
//
// Each sub-benchmark opens -fanout.subscribers subscriptions, measures the
// servers' resident memory before and after (idle), then sends
// -fanout.rate messages per second for -fanout.duration over HTTP and
// records when each subscriber receives each message:
//
//   - hub: one instance, the in-process hub;
//   - redis: two instances sharing one Redis, subscribers and sends split
//     evenly between them.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/authgql/server/auth/authtest"
	"github.com/authgql/server/messages/redistest"
)

var (
	fanoutSubscribers = flag.Int("fanout.subscribers", 500, "BenchmarkFanOut: WebSocket subscribers, split evenly over the instances")
	fanoutRate        = flag.Int("fanout.rate", 50, "BenchmarkFanOut: messages sent per second")
	fanoutDuration    = flag.Duration("fanout.duration", 10*time.Second, "BenchmarkFanOut: how long messages are sent")
)

func BenchmarkFanOut(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "server")
	goCommand(b, "build", "-o", bin, ".")
	b.Run("hub", func(b *testing.B) {
		for range b.N {
			fanOut(b, bin, 1, nil)
		}
	})
	b.Run("redis", func(b *testing.B) {
		rs := redistest.Start(b)
		for range b.N {
			fanOut(b, bin, 2, map[string]string{"REDIS_URL": rs.URL})
		}
	})
}

// fanOut runs one measurement over n instances started with env.
func fanOut(b *testing.B, bin string, n int, env map[string]string) {
	b.StopTimer()
	is := authtest.NewServer(b)
	var servers []*serverProcess
	for range n {
		servers = append(servers, startProcess(b, bin, testEnv(is, env)))
	}
	readToken := is.Token(b, authtest.Scope("read:messages"), authtest.ExpiresIn(time.Hour))
	writeToken := is.Token(b, authtest.Scope("write:messages"), authtest.ExpiresIn(time.Hour))

	total := *fanoutSubscribers
	messages := int(fanoutDuration.Seconds() * float64(*fanoutRate))
	rssBefore := make([]int64, n)
	for i, s := range servers {
		rssBefore[i] = s.rss(b)
	}
	subs := make([]*benchSubscriber, total)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32) // connections being opened at once
	for i := range subs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			subs[i] = dialSubscriber(b, servers[i%n], readToken, messages)
		})
	}
	wg.Wait()
	if b.Failed() {
		return
	}
	// Every subscription is live once each has received a warm-up message.
	warm := newSender(servers, writeToken, 0)
	deadline := time.Now().Add(30 * time.Second)
	for !allWarm(subs) {
		if time.Now().After(deadline) {
			b.Fatal("subscriptions not live after 30 s")
		}
		warm.send(b, "warm-up", 0)
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // idle
	var rssPerWS []float64
	for i, s := range servers {
		per := float64(s.rss(b)-rssBefore[i]) / float64(total/n) / 1024
		rssPerWS = append(rssPerWS, per)
	}

	b.StartTimer()
	s := newSender(servers, writeToken, messages)
	tick := time.NewTicker(time.Second / time.Duration(*fanoutRate))
	var sends sync.WaitGroup
	for seq := range messages {
		<-tick.C
		sends.Go(func() { s.send(b, "m"+strconv.Itoa(seq), seq) })
	}
	tick.Stop()
	sends.Wait()
	sent := int(s.ok.Load())
	deadline = time.Now().Add(10 * time.Second)
	for received(subs) < sent*total && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	b.StopTimer()

	var lat []time.Duration
	got := 0
	for _, sub := range subs {
		for seq, at := range sub.times() {
			if at != 0 {
				got++
				lat = append(lat, time.Duration(at-s.sentAt[seq].Load()))
			}
		}
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	lost := sent*total - got
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lost), "lost")
	b.ReportMetric(mean(rssPerWS), "KiB/idle-ws")
	b.Logf("%d instance(s), %d subscribers, %d msg/s for %s: %d sent (%d refused), %d deliveries; latency p50 %s p99 %s max %s; lost %d; RSS per idle WebSocket %.1f KiB (per instance: %.1f); %d CPUs",
		n, total, *fanoutRate, *fanoutDuration, sent, messages-sent, got, pct(0.50).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), pct(1).Round(10*time.Microsecond), lost, mean(rssPerWS), rssPerWS, runtime.NumCPU())
	for _, sub := range subs {
		sub.close()
	}
}

func mean(xs []float64) float64 {
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// serverProcess is the server binary running as its own process, so that
// its resident memory is its own.
type serverProcess struct {
	url string
	cmd *exec.Cmd
}

func startProcess(b *testing.B, bin string, env map[string]string) *serverProcess {
	b.Helper()
	env["LOG_LEVEL"] = "warn"
	cmd := exec.Command(bin, "-env-file", os.DevNull)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	logs, err := os.Create(filepath.Join(b.TempDir(), "server.log"))
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				u, _, _ := strings.Cut(rest, " ")
				urls <- u
			}
		}
	}()
	p := &serverProcess{cmd: cmd}
	select {
	case p.url = <-urls:
	case <-time.After(20 * time.Second):
		b.Fatal("the server printed no listening line in 20 s")
	}
	(&testServer{URL: p.url, Stderr: &syncBuffer{}}).waitReady(b)
	return p
}

// rss is the process's resident set size in bytes (Linux: VmRSS in
// /proc/PID/status); 0 where that is not available.
func (p *serverProcess) rss(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				b.Fatalf("VmRSS %q: %v", rest, err)
			}
			return kb * 1024
		}
	}
	return 0
}

// sender sends messages over HTTP, round robin over the servers, and
// notes when each send started.
type sender struct {
	servers []*serverProcess
	token   string
	sentAt  []atomic.Int64 // unix nanoseconds, by sequence number; nil: not noted
	client  *http.Client
	next    atomic.Int64
	ok      atomic.Int64
}

func newSender(servers []*serverProcess, token string, messages int) *sender {
	return &sender{servers: servers, token: token, sentAt: make([]atomic.Int64, messages),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

func (s *sender) send(b *testing.B, text string, seq int) {
	body, _ := json.Marshal(map[string]any{"query": `mutation($t: String!) { sendMessage(text: $t) { id } }`, "variables": map[string]any{"t": text}})
	srv := s.servers[int(s.next.Add(1))%len(s.servers)]
	req, _ := http.NewRequest(http.MethodPost, srv.url+"graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.token)
	if seq < len(s.sentAt) {
		s.sentAt[seq].Store(time.Now().UnixNano())
	}
	resp, err := s.client.Do(req)
	if err != nil {
		b.Logf("send %s: %v", text, err)
		return
	}
	defer resp.Body.Close()
	var r struct{ Errors []any }
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != http.StatusOK || len(r.Errors) > 0 {
		b.Logf("send %s: %s %v %v", text, resp.Status, err, r.Errors)
		return
	}
	s.ok.Add(1)
}

// benchSubscriber is one graphql-transport-ws connection with a
// messageSent subscription; it notes when each message "m<seq>" arrives.
type benchSubscriber struct {
	conn *websocket.Conn
	warm atomic.Bool
	mu   sync.Mutex
	at   []int64 // unix nanoseconds, by sequence number; 0 until received
	n    atomic.Int64
}

func dialSubscriber(b *testing.B, p *serverProcess, token string, messages int) *benchSubscriber {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(p.url, "http")+"graphql", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		b.Errorf("dial: %v", err)
		return nil
	}
	write := func(v any) error {
		data, _ := json.Marshal(v)
		return conn.Write(ctx, websocket.MessageText, data)
	}
	if err := write(map[string]any{"type": "connection_init", "payload": map[string]string{"authorization": "Bearer " + token}}); err != nil {
		b.Errorf("connection_init: %v", err)
		return nil
	}
	if _, data, err := conn.Read(ctx); err != nil || !bytes.Contains(data, []byte(`"connection_ack"`)) {
		b.Errorf("connection_ack: %s %v", data, err)
		return nil
	}
	if err := write(map[string]any{"type": "subscribe", "id": "1", "payload": map[string]string{"query": `subscription { messageSent { text } }`}}); err != nil {
		b.Errorf("subscribe: %v", err)
		return nil
	}
	s := &benchSubscriber{conn: conn, at: make([]int64, messages)}
	go s.read()
	return s
}

func (s *benchSubscriber) read() {
	marker := []byte(`"text":"`)
	for {
		_, data, err := s.conn.Read(context.Background())
		now := time.Now().UnixNano()
		if err != nil {
			return
		}
		if bytes.Contains(data, []byte(`"type":"ping"`)) {
			_ = s.conn.Write(context.Background(), websocket.MessageText, []byte(`{"type":"pong"}`))
			continue
		}
		i := bytes.Index(data, marker)
		if i < 0 {
			continue
		}
		text := data[i+len(marker):]
		text = text[:bytes.IndexByte(text, '"')]
		if bytes.HasPrefix(text, []byte("warm-up")) {
			s.warm.Store(true)
			continue
		}
		seq, err := strconv.Atoi(string(bytes.TrimPrefix(text, []byte("m"))))
		if err != nil || seq < 0 || seq >= len(s.at) {
			continue
		}
		s.mu.Lock()
		if s.at[seq] == 0 {
			s.at[seq] = now
			s.n.Add(1)
		}
		s.mu.Unlock()
	}
}

func (s *benchSubscriber) times() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.at)
}

func (s *benchSubscriber) close() { s.conn.CloseNow() }

func allWarm(subs []*benchSubscriber) bool {
	for _, s := range subs {
		if !s.warm.Load() {
			return false
		}
	}
	return true
}

func received(subs []*benchSubscriber) int {
	n := 0
	for _, s := range subs {
		n += int(s.n.Load())
	}
	return n
}
