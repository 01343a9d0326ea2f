// Package redistest starts a real redis-server (Debian's redis-server
// package) for tests, as net/http/httptest starts an HTTP server: on a free
// 127.0.0.1 port, with a temporary directory, and stopped by its PID when
// the test ends, so no process outlives the test.
//
// A test that needs redis-server and cannot find it fails, naming the
// package to install, unless AUTHGQL_SKIP_DAEMONS=1 is set: then it is
// skipped.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// SkipEnv, set to "1", skips tests whose daemon is not installed instead
// of failing them.
const SkipEnv = "AUTHGQL_SKIP_DAEMONS"

// Bounds on waiting for the server: generous, for a loaded machine.
const (
	startTimeout = 20 * time.Second // until it answers PING (it may be loading its AOF)
	stopTimeout  = 10 * time.Second // after SIGTERM, before SIGKILL
	startTries   = 3                // free ports tried, in case another process takes one first
)

// Server is a redis-server process. Its data lives in Dir with an
// append-only file written at every command (appendfsync always), so the
// data survives Stop and Restart, even a crash. RDB snapshots are off.
type Server struct {
	Addr string // 127.0.0.1:port
	URL  string // redis://127.0.0.1:port
	Dir  string // the working directory: AOF and redis.log

	tb    testing.TB
	path  string
	port  int
	extra []string

	mu     sync.Mutex
	cmd    *exec.Cmd // nil while stopped
	exited chan struct{}
	admin  *redis.Client
}

// Start starts redis-server with extra configuration arguments (as on its
// command line, e.g. "--stream-node-max-entries", "2") and waits until it
// answers PING. It stops the server at the test's cleanup.
func Start(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv(SkipEnv) == "1" {
			tb.Skip("redis-server not found; skipped because " + SkipEnv + "=1")
		}
		tb.Fatal("redis-server not found in PATH: install Debian's redis-server package (apt-get install redis-server), or set " + SkipEnv + "=1 to skip the tests that need it")
	}
	s := &Server{Dir: tb.TempDir(), tb: tb, path: path, extra: extra}
	tb.Cleanup(s.cleanup)
	for try := 1; ; try++ {
		s.port = freePort(tb)
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
		s.URL = "redis://" + s.Addr
		err := s.start()
		if err == nil {
			return s
		}
		if try == startTries {
			tb.Fatalf("redistest: %v", err)
		}
		tb.Logf("redistest: %v; trying another port", err)
	}
}

// PID is the running server's process ID, 0 while stopped.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Stop stops the server as an operator would (SIGTERM: it writes its AOF
// and exits), killing it if it has not exited within a few seconds.
func (s *Server) Stop() {
	s.tb.Helper()
	if err := s.stop(); err != nil {
		s.tb.Fatalf("redistest: %v", err)
	}
}

// Restart starts the server again, on the same port with the same data,
// and waits until it answers PING.
func (s *Server) Restart() {
	s.tb.Helper()
	if s.PID() != 0 {
		s.tb.Fatal("redistest: Restart while the server runs; call Stop first")
	}
	if err := s.start(); err != nil {
		s.tb.Fatalf("redistest: restarting on the same port: %v", err)
	}
}

// Pause freezes the server (SIGSTOP): connections stay open but nothing
// answers, as with a hung server or a lost network. Resume undoes it;
// Stop and the cleanup resume it first.
func (s *Server) Pause() {
	s.tb.Helper()
	s.signal(syscall.SIGSTOP)
}

// Resume lets a paused server run again (SIGCONT).
func (s *Server) Resume() {
	s.tb.Helper()
	s.signal(syscall.SIGCONT)
}

// Client returns a client for administration, closed at the test's
// cleanup. It reconnects by itself after Restart.
func (s *Server) Client() *redis.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admin == nil {
		s.admin = redis.NewClient(&redis.Options{
			Addr:                     s.Addr,
			DisableIdentity:          true,
			MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		})
	}
	return s.admin
}

// KillClients closes, from the server's side (CLIENT KILL), every
// connection whose name (CLIENT SETNAME) is name, and returns how many it
// closed.
func (s *Server) KillClients(name string) int {
	s.tb.Helper()
	return s.KillClientsWhere("name", name)
}

// KillClientsWhere closes, from the server's side (CLIENT KILL), every
// connection whose CLIENT LIST field is value (for example "cmd", "xread":
// the connections whose last command was XREAD), and returns how many it
// closed.
func (s *Server) KillClientsWhere(field, value string) int {
	s.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	list, err := s.Client().ClientList(ctx).Result()
	if err != nil {
		s.tb.Fatalf("redistest: CLIENT LIST: %v", err)
	}
	n := 0
	for line := range strings.Lines(list) {
		fields := map[string]string{}
		for f := range strings.FieldsSeq(line) {
			k, v, _ := strings.Cut(f, "=")
			fields[k] = v
		}
		if fields[field] != value {
			continue
		}
		id, err := strconv.ParseInt(fields["id"], 10, 64)
		if err != nil {
			s.tb.Fatalf("redistest: CLIENT LIST line without an id: %q", line)
		}
		// A connection may close by itself meanwhile: 0 killed is fine.
		k, err := s.Client().ClientKillByFilter(ctx, "ID", strconv.FormatInt(id, 10)).Result()
		if err != nil {
			s.tb.Fatalf("redistest: CLIENT KILL ID %d: %v", id, err)
		}
		n += int(k)
	}
	return n
}

func (s *Server) start() error {
	logPath := filepath.Join(s.Dir, "redis.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child has its own descriptor
	args := append([]string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.Dir,
		"--save", "",
		"--appendonly", "yes",
		"--appendfsync", "always",
		"--daemonize", "no",
		"--logfile", "",
	}, s.extra...)
	cmd := exec.Command(s.path, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()

	deadline := time.Now().Add(startTimeout)
	for {
		if ping(s.Addr) {
			return nil
		}
		select {
		case <-exited:
			s.mu.Lock()
			s.cmd = nil
			s.mu.Unlock()
			return fmt.Errorf("redis-server exited at start (%s); its log ends:\n%s", cmd.ProcessState, tail(logPath))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = s.stop()
			return fmt.Errorf("redis-server did not answer PING on %s within %s; its log ends:\n%s", s.Addr, startTimeout, tail(logPath))
		}
	}
}

func (s *Server) stop() error {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGCONT) // a paused server cannot handle SIGTERM
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = cmd.Process.Kill()
	select {
	case <-exited:
		return fmt.Errorf("redis-server (pid %d) ignored SIGTERM for %s and was killed", cmd.Process.Pid, stopTimeout)
	case <-time.After(stopTimeout):
		return fmt.Errorf("redis-server (pid %d) survived SIGKILL", cmd.Process.Pid)
	}
}

func (s *Server) cleanup() {
	s.mu.Lock()
	admin := s.admin
	s.admin = nil
	s.mu.Unlock()
	if admin != nil {
		_ = admin.Close()
	}
	if err := s.stop(); err != nil {
		s.tb.Errorf("redistest: %v", err)
	}
}

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil {
		s.tb.Fatalf("redistest: %v to a stopped server", sig)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		s.tb.Fatalf("redistest: %v: %v", sig, err)
	}
}

// ping reports whether a Redis server at addr answers PING with PONG (not
// with an error such as LOADING while it reads its AOF).
func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "+PONG\r\n"
}

// freePort returns a loopback port that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("redistest: finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// tail returns the end of a log file, for an error message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	const max = 2000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}
