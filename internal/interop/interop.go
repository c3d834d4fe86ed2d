//go:build unix

// Package interop runs gorpyc's live interoperability tests against real Python rpyc peers.
//
// Every interop test in the repository goes through this package: [ForEachPeer] runs a test once
// per Python rpyc version, as subtests named after the peer ("rpyc-5.3.0", "rpyc-6.0.1"), and
// [Peer.Start] / [Peer.Run] run Python scripts from tox-interop/ under that peer, bounded in time
// and killed (with their whole process group) when the test ends.
//
// # Peers
//
// Two peers are required, both run by the same interpreter:
//
//   - the 5.x peer: the system rpyc (Debian's python3-rpyc in /usr/lib/python3/dist-packages);
//   - the 6.x peer: rpyc 6 unpacked under tox-interop/.peers/rpyc6/usr/lib/python3/dist-packages,
//     put first on PYTHONPATH.
//
// `bash tox-interop/prepare.sh` installs both (idempotently). Each peer is verified once per
// process by asking the interpreter for rpyc.__version__. If a required peer is missing the
// interop tests are skipped, except under CI (environment CI=true), where they fail with
// instructions.
//
// # Environment
//
//	GORPYC_PYTHON      the interpreter (default /usr/bin/python3, not the python3 on PATH)
//	GORPYC_RPYC6_PATH  the directory holding the 6.x rpyc package
//	                   (default <repo>/tox-interop/.peers/rpyc6/usr/lib/python3/dist-packages)
//	GORPYC_PEERS       comma-separated peers to run against, e.g. "rpyc-6.0.1" or "rpyc-5";
//	                   an entry is a full name or a major version ("rpyc-5" = any 5.x). Only
//	                   the listed peers are then required. To run the suite against another
//	                   release, install it as the system rpyc or point GORPYC_RPYC6_PATH at it
//	                   (and optionally name it here so a mismatch is reported).
//	CI                 "true" turns missing peers into test failures.
//
// # Script conventions
//
// Peer scripts live in tox-interop/. A script that serves connections binds 127.0.0.1 port 0,
// prints "LISTENING 127.0.0.1:<port>" on stdout and flushes; [Process.WaitListening] and
// [Process.Dial] wait for that line. Scripts should exit when their stdin reaches EOF, which
// happens when the test closes [Process.Stdin] or when the test binary dies. Everything stays on
// the loopback interface.
package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// DefaultTimeout bounds every process started by [Peer.Start] and [Peer.Run] (less if the test
// binary's own deadline, from go test -timeout, comes sooner).
const DefaultTimeout = 2 * time.Minute

// DefaultPython is the interpreter both peers run under unless GORPYC_PYTHON says otherwise.
const DefaultPython = "/usr/bin/python3"

// Peer is one Python rpyc installation to test against.
type Peer struct {
	// Name is "rpyc-" + Version, e.g. "rpyc-5.3.0"; it names the subtests.
	Name string
	// Version is rpyc.__version__ as reported by the interpreter, e.g. "5.3.0".
	Version string
	// Python is the interpreter's path.
	Python string
	// Env holds extra environment entries ("KEY=value") for the interpreter, e.g. PYTHONPATH.
	Env []string
}

// slot describes one required peer before it is probed.
type slot struct {
	major string // "5" or "6"
	desc  string // where it is expected, for messages
	path  string // directory to put on PYTHONPATH, "" for the system rpyc
}

type discovery struct {
	peers    []Peer
	problems map[string]string // major -> why the peer is unusable
}

type cacheKey struct{ python, rpyc6 string }

var (
	cacheMu sync.Mutex
	cache   = map[cacheKey]*cacheEntry{}
)

type cacheEntry struct {
	once sync.Once
	d    discovery
}

// Peers returns the Python rpyc peers to test against, in version order, verifying each by
// running its interpreter once per process (the result is cached). If a required peer is
// missing it skips the test, or fails it when CI=true. See the package documentation for the
// environment variables it honours.
func Peers(t testing.TB) []Peer {
	t.Helper()
	python := os.Getenv("GORPYC_PYTHON")
	if python == "" {
		python = DefaultPython
	}
	rpyc6 := os.Getenv("GORPYC_RPYC6_PATH")
	if rpyc6 == "" {
		rpyc6 = filepath.Join(RepoRoot(), "tox-interop", ".peers", "rpyc6", "usr", "lib", "python3", "dist-packages")
	} else if abs, err := filepath.Abs(rpyc6); err == nil {
		rpyc6 = abs // the interpreter runs in the repository root, not in the test's directory
	}
	d := discover(python, rpyc6)
	peers, problems := selectPeers(d, os.Getenv("GORPYC_PEERS"))
	if len(problems) > 0 {
		msg := "interop: Python rpyc peers unavailable:\n\t" + strings.Join(problems, "\n\t") +
			"\nfix: run `bash tox-interop/prepare.sh` from the repository root " +
			"(or set GORPYC_PYTHON / GORPYC_RPYC6_PATH / GORPYC_PEERS)"
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s", msg)
		}
		t.Skipf("%s\n(set CI=true to make this a failure)", msg)
	}
	return peers
}

func discover(python, rpyc6 string) discovery {
	key := cacheKey{python, rpyc6}
	cacheMu.Lock()
	e := cache[key]
	if e == nil {
		e = &cacheEntry{}
		cache[key] = e
	}
	cacheMu.Unlock()
	e.once.Do(func() {
		e.d.problems = map[string]string{}
		slots := []slot{
			{major: "5", desc: "system rpyc of " + python},
			{major: "6", desc: "rpyc in " + rpyc6, path: rpyc6},
		}
		for _, s := range slots {
			p, err := probe(python, s)
			if err != nil {
				e.d.problems[s.major] = fmt.Sprintf("rpyc %s.x (%s): %v", s.major, s.desc, err)
				continue
			}
			e.d.peers = append(e.d.peers, p)
		}
	})
	return e.d
}

// probe runs the interpreter to learn the slot's rpyc version and checks it is the expected one.
func probe(python string, s slot) (Peer, error) {
	if _, err := os.Stat(python); err != nil {
		return Peer{}, fmt.Errorf("no interpreter: %w", err)
	}
	if s.path != "" {
		if fi, err := os.Stat(filepath.Join(s.path, "rpyc")); err != nil || !fi.IsDir() {
			return Peer{}, fmt.Errorf("no rpyc package directory in %s", s.path)
		}
	}
	p := Peer{Python: python, Env: []string{"PYTHONPATH=" + s.path}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := p.Command(ctx, "-c", "import os, rpyc; print(rpyc.__version__); print(os.path.dirname(os.path.abspath(rpyc.__file__)))")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Peer{}, fmt.Errorf("%v: %s", err, lastLines(stderr.String(), 3))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		return Peer{}, fmt.Errorf("unexpected probe output %q", out)
	}
	p.Version, p.Name = strings.TrimSpace(lines[0]), "rpyc-"+strings.TrimSpace(lines[0])
	if !strings.HasPrefix(p.Version, s.major+".") {
		return Peer{}, fmt.Errorf("found rpyc %s at %s, want %s.x", p.Version, lines[1], s.major)
	}
	if s.path != "" && realPath(filepath.Dir(strings.TrimSpace(lines[1]))) != realPath(s.path) {
		return Peer{}, fmt.Errorf("rpyc was imported from %s, not from %s", lines[1], s.path)
	}
	return p, nil
}

// realPath returns path with symbolic links resolved, or cleaned if that fails.
func realPath(path string) string {
	if r, err := filepath.EvalSymlinks(path); err == nil {
		return r
	}
	return filepath.Clean(path)
}

// selectPeers applies GORPYC_PEERS to a discovery and lists what is missing.
func selectPeers(d discovery, filter string) (peers []Peer, problems []string) {
	var want []string
	for _, f := range strings.Split(filter, ",") {
		if f = strings.TrimSpace(f); f != "" {
			want = append(want, f)
		}
	}
	if len(want) == 0 {
		for _, major := range []string{"5", "6"} {
			if pr, ok := d.problems[major]; ok {
				problems = append(problems, pr)
			}
		}
		return d.peers, problems
	}
	for _, w := range want {
		major, ok := strings.CutPrefix(w, "rpyc-")
		if ok {
			major, _, _ = strings.Cut(major, ".")
		}
		if !ok || (major != "5" && major != "6") {
			problems = append(problems, fmt.Sprintf("GORPYC_PEERS entry %q: want rpyc-5[.x.y] or rpyc-6[.x.y]", w))
			continue
		}
		if pr, ok := d.problems[major]; ok {
			problems = append(problems, fmt.Sprintf("GORPYC_PEERS wants %s: %s", w, pr))
			continue
		}
		for _, p := range d.peers {
			if !strings.HasPrefix(p.Version, major+".") {
				continue
			}
			if w != "rpyc-"+major && w != p.Name {
				problems = append(problems, fmt.Sprintf("GORPYC_PEERS wants %s but found %s", w, p.Name))
				break
			}
			if !containsPeer(peers, p.Name) {
				peers = append(peers, p)
			}
		}
	}
	return peers, problems
}

func containsPeer(ps []Peer, name string) bool {
	for _, p := range ps {
		if p.Name == name {
			return true
		}
	}
	return false
}

// ForEachPeer runs fn as a subtest of t once per peer from [Peers], named after the peer
// ("rpyc-5.3.0", "rpyc-6.0.1"), so that go test -v shows every interop test running against
// every version. The subtests run one after the other; fn may call t.Parallel.
func ForEachPeer(t *testing.T, fn func(t *testing.T, p Peer)) {
	t.Helper()
	for _, p := range Peers(t) {
		t.Run(p.Name, func(t *testing.T) { fn(t, p) })
	}
}

var (
	rootOnce sync.Once
	root     string
)

// RepoRoot returns the repository root: the nearest directory above this source file (or, in a
// -trimpath build, above the working directory) that holds go.mod. It panics if there is none.
func RepoRoot() string {
	rootOnce.Do(func() {
		var starts []string
		if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
			starts = append(starts, filepath.Dir(file))
		}
		if wd, err := os.Getwd(); err == nil {
			starts = append(starts, wd)
		}
		for _, dir := range starts {
			for {
				if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
					root = dir
					return
				}
				parent := filepath.Dir(dir)
				if parent == dir {
					break
				}
				dir = parent
			}
		}
	})
	if root == "" {
		panic("interop: cannot find the repository root (a directory with go.mod)")
	}
	return root
}

// Script returns the path of a peer script in tox-interop/. An absolute name is returned as is.
func Script(name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(RepoRoot(), "tox-interop", name)
}

// Command returns a command running the peer's interpreter with args, in the repository root,
// with the peer's environment plus PYTHONDONTWRITEBYTECODE=1, PYTHONUNBUFFERED=1 and
// PYTHONNOUSERSITE=1. The interpreter runs in its own process group; when ctx is done the whole
// group is killed, and Wait gives up on output pipes 5 seconds later.
func (p Peer) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, p.Python, args...)
	cmd.Dir = RepoRoot()
	cmd.Env = append(os.Environ(), p.Env...)
	cmd.Env = append(cmd.Env, "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", "PYTHONNOUSERSITE=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// killGroup kills the process group led by cmd's process.
func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

// deadline returns the context bound for a process started by t: DefaultTimeout, or less if the
// test binary's deadline comes first (keeping a few seconds to report).
func deadline(t testing.TB) time.Time {
	d := time.Now().Add(DefaultTimeout)
	if dt, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if td, ok := dt.Deadline(); ok {
			if td = td.Add(-5 * time.Second); td.Before(d) {
				d = td
			}
		}
	}
	return d
}

// Process is a running peer script started by [Peer.Start].
type Process struct {
	// Cmd is the running command.
	Cmd *exec.Cmd
	// Stdin is the script's standard input. Closing it tells a well-behaved script to exit.
	Stdin io.WriteCloser

	t      testing.TB
	name   string
	stderr Buffer
	out    lineQueue
	done   chan struct{}
	err    error // from Cmd.Wait, valid after done is closed
	addr   string
}

// Start starts `python <script> args...` under the peer (script is a file in tox-interop/ or an
// absolute path), bounded by [DefaultTimeout]. Stdout is read line by line in the background
// (see [Process.ReadLine]); stderr is collected and logged if the test fails. When the test ends
// the process group is killed and reaped, so nothing outlives the test.
func (p Peer) Start(t testing.TB, script string, args ...string) *Process {
	t.Helper()
	ctx, cancel := context.WithDeadline(context.Background(), deadline(t))
	path := Script(script)
	cmd := p.Command(ctx, append([]string{path}, args...)...)
	proc := &Process{Cmd: cmd, t: t, name: p.Name + " " + filepath.Base(path), done: make(chan struct{})}
	proc.out.notify = make(chan struct{}, 1)
	cmd.Stdout = &proc.out
	cmd.Stderr = &proc.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		t.Fatalf("interop: %s: %v", proc.name, err)
	}
	proc.Stdin = stdin
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("interop: starting %s: %v", proc.name, err)
	}
	go func() {
		proc.err = cmd.Wait()
		proc.out.close()
		cancel()
		close(proc.done)
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = killGroup(cmd)
		status := "still running"
		select {
		case <-proc.done:
			status = fmt.Sprint(proc.err)
		case <-time.After(15 * time.Second):
			t.Errorf("interop: %s (pid %d) did not exit after SIGKILL", proc.name, cmd.Process.Pid)
		}
		cancel()
		if t.Failed() {
			t.Logf("interop: %s (pid %d) exit: %s\n--- stdout ---\n%s--- stderr ---\n%s",
				proc.name, cmd.Process.Pid, status, proc.out.transcript(), proc.stderr.String())
		}
	})
	return proc
}

// Pid returns the script's process id.
func (pr *Process) Pid() int { return pr.Cmd.Process.Pid }

// Stderr returns what the script has written to stderr so far.
func (pr *Process) Stderr() string { return pr.stderr.String() }

// Done is closed when the script has exited and been reaped.
func (pr *Process) Done() <-chan struct{} { return pr.done }

// ReadLine returns the next line the script writes to stdout, without the line ending. It fails
// after timeout, or with io.EOF once stdout is closed and every line has been read.
func (pr *Process) ReadLine(timeout time.Duration) (string, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		line, ok, eof := pr.out.pop()
		if ok {
			return line, nil
		}
		if eof {
			return "", io.EOF
		}
		select {
		case <-pr.out.notify:
		case <-timer.C:
			return "", fmt.Errorf("interop: %s: no stdout line within %v", pr.name, timeout)
		}
	}
}

// WaitListening reads stdout lines until one reads "LISTENING 127.0.0.1:PORT" and returns the
// address. Other lines are skipped (they stay in the transcript logged on failure). It fails if
// the script exits first, if the address is not on a loopback interface, or after timeout.
func (pr *Process) WaitListening(timeout time.Duration) (addr string, err error) {
	if pr.addr != "" {
		return pr.addr, nil
	}
	end := time.Now().Add(timeout)
	for {
		line, err := pr.ReadLine(time.Until(end))
		if errors.Is(err, io.EOF) {
			<-pr.done
			return "", fmt.Errorf("interop: %s exited (%v) before announcing its address; stderr:\n%s",
				pr.name, pr.err, lastLines(pr.stderr.String(), 20))
		}
		if err != nil {
			return "", err
		}
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "LISTENING ")
		if !ok {
			continue
		}
		host, _, err := net.SplitHostPort(rest)
		if err != nil {
			return "", fmt.Errorf("interop: %s: bad LISTENING line %q: %v", pr.name, line, err)
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return "", fmt.Errorf("interop: %s listens on %q, want a loopback address", pr.name, rest)
		}
		pr.addr = rest
		return rest, nil
	}
}

// Addr returns the address from the LISTENING line, or "" before [Process.WaitListening] found it.
func (pr *Process) Addr() string { return pr.addr }

// Dial waits for the script's LISTENING line (see [Process.WaitListening]) and connects to it;
// timeout bounds both. The connection is closed when the test ends.
func (pr *Process) Dial(timeout time.Duration) (net.Conn, error) {
	end := time.Now().Add(timeout)
	addr, err := pr.WaitListening(timeout)
	if err != nil {
		return nil, err
	}
	conn, err := net.DialTimeout("tcp", addr, time.Until(end))
	if err != nil {
		return nil, fmt.Errorf("interop: %s: %w", pr.name, err)
	}
	pr.t.Cleanup(func() { _ = conn.Close() })
	return conn, nil
}

// Wait closes [Process.Stdin] (the signal for a well-behaved script to finish), waits for the
// script to exit and returns its exit status (nil for status 0). The process is killed if it
// outlives its timeout.
func (pr *Process) Wait() error {
	_ = pr.Stdin.Close()
	<-pr.done
	if pr.err != nil {
		return fmt.Errorf("interop: %s: %w; stderr:\n%s", pr.name, pr.err, lastLines(pr.stderr.String(), 20))
	}
	return nil
}

// Run runs `python <script> args...` under the peer to completion (script is a file in
// tox-interop/ or an absolute path), bounded by [DefaultTimeout], and returns its stdout. It
// fails the test, showing stdout and stderr, if the script exits with a non-zero status.
func (p Peer) Run(t testing.TB, script string, args ...string) (stdout string) {
	t.Helper()
	ctx, cancel := context.WithDeadline(context.Background(), deadline(t))
	defer cancel()
	path := Script(script)
	cmd := p.Command(ctx, append([]string{path}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (killed after %v: %v)", err, time.Since(start).Round(time.Millisecond), ctx.Err())
		}
		t.Fatalf("interop: %s %s %s: %v\n--- stdout ---\n%s--- stderr ---\n%s",
			p.Name, filepath.Base(path), strings.Join(args, " "), err, out.String(), errb.String())
	}
	if errb.Len() > 0 {
		t.Logf("interop: %s %s stderr:\n%s", p.Name, filepath.Base(path), errb.String())
	}
	return out.String()
}

// lineQueue splits what is written to it into lines and queues them for ReadLine, without ever
// blocking the writer (so a chatty script cannot stall on a full pipe). It also keeps a bounded
// transcript for failure logs.
type lineQueue struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	closed  bool
	log     []byte
	notify  chan struct{}
}

const maxTranscript = 64 << 10

func (q *lineQueue) Write(p []byte) (int, error) {
	q.mu.Lock()
	if len(q.log) < maxTranscript {
		q.log = append(q.log, p[:min(len(p), maxTranscript-len(q.log))]...)
	}
	q.partial = append(q.partial, p...)
	for {
		i := bytes.IndexByte(q.partial, '\n')
		if i < 0 {
			break
		}
		q.lines = append(q.lines, strings.TrimSuffix(string(q.partial[:i]), "\r"))
		q.partial = q.partial[i+1:]
	}
	q.mu.Unlock()
	q.signal()
	return len(p), nil
}

func (q *lineQueue) close() {
	q.mu.Lock()
	if len(q.partial) > 0 {
		q.lines = append(q.lines, string(q.partial))
		q.partial = nil
	}
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

func (q *lineQueue) signal() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

func (q *lineQueue) pop() (line string, ok, eof bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.lines) > 0 {
		line = q.lines[0]
		q.lines = q.lines[1:]
		return line, true, false
	}
	return "", false, q.closed
}

func (q *lineQueue) transcript() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return string(q.log)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
