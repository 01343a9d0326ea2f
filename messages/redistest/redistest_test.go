package redistest_test

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/authgql/server/messages/redistest"
)

// TestRestartKeepsDataAndPort: data written before Stop is there after
// Restart, on the same address, and the stopped process is gone.
func TestRestartKeepsDataAndPort(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	if err := srv.Client().Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	pid, addr := srv.PID(), srv.Addr
	srv.Stop()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("redis-server pid %d still exists after Stop (kill -0: %v)", pid, err)
	}
	if srv.PID() != 0 {
		t.Errorf("PID() = %d after Stop; want 0", srv.PID())
	}
	srv.Restart()
	if srv.Addr != addr {
		t.Errorf("Addr = %s after Restart; want %s", srv.Addr, addr)
	}
	if v, err := srv.Client().Get(ctx, "k").Result(); v != "v" {
		t.Errorf("GET k after Restart = %q, %v; want \"v\"", v, err)
	}
}

// TestKillClients closes the named connections, and only those.
func TestKillClients(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	victim := redis.NewClient(&redis.Options{Addr: srv.Addr, ClientName: "victim", DisableIdentity: true})
	defer victim.Close()
	if err := victim.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	adminID, err := srv.Client().ClientID(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.KillClients("victim"); n != 1 {
		t.Errorf("KillClients = %d; want 1", n)
	}
	if n := srv.KillClients("victim"); n != 0 {
		t.Errorf("KillClients again = %d; want 0", n)
	}
	if id, err := srv.Client().ClientID(ctx).Result(); err != nil || id != adminID {
		t.Errorf("the admin connection changed (CLIENT ID %d, then %d, %v); it was killed too", adminID, id, err)
	}
}
