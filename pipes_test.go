//go:build unix

package rpyc_test

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/protocol"
)

// pipeServer returns the command of a Python child serving one connection over its stdio
// (tox-interop/transport_server.py, Python's connect_stdpipes + serve_all), with its stderr.
func pipeServer(ctx context.Context, p interop.Peer) (*exec.Cmd, *interop.Buffer) {
	cmd := p.Command(ctx, interop.Script("transport_server.py"))
	stderr := &interop.Buffer{}
	cmd.Stderr = stderr
	return cmd, stderr
}

// peerDialect is the dialect of p's rpyc.
func peerDialect(p interop.Peer) compat.Dialect {
	if strings.HasPrefix(p.Version, "6.") {
		return compat.V6
	}
	return compat.V5
}

// useChild calls the child's add and pid, closes the connection and checks that the child is
// gone (reaped) when Close returns.
func useChild(t *testing.T, ctx context.Context, conn *rpyc.Conn) {
	t.Helper()
	pid := callChild(t, ctx, conn)
	start := time.Now()
	if err := conn.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the child (pid %d) is still there after Close: %v", pid, err)
	}
	t.Logf("Close took %v (closes the child's stdin, reaps it)", time.Since(start).Round(time.Millisecond))
}

// callChild calls the child's add and returns its pid.
func callChild(t *testing.T, ctx context.Context, conn *rpyc.Conn) int {
	t.Helper()
	root, err := conn.Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := rpyc.As[int](root.CallMethod(ctx, "add", 20, 22)); err != nil || n != 42 {
		t.Fatalf("add over pipes = %v, %v", n, err)
	}
	pid, err := rpyc.As[int](root.CallMethod(ctx, "pid"))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestInteropConnectSubprocPython: rpyc.ConnectSubproc starts a Python child serving one
// connection over its stdio, with both versions; the dialect is found by itself (a 6.x child
// refuses the v5 probe once, logging one ValueError traceback, and is started again in v6; the
// next start of the same command probes in v6 at once), or named with WithDialect.
func TestInteropConnectSubprocPython(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		want := peerDialect(p)
		for i, opts := range [][]rpyc.Option{nil, nil, {rpyc.WithDialect(want)}} {
			cmd, stderr := pipeServer(ctx, p)
			conn, err := rpyc.ConnectSubproc(ctx, cmd, opts...)
			if err != nil {
				t.Fatalf("connect %d: %v", i, err)
			}
			if conn.Dialect() != want {
				t.Errorf("connect %d: dialect %v, want %v", i, conn.Dialect(), want)
			}
			root, err := conn.Root(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if v, err := rpyc.As[string](root.CallMethod(ctx, "version")); err != nil || v != p.Version {
				t.Fatalf("the child runs rpyc %q, %v; want %s", v, err, p.Version)
			}
			useChild(t, ctx, conn)
			n := strings.Count(stderr.String(), "Traceback")
			t.Logf("connect %d: %d tracebacks in the child's stderr", i, n)
			if i > 0 && n != 0 {
				t.Errorf("connect %d: the child logged %d tracebacks, want none:\n%s", i, n, stderr.String())
			}
		}
	})
}

// TestInteropConnectPipesMismatch: ConnectPipes over a child's pipes that the caller made.
// A refused probe cannot be retried over them: against a 6.x child auto-detection fails with a
// *protocol.ProbeError naming v6; with WithDialect it works against both versions, and the
// child exits when the connection closes its pipes.
func TestInteropConnectPipesMismatch(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		want := peerDialect(p)
		for _, opts := range [][]rpyc.Option{nil, {rpyc.WithDialect(want)}} {
			cmd, stderr := pipeServer(ctx, p)
			w, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			r, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
			conn, err := rpyc.ConnectPipes(ctx, r, w, opts...)
			var pe *protocol.ProbeError
			if opts == nil && want == compat.V6 {
				if !errors.As(err, &pe) || pe.Peer != compat.V6 || !errors.Is(err, protocol.ErrDialectMismatch) {
					t.Fatalf("ConnectPipes to a 6.x child: %v, want a ProbeError naming v6", err)
				}
				t.Logf("auto-detection over pipes: %v", err)
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			callChild(t, ctx, conn)
			if err := conn.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			select {
			case err := <-exited:
				exited <- err
				if err != nil {
					t.Errorf("the child exited with %v; stderr:\n%s", err, stderr.String())
				}
			case <-time.After(10 * time.Second):
				t.Errorf("the child did not exit after Close")
			}
		}
	})
}

// TestConnectSubprocGo: rpyc.ConnectSubproc starts a Go stdio service (examples/stdioserver,
// server.ServeStdio) and uses it; the child exits when the connection closes.
func TestConnectSubprocGo(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "stdioserver")
	if out, err := exec.Command("go", "build", "-o", bin, "./examples/stdioserver").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, opts := range [][]rpyc.Option{nil, {rpyc.WithDialect(compat.V6)}} {
		cmd := exec.Command(bin)
		stderr := &interop.Buffer{}
		cmd.Stderr = stderr
		conn, err := rpyc.ConnectSubproc(ctx, cmd, opts...)
		if err != nil {
			t.Fatal(err)
		}
		useChild(t, ctx, conn)
		if cmd.ProcessState == nil || !cmd.ProcessState.Success() {
			t.Errorf("the Go child's exit: %v; stderr:\n%s", cmd.ProcessState, stderr.String())
		}
	}
	// Misuse is refused before anything starts.
	cmd := exec.Command(bin)
	cmd.Stdout = &interop.Buffer{}
	if _, err := rpyc.ConnectSubproc(ctx, cmd); err == nil {
		t.Error("ConnectSubproc accepted a command with its own Stdout")
	}
}
