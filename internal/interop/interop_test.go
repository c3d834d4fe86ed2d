//go:build unix

package interop

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRepoRoot(t *testing.T) {
	for _, f := range []string{"go.mod", "tox-interop/prepare.sh"} {
		if _, err := os.Stat(filepath.Join(RepoRoot(), f)); err != nil {
			t.Error(err)
		}
	}
	if got, want := Script("brine_peer.py"), filepath.Join(RepoRoot(), "tox-interop", "brine_peer.py"); got != want {
		t.Errorf("Script = %q, want %q", got, want)
	}
	if got := Script("/abs/x.py"); got != "/abs/x.py" {
		t.Errorf("Script(abs) = %q", got)
	}
}

func TestPeers(t *testing.T) {
	peers := Peers(t)
	for _, p := range peers {
		if p.Name != "rpyc-"+p.Version {
			t.Errorf("peer %+v: name does not match version", p)
		}
	}
	if os.Getenv("GORPYC_PEERS") != "" {
		t.Skipf("GORPYC_PEERS=%s restricts the peers", os.Getenv("GORPYC_PEERS"))
	}
	if len(peers) != 2 {
		t.Fatalf("got %d peers, want 2: %+v", len(peers), peers)
	}
	if !strings.HasPrefix(peers[0].Version, "5.") || !strings.HasPrefix(peers[1].Version, "6.") {
		t.Errorf("versions %q, %q; want 5.x and 6.x", peers[0].Version, peers[1].Version)
	}
	t.Logf("peers: %+v", peers)
}

// TestPeerEnvironment checks that each peer's interpreter really imports its own rpyc.
func TestPeerEnvironment(t *testing.T) {
	script := writeScript(t, "import rpyc; print(rpyc.__version__)")
	ForEachPeer(t, func(t *testing.T, p Peer) {
		if got := strings.TrimSpace(p.Run(t, script)); got != p.Version {
			t.Errorf("script under %s imported rpyc %q", p.Name, got)
		}
	})
}

func TestSelectPeers(t *testing.T) {
	p5 := Peer{Name: "rpyc-5.3.0", Version: "5.3.0"}
	p6 := Peer{Name: "rpyc-6.0.1", Version: "6.0.1"}
	both := discovery{peers: []Peer{p5, p6}, problems: map[string]string{}}
	no6 := discovery{peers: []Peer{p5}, problems: map[string]string{"6": "rpyc 6.x missing"}}
	tests := []struct {
		d        discovery
		filter   string
		want     []string
		problems int
	}{
		{both, "", []string{"rpyc-5.3.0", "rpyc-6.0.1"}, 0},
		{both, "rpyc-6.0.1", []string{"rpyc-6.0.1"}, 0},
		{both, " rpyc-6 , rpyc-5.3.0", []string{"rpyc-6.0.1", "rpyc-5.3.0"}, 0},
		{both, "rpyc-6.0.2", nil, 1},
		{both, "rpyc-7", nil, 1},
		{both, "bogus", nil, 1},
		{no6, "", []string{"rpyc-5.3.0"}, 1},
		{no6, "rpyc-5", []string{"rpyc-5.3.0"}, 0},
		{no6, "rpyc-6.0.1", nil, 1},
	}
	for _, tc := range tests {
		peers, problems := selectPeers(tc.d, tc.filter)
		var names []string
		for _, p := range peers {
			names = append(names, p.Name)
		}
		if fmt.Sprint(names) != fmt.Sprint(tc.want) || len(problems) != tc.problems {
			t.Errorf("selectPeers(%q) = %v, problems %q; want %v and %d problems",
				tc.filter, names, problems, tc.want, tc.problems)
		}
	}
}

// fakeTB records how Peers ends a test.
type fakeTB struct {
	testing.TB
	fatal, skip string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func callPeers(f *fakeTB) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		Peers(f)
	}()
	<-done
}

func TestMissingPeer(t *testing.T) {
	t.Setenv("GORPYC_RPYC6_PATH", "/nonexistent/rpyc6")
	t.Setenv("GORPYC_PEERS", "")

	t.Setenv("CI", "")
	f := &fakeTB{}
	callPeers(f)
	if f.skip == "" || f.fatal != "" {
		t.Errorf("without CI: skip %q, fatal %q; want a skip", f.skip, f.fatal)
	}

	t.Setenv("CI", "true")
	f = &fakeTB{}
	callPeers(f)
	if f.fatal == "" || f.skip != "" {
		t.Errorf("with CI=true: skip %q, fatal %q; want a failure", f.skip, f.fatal)
	}
	for _, want := range []string{"/nonexistent/rpyc6", "bash tox-interop/prepare.sh"} {
		if !strings.Contains(f.fatal, want) {
			t.Errorf("message %q does not mention %q", f.fatal, want)
		}
	}

	// Restricting to the peer that exists makes the missing one irrelevant.
	t.Setenv("GORPYC_PEERS", "rpyc-5")
	f = &fakeTB{}
	callPeers(f)
	if f.fatal != "" || f.skip != "" {
		t.Errorf("GORPYC_PEERS=rpyc-5: skip %q, fatal %q; want the 5.x peer", f.skip, f.fatal)
	}
}

func writeScript(t *testing.T, code string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "script.py")
	if err := os.WriteFile(path, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// gone reports whether pid no longer runs (it does not exist or is a zombie awaiting its reaper).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return os.IsNotExist(err)
	}
	// Field 3, after "(comm)", is the state.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 {
		fields := strings.Fields(string(stat[i+1:]))
		return len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X")
	}
	return false
}

func waitGone(pid int, timeout time.Duration) bool {
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if gone(pid) {
			return true
		}
	}
	return gone(pid)
}

// TestStartCleanupKillsGroup starts a script that sleeps with a child of its own, and checks that
// both are gone once the subtest that started them has finished.
func TestStartCleanupKillsGroup(t *testing.T) {
	peers := Peers(t)
	script := writeScript(t, `
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print("PIDS %d %d" % (os.getpid(), child.pid), flush=True)
print("LISTENING 127.0.0.1:9", flush=True)
time.sleep(600)
`)
	var pids []int
	t.Run("sleeper", func(t *testing.T) {
		proc := peers[0].Start(t, script)
		line, err := proc.ReadLine(30 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range strings.Fields(strings.TrimPrefix(line, "PIDS ")) {
			pid, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("bad line %q", line)
			}
			pids = append(pids, pid)
		}
		if len(pids) != 2 || pids[0] != proc.Pid() {
			t.Fatalf("line %q, started pid %d", line, proc.Pid())
		}
		addr, err := proc.WaitListening(10 * time.Second)
		if err != nil || addr != "127.0.0.1:9" || proc.Addr() != addr {
			t.Fatalf("WaitListening = %q, %v", addr, err)
		}
		for _, pid := range pids {
			if gone(pid) {
				t.Fatalf("pid %d is not running", pid)
			}
		}
		select {
		case <-proc.Done():
			t.Fatal("script exited early")
		default:
		}
	})
	if len(pids) != 2 {
		t.Fatal("sleeper subtest failed")
	}
	for _, pid := range pids {
		if !waitGone(pid, 10*time.Second) {
			t.Errorf("pid %d still runs after the test's cleanup", pid)
		}
	}
}

func TestProcessLines(t *testing.T) {
	p := Peers(t)[0]

	t.Run("listening", func(t *testing.T) {
		proc := p.Start(t, writeScript(t, `print("noise"); print("LISTENING 127.0.0.1:4242\r")`))
		if addr, err := proc.WaitListening(30 * time.Second); err != nil || addr != "127.0.0.1:4242" {
			t.Fatalf("WaitListening = %q, %v", addr, err)
		}
		if err := proc.Wait(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("not loopback", func(t *testing.T) {
		proc := p.Start(t, writeScript(t, `print("LISTENING 192.0.2.1:80")`))
		if _, err := proc.WaitListening(30 * time.Second); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Fatalf("WaitListening error %v, want a loopback complaint", err)
		}
	})
	t.Run("exits first", func(t *testing.T) {
		proc := p.Start(t, writeScript(t, `import sys; sys.stderr.write("boom\n"); sys.exit(3)`))
		_, err := proc.WaitListening(30 * time.Second)
		if err == nil || !strings.Contains(err.Error(), "boom") {
			t.Fatalf("WaitListening error %v, want one quoting stderr", err)
		}
		if err := proc.Wait(); err == nil {
			t.Fatal("Wait = nil for exit status 3")
		}
	})
	t.Run("read timeout", func(t *testing.T) {
		proc := p.Start(t, writeScript(t, `import sys; sys.stdin.read()`))
		start := time.Now()
		if _, err := proc.ReadLine(200 * time.Millisecond); err == nil {
			t.Fatal("ReadLine returned a line")
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("ReadLine took %v", d)
		}
		if err := proc.Wait(); err != nil { // closes stdin, so the script ends
			t.Fatal(err)
		}
	})
	t.Run("run", func(t *testing.T) {
		script := writeScript(t, `import os; print(os.environ["PYTHONDONTWRITEBYTECODE"], os.environ["PYTHONUNBUFFERED"])`)
		if got := p.Run(t, script); got != "1 1\n" {
			t.Fatalf("Run = %q", got)
		}
	})
}
