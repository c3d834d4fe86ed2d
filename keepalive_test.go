//go:build unix

package rpyc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/internal/interop"
)

// TestInteropKeepAlive: with WithPing, a connection to a Python server of either version stays
// up while idle for several intervals (the server answers the pings), and once the server
// process is stopped (SIGSTOP: its socket stays open, nothing answers) a pending call fails
// with ErrPeerUnresponsive within about interval+timeout.
func TestInteropKeepAlive(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		proc, addr := startServer(t, p, "--port", "0")
		const interval, timeout = 100 * time.Millisecond, 700 * time.Millisecond
		conn, err := rpyc.Connect(ctx, addr, rpyc.WithPing(interval, timeout))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		root, err := conn.Root(ctx)
		if err != nil {
			t.Fatal(err)
		}
		add := func() (int, error) { return rpyc.As[int](root.CallMethod(ctx, "add", 20, 22)) }
		if n, err := add(); err != nil || n != 42 {
			t.Fatalf("add = %v, %v", n, err)
		}
		time.Sleep(10 * interval) // more than interval+timeout: the pings are answered
		if conn.Closed() {
			t.Fatalf("the idle connection was closed: %v", conn.Err())
		}
		if n, err := add(); err != nil || n != 42 {
			t.Fatalf("add after 10 idle intervals = %v, %v", n, err)
		}

		if err := syscall.Kill(proc.Pid(), syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Kill(proc.Pid(), syscall.SIGCONT) })
		waitStopped(t, proc.Pid())
		start := time.Now()
		_, err = add()
		took := time.Since(start)
		if !errors.Is(err, rpyc.ErrPeerUnresponsive) || !errors.Is(err, rpyc.ErrClosed) {
			t.Fatalf("the call to the stopped server failed with %v, want ErrPeerUnresponsive", err)
		}
		if !errors.Is(conn.Err(), rpyc.ErrPeerUnresponsive) {
			t.Errorf("conn.Err() = %v, want ErrPeerUnresponsive", conn.Err())
		}
		if bound := 10 * (interval + timeout); took > bound {
			t.Errorf("the stopped server was detected after %v, want within %v", took, bound)
		}
		t.Logf("stopped server detected after %v: %v", took.Round(time.Millisecond), err)
	})
}

// waitStopped waits until every thread of process pid is stopped (SIGSTOP is delivered
// asynchronously: a thread woken by data may still serve it before it stops).
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		dirs, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
		stopped := len(dirs) > 0
		for _, d := range dirs {
			b, err := os.ReadFile(d)
			// The state follows the command name in parentheses: "pid (comm) T ...".
			if i := bytes.LastIndexByte(b, ')'); err != nil || i < 0 || i+2 >= len(b) || b[i+2] != 'T' {
				stopped = false
			}
		}
		if stopped {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not stop after SIGSTOP", pid)
		}
	}
}
