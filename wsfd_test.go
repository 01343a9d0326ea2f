package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestBadInitReleasesDescriptors replays issue 11's first fault against the
// real binary under a 64-descriptor limit: connection_init payloads that
// are not objects used to leave each socket open, uncounted by
// WS_MAX_CONNECTIONS, until about 50 of them stopped the server answering
// GET /api/public for good. Every such connection must be closed by the
// server (4400), whether the client reads the close or vanishes, and the
// process must give its descriptors back.
func TestBadInitReleasesDescriptors(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the server binary")
	}
	srv := startBinary(t, 64, map[string]string{"WS_MAX_CONNECTIONS": "5"})
	baseline := srv.openFDs(t)

	payloads := []string{`"Bearer x"`, `42`, `[1,2]`, `true`}
	for i := range 60 {
		legacy := i%2 == 1
		payload := payloads[i%len(payloads)]
		conn := srv.dial(t, legacy)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init","payload":`+payload+`}`)); err != nil {
			cancel()
			t.Fatalf("connection %d: write: %v", i, err)
		}
		if i%3 == 2 {
			// A client that vanishes without reading or closing.
			conn.CloseNow()
			cancel()
			continue
		}
		var err error
		for err == nil { // graphql-ws sends connection_error before closing
			_, _, err = conn.Read(ctx)
		}
		cancel()
		if got := websocket.CloseStatus(err); got != 4400 {
			t.Fatalf("connection %d (graphql-ws %v, payload %s): closed with %d (%v); want 4400", i, legacy, payload, got, err)
		}
		conn.CloseNow()
	}

	// The server is still whole: the public route answers, and the
	// connection cap has every slot back.
	if r := srv.get(t, "/api/public"); r != http.StatusOK {
		t.Fatalf("GET /api/public = %d after the bad connections; want 200", r)
	}
	for i := range 5 {
		conn := srv.dial(t, i%2 == 1)
		defer conn.CloseNow()
	}
	waitUntil(t, 20*time.Second, func() string {
		if n := srv.openFDs(t); n > baseline+5+3 { // the 5 good connections, and slack for the runtime
			return fmt.Sprintf("server holds %d descriptors; %d at start", n, baseline)
		}
		return ""
	})
}

// binaryServer is the server binary running as a child process.
type binaryServer struct {
	cmd *exec.Cmd
	url string // base URL with a trailing slash
}

// startBinary builds the server and starts it in development mode under a
// descriptor limit of nofile, with env on top of a loopback port; it is
// killed by PID when the test ends.
func startBinary(t *testing.T, nofile int, env map[string]string) *binaryServer {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "server")
	goCommand(t, "build", "-o", bin, ".")
	cmd := exec.Command("sh", "-c", "ulimit -n "+strconv.Itoa(nofile)+" && exec \"$0\"", bin)
	cmd.Dir = t.TempDir() // no .env file
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "HOST=127.0.0.1", "PORT=0"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stderr = io.Discard
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	listening := regexp.MustCompile(`^listening on (http://\S+/) `)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case u := <-found:
		return &binaryServer{cmd: cmd, url: u}
	case <-time.After(30 * time.Second):
		t.Fatal("the server binary did not print its address within 30 s")
		return nil
	}
}

// openFDs counts the server process's open descriptors.
func (s *binaryServer) openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("reading the server's descriptors: %v", err)
	}
	return len(entries)
}

func (s *binaryServer) dial(t *testing.T, legacy bool) *websocket.Conn {
	t.Helper()
	conn, _, err := dialGraphQL(s.url, legacy, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return conn
}

func (s *binaryServer) get(t *testing.T, path string) int {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(strings.TrimSuffix(s.url, "/") + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitUntil polls check, which returns "" when satisfied or what is still
// wrong, until it is satisfied or the bound passes.
func waitUntil(t *testing.T, bound time.Duration, check func() string) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(errors.New(msg))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
