//go:build unix

package main

// Tests of `rpyc tap`: a Python client of each version through the tap to a Python server of the
// same version, with the decoded lines asserted; Go client to Go server in both dialects with
// filters; JSON; capture and --read; bytes forwarded unchanged, including traffic that is not
// RPyC at all.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/server"
)

// runningTap is a tap command running in-process.
type runningTap struct {
	addr      string
	out, errb *interop.Buffer
	cancel    context.CancelFunc
	done      chan int
}

func startTap(t *testing.T, args ...string) *runningTap {
	t.Helper()
	r := &runningTap{out: &interop.Buffer{}, errb: &interop.Buffer{}, done: make(chan int, 1)}
	a := &app{stdin: strings.NewReader(""), stdout: r.out, stderr: r.errb, terminal: func(any) bool { return false }}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- a.run(ctx, append([]string{"tap"}, args...)) }()
	re := regexp.MustCompile(`listening on (\S+),`)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(r.errb.String()); m != nil {
			r.addr = m[1]
			break
		}
		select {
		case code := <-r.done:
			t.Fatalf("tap exited with %d: %s", code, r.errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("tap did not start: %s", r.errb.String())
		}
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Errorf("tap did not stop")
		}
	})
	return r
}

// waitFor waits until the tap's output matches re (or fails after 20 s).
func (r *runningTap) waitFor(t *testing.T, re string) {
	t.Helper()
	rx := regexp.MustCompile(re)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if rx.MatchString(r.out.String()) {
			return
		}
	}
	t.Fatalf("tap output never matched %q:\n%s", re, r.out.String())
}

// stop stops the tap and returns its output; it must exit 0.
func (r *runningTap) stop(t *testing.T) string {
	t.Helper()
	r.cancel()
	if code := <-r.done; code != 0 {
		t.Errorf("tap exit status %d: %s", code, r.errb.String())
	}
	r.done <- 0 // for the cleanup
	return r.out.String()
}

func mustMatch(t *testing.T, out string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(out) {
			t.Errorf("tap output lacks %s", p)
		}
	}
	if t.Failed() {
		t.Logf("tap output:\n%s", out)
	}
}

// pyTapClient is a Python rpyc client (both versions) used through the tap.
const pyTapClient = `
import sys, rpyc
c = rpyc.connect(sys.argv[1], int(sys.argv[2]))
print(c.root.add(1, 2))
print(c.root.greet('bob', greeting='Hi'))
l = c.root.get_list(3)
print(l[1])
try:
    getattr(c.root, 'raise')('zero')
except ZeroDivisionError:
    print('zero')
print(len(c.root.big_bytes(20000)) > 10000)
c.close()
`

func TestTapPython(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		svc := startScript(t, p, "test_service.py")
		dialect := "v5"
		if strings.HasPrefix(p.Version, "6.") {
			dialect = "v6"
		}
		capture := filepath.Join(t.TempDir(), "capture.rpyctap")
		tp := startTap(t, "--capture", capture, "127.0.0.1:0", svc)
		host, port, _ := net.SplitHostPort(tp.addr)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, err := p.Command(ctx, "-c", pyTapClient, host, port).CombinedOutput()
		if err != nil || string(out) != "3\nHi, bob!\n1\nzero\nTrue\n" {
			t.Fatalf("Python client through the tap: %v\n%s", err, out)
		}
		tp.waitFor(t, `#1 close`)
		live := tp.stop(t)
		ms := ` \d+\.\d\d ms `
		mustMatch(t, live,
			`(?m)^\d\d:\d\d:\d\d\.\d{6} #1 open 127\.0\.0\.1:\d+ -> `+regexp.QuoteMeta(svc)+`$`,
			`#1 dialect `+dialect+` \(Python rpyc`,
			`#1 c>s REQUEST   seq=0 HANDLE_GETROOT \(\) \[14 B\]`,
			`#1 s>c REPLY     seq=0 HANDLE_GETROOT <ref \S*TestService 0x[0-9a-f]+>`+ms+`\[\d+ B\]`,
			`c>s REQUEST   seq=\d+ HANDLE_GETATTR <local ref \S*TestService 0x[0-9a-f]+>\.add \[`,
			`c>s REQUEST   seq=\d+ HANDLE_CALL <local ref builtins\.method 0x[0-9a-f]+>\(1, 2\) \[`,
			`s>c REPLY     seq=\d+ HANDLE_CALL 3`+ms,
			`HANDLE_CALL <local ref builtins\.method 0x[0-9a-f]+>\('bob', greeting='Hi'\)`,
			`s>c REPLY     seq=\d+ HANDLE_CALL 'Hi, bob!'`,
			`s>c REPLY     seq=\d+ HANDLE_CALL <ref builtins\.list 0x[0-9a-f]+>`+ms,
			`c>s REQUEST   seq=\d+ HANDLE_CALLATTR <local ref builtins\.list 0x[0-9a-f]+>\.__getitem__\(1\) \[`,
			`s>c REPLY     seq=\d+ HANDLE_CALLATTR 1`+ms,
			`s>c EXCEPTION seq=\d+ HANDLE_CALL ZeroDivisionError: division by zero \(remote traceback, \d+ lines\)`+ms,
			`s>c REPLY     seq=\d+ HANDLE_CALL b'\\x00\\x01.*'\.\.\.\(19968 bytes\)`+ms+`\[\d+ B, zlib \d+ B\]`,
			`c>s REQUEST   seq=\d+ HANDLE_DEL del <local ref builtins\.method 0x[0-9a-f]+>`,
			`#1 close after \d+\.\d+ s \(dialect `+dialect+`\), c>s \d+ frames .*, s>c \d+ frames `,
		)
		if strings.Contains(live, "UNDECODABLE") {
			t.Errorf("undecodable frames between Python peers:\n%s", live)
		}

		// The capture decodes to exactly what the live tap printed.
		r := cli(t, "", false, "tap", "--read", capture)
		if r.code != 0 || r.stdout != live {
			t.Errorf("tap --read of the capture: exit %d\n--- read ---\n%s--- live ---\n%s%s", r.code, r.stdout, live, r.stderr)
		}
		// Filters on the capture: only CALLATTR requests and their replies, as JSON.
		r = cli(t, "", false, "tap", "--read", capture, "--json", "--handler", "callattr")
		var msgs int
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			var e map[string]any
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("--json line %q: %v", line, err)
			}
			if e["kind"] == "message" {
				msgs++
				if e["handler"] != "HANDLE_CALLATTR" || e["dialect"] != dialect || e["seq"] == nil || e["wire_bytes"] == nil {
					t.Errorf("--handler callattr printed %s", line)
				}
				if e["msg"] == "REPLY" && e["latency_ms"] == nil {
					t.Errorf("reply without latency: %s", line)
				}
			}
		}
		if msgs < 2 || msgs%2 != 0 {
			t.Errorf("--handler callattr: %d messages\n%s", msgs, r.stdout)
		}
		// --object: the list's requests and replies only.
		r = cli(t, "", false, "tap", "--read", capture, "--object", "builtins.list")
		if strings.Contains(r.stdout, "bob") || strings.Contains(r.stdout, "ZeroDivisionError") || strings.Count(r.stdout, "REQUEST") != 2 {
			t.Errorf("--object builtins.list printed more than the list's messages:\n%s", r.stdout)
		}
		mustMatch(t, r.stdout, `REQUEST   seq=\d+ HANDLE_CALL <local ref builtins\.method 0x[0-9a-f]+>\(3\)`,
			`REPLY     seq=\d+ HANDLE_CALL <ref builtins\.list`, `__getitem__\(1\)`)
	})
}

// tapService is the Go service behind the tap in TestTapGo.
type tapService struct{}

func (tapService) Add(a, b int) int { return a + b }
func (tapService) Sleep(ms int) string {
	time.Sleep(time.Duration(ms) * time.Millisecond)
	return "slept"
}
func (tapService) List() []int        { return []int{1, 2, 3} }
func (tapService) Fail() (int, error) { return 0, os.ErrNotExist }

func TestTapGo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &server.Server{Service: tapService{}}
	go func() { _ = srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() { srv.Close() })

	tp := startTap(t, "127.0.0.1:0", ln.Addr().String())
	slow := startTap(t, "--slower-than", "150ms", "127.0.0.1:0", ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i, d := range []compat.Dialect{compat.V5, compat.V6} {
		for _, addr := range []string{tp.addr, slow.addr} {
			conn, err := rpyc.Connect(ctx, addr, rpyc.WithDialect(d))
			if err != nil {
				t.Fatal(err)
			}
			root, err := conn.Root(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n, err := rpyc.As[int](root.CallMethod(ctx, "add", 20, i)); err != nil || n != 20+i {
				t.Fatalf("add through the tap: %v %v", n, err)
			}
			if _, err := root.CallMethod(ctx, "fail"); err == nil {
				t.Fatal("fail did not fail")
			}
			if s, err := rpyc.As[string](root.CallMethod(ctx, "sleep", 300)); err != nil || s != "slept" {
				t.Fatalf("sleep: %v %v", s, err)
			}
			conn.Close()
		}
	}
	tp.waitFor(t, `#2 close`)
	slow.waitFor(t, `#2 close`)
	out := tp.stop(t)
	mustMatch(t, out,
		`#1 dialect v5 `, `#2 dialect v6 `,
		`#1 c>s REQUEST   seq=\d+ HANDLE_GETROOT \(\)`,
		`#1 s>c REPLY     seq=\d+ HANDLE_GETROOT <ref \S+ 0x[0-9a-f]+>`,
		`#2 c>s REQUEST   seq=\d+ HANDLE_CALLATTR <local ref \S+ 0x[0-9a-f]+>\.add\(20, 1\)`,
		`#2 s>c REPLY     seq=\d+ HANDLE_CALLATTR 21 `,
		`#1 s>c EXCEPTION seq=\d+ HANDLE_CALLATTR FileNotFoundError`,
		`#2 s>c REPLY     seq=\d+ HANDLE_CALLATTR 'slept' \d\d\d\.\d\d ms`,
	)
	// --slower-than: only the sleeps (request and reply) and the connection lines.
	sout := slow.stop(t)
	for _, line := range strings.Split(strings.TrimSpace(sout), "\n") {
		if (strings.Contains(line, "REQUEST") || strings.Contains(line, "REPLY") || strings.Contains(line, "EXCEPTION")) &&
			!strings.Contains(line, "sleep(300)") && !strings.Contains(line, "'slept'") {
			t.Errorf("--slower-than 150ms printed %s", line)
		}
	}
	mustMatch(t, sout, `#1 c>s REQUEST   seq=\d+ HANDLE_CALLATTR <local ref \S+ 0x[0-9a-f]+>\.sleep\(300\)`,
		`#2 s>c REPLY     seq=\d+ HANDLE_CALLATTR 'slept'`)
}

// TestTapTransparent sends bytes that are not RPyC, and a mix of frames and garbage, through the
// tap to an echo server: they come back unchanged, and the tap reports what it could not decode.
func TestTapTransparent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	tp := startTap(t, "--json", "127.0.0.1:0", ln.Addr().String())
	junk := make([]byte, 1<<20)
	if _, err := rand.Read(junk); err != nil {
		t.Fatal(err)
	}
	for i, payload := range [][]byte{
		[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		append([]byte{0, 0, 0, 3, 0, 'a', 'b', 'c', '\n'}, junk...), // a frame that is not a message, then garbage
	} {
		c, err := net.Dial("tcp", tp.addr)
		if err != nil {
			t.Fatal(err)
		}
		go func() { _, _ = c.Write(payload); _ = c.(*net.TCPConn).CloseWrite() }()
		back, err := io.ReadAll(c)
		c.Close()
		if err != nil || !bytes.Equal(back, payload) {
			t.Fatalf("payload %d: %d bytes came back of %d (%v)", i, len(back), len(payload), err)
		}
	}
	tp.waitFor(t, `"conn":2,"kind":"close"`)
	out := tp.stop(t)
	mustMatch(t, out,
		`"conn":1,"kind":"undecodable","dir":"c>s",.*"error":"frame header declares \d+ bytes: not RPyC \(HTTP\)`,
		`"conn":2,"kind":"undecodable","dir":"c>s",.*"error":"not an RPyC message of either dialect"`,
		`"conn":2,"kind":"close",.*"bytes":\[1048585,1048585\]`,
	)
}

func TestTapUsage(t *testing.T) {
	cli(t, "", false, "tap", "127.0.0.1:0").check(t, 2, "", "usage: rpyc tap LISTEN UPSTREAM")
	cli(t, "", false, "tap", "--handler", "nope", "127.0.0.1:0", "127.0.0.1:1").check(t, 2, "", "unknown handler")
	cli(t, "", false, "tap", "--read", filepath.Join(t.TempDir(), "missing")).check(t, 1, "", "no such file")
	// A raw capture of one direction: a v6 GETROOT request and garbage after it.
	raw := filepath.Join(t.TempDir(), "raw.bin")
	frame := []byte{0, 0, 0, 8, 0, 0x01, 0x11, 0x50, 0x11, 0x53, 0x11, 0x51, 0x02, 0x0a}
	if err := os.WriteFile(raw, append(frame, 0xff, 0xff, 0xff, 0xff, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	r := cli(t, "", false, "tap", "--read", raw)
	mustMatch(t, r.stdout, `#1 dialect v6`, `#1 raw REQUEST   seq=0 HANDLE_GETROOT \(\) \[14 B\]`,
		`#1 raw UNDECODABLE frame header declares 4294967295 bytes`, `#1 close`)
	// Upstream down: the client's connection is closed, the tap says why and goes on.
	tp := startTap(t, "127.0.0.1:0", "127.0.0.1:1")
	c, err := net.Dial("tcp", tp.addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(c)
	c.Close()
	tp.waitFor(t, `#1 error: cannot connect to 127\.0\.0\.1:1: connection refused`)
}
