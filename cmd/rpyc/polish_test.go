//go:build unix

package main

// Tests of the command's rough edges: flags anywhere, --version, the registry's 2 s, errors
// that say what to do (HTTP on the port, the wrong dialect, a silent server, no repeated
// prefixes), uploads into a missing directory, and Ctrl-C during transfers.

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/internal/interop"
)

func TestParseInterleaved(t *testing.T) {
	for _, c := range []struct {
		args, pos []string
		json      bool
	}{
		{[]string{"host", "1 + 1", "--json"}, []string{"host", "1 + 1"}, true},
		{[]string{"--json", "host", "x"}, []string{"host", "x"}, true},
		{[]string{"h:1", "m", "-1", "--json", "-1+2j", "-.5"}, []string{"h:1", "m", "-1", "-1+2j", "-.5"}, true},
		{[]string{"host", "--", "--json", "-x"}, []string{"host", "--json", "-x"}, false},
		{[]string{"host", "-"}, []string{"host", "-"}, false},
	} {
		a := &app{}
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.BoolVar(&a.json, "json", false, "")
		pos, err := parseInterleaved(fs, c.args)
		if err != nil || !slices.Equal(pos, c.pos) || a.json != c.json {
			t.Errorf("%q: %q json=%v %v, want %q json=%v", c.args, pos, a.json, err, c.pos, c.json)
		}
	}
	cli(t, "", false, "eval", "host", "1", "--bogus").check(t, 2, "", "flag provided but not defined: -bogus")
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		r := cli(t, "", false, args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "rpyc (gorpyc) ") || !strings.Contains(r.stdout, "dialects v5, v6") {
			t.Errorf("rpyc %v: %d %q", args, r.code, r.stdout)
		}
	}
	cli(t, "", false, "help").check(t, 0, "rpyc --version", "")
}

func TestServicesGivesUpAfter2s(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	start := time.Now()
	r := cli(t, "", false, "services", "--registry", addr)
	if d := time.Since(start); d < 1500*time.Millisecond || d > 6*time.Second {
		t.Errorf("services with no registry took %v, want about 2 s", d)
	}
	r.check(t, 3, "", "")
	if strings.Count(r.stderr, "registry:") > 0 || !strings.HasPrefix(r.stderr, "rpyc: ") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("stderr %q: want one line, no repeated prefixes", r.stderr)
	}
}

func TestConnectErrors(t *testing.T) {
	// Nothing listening: one line, no repeated prefixes.
	r := cli(t, "", false, "eval", "127.0.0.1:1", "1")
	if r.code != 3 || r.stderr != "rpyc: cannot connect to 127.0.0.1:1: connection refused\n" {
		t.Errorf("refused: %d %q", r.code, r.stderr)
	}
	// An HTTP server on the port.
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer hs.Close()
	haddr := strings.TrimPrefix(hs.URL, "http://")
	for _, args := range [][]string{{"ping", haddr}, {"eval", haddr, "1"}, {"--dialect", "v6", "call", haddr, "add"}} {
		r := cli(t, "", false, args...)
		if r.code != 3 || r.stderr != "rpyc: "+haddr+" is not an RPyC server (it answered HTTP); check the host and port\n" {
			t.Errorf("%v against HTTP: %d %q", args, r.code, r.stderr)
		}
	}
	// A server that accepts and says nothing.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	cli(t, "", false, "--timeout", "1s", "ping", ln.Addr().String()).
		check(t, 3, "", "accepted the connection but did not answer within 1s: not an RPyC server? (if it uses TLS, add --tls)")

	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		addr := startScript(t, p, "classic_server.py")
		want, other := "v5", "v6"
		peers := "Python rpyc 4.1-5.3"
		if strings.HasPrefix(p.Version, "6.") {
			want, other, peers = "v6", "v5", "Python rpyc 6.x"
		}
		r := cli(t, "", false, "--dialect", other, "--timeout", "5s", "eval", addr, "1")
		if r.code != 3 || r.stderr != "rpyc: "+addr+" speaks rpyc dialect "+want+" ("+peers+"), not "+other+
			": use --dialect "+want+", or leave --dialect out to detect it\n" {
			t.Errorf("wrong dialect: %d %q", r.code, r.stderr)
		}
		// Python's own HTTP server answers without a status line ("<!DOCTYPE HTML>...").
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := p.Command(ctx, "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", t.TempDir())
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Cancel(); _ = cmd.Wait() }()
		line, err := bufio.NewReader(out).ReadString('\n')
		var port string
		if f := strings.Fields(line); err == nil && len(f) > 5 {
			port = f[5] // "Serving HTTP on 127.0.0.1 port N (http://...) ..."
		}
		if port == "" {
			t.Fatalf("http.server said %q (%v)", line, err)
		}
		r = cli(t, "", false, "eval", "127.0.0.1:"+port, "1")
		r.check(t, 3, "", "is not an RPyC server (it answered HTTP)")
	})
}

func TestUploadMissingDirectory(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		addr := startScript(t, p, "classic_server.py")
		src := filepath.Join(t.TempDir(), "big.bin")
		data := bytes.Repeat([]byte("gorpyc"), 50_000)
		if err := os.WriteFile(src, data, 0o644); err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(t.TempDir(), "missing", "dir", "big.bin")
		r := cli(t, "", false, "upload", addr, src, dst)
		want := "rpyc: upload: cannot create " + dst + ": the remote directory " + filepath.Dir(dst) + " does not exist (--parents creates it)\n"
		if r.code != 1 || r.stderr != want {
			t.Errorf("upload into a missing directory: %d %q, want %q", r.code, r.stderr, want)
		}
		cli(t, "", false, "upload", addr, src, dst, "--parents").check(t, 0, "1 file(s), 300.0 kB", "")
		if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, data) {
			t.Errorf("uploaded file: %d bytes, %v", len(got), err)
		}
		// Other remote failures are one line too.
		r = cli(t, "", false, "upload", addr, src, filepath.Dir(dst))
		if r.code != 1 || !strings.HasPrefix(r.stderr, "rpyc: upload: IsADirectoryError: ") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("upload onto a directory: %d %q", r.code, r.stderr)
		}
	})
}

// TestTransferInterrupt sends SIGINT to the real command (this test binary acting as rpyc)
// while it copies a large file: it exits with status 130, says so in one line and removes the
// partly written file.
func TestTransferInterrupt(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		addr := startScript(t, p, "classic_server.py")
		dir := t.TempDir()
		big := filepath.Join(dir, "sparse.bin")
		f, err := os.Create(big)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(4 << 30); err != nil { // sparse: costs no disk
			t.Fatal(err)
		}
		f.Close()
		for _, c := range []struct{ verb, src, dst string }{
			{"download", big, filepath.Join(dir, "down.bin")},
			{"upload", big, filepath.Join(dir, "up.bin")},
		} {
			cmd := exec.Command(os.Args[0], c.verb, addr, c.src, c.dst)
			cmd.Env = append(os.Environ(), "GORPYC_RUN_CLI=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if fi, err := os.Stat(c.dst); err == nil && fi.Size() > 1<<20 {
					break
				}
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					t.Fatalf("%s did not start writing %s", c.verb, c.dst)
				}
			}
			_ = cmd.Process.Signal(syscall.SIGINT)
			err := cmd.Wait()
			code := -1
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			want := "rpyc: " + c.verb + " interrupted after 0 of 1 file(s), "
			if code != exitInterrupted || !strings.HasPrefix(stderr.String(), want) ||
				!strings.HasSuffix(stderr.String(), "; removed the partial file "+c.dst+"\n") {
				t.Errorf("%s interrupted: exit %d, stderr %q", c.verb, code, stderr.String())
			}
			if _, err := os.Stat(c.dst); !os.IsNotExist(err) {
				t.Errorf("%s: the partial file %s is still there (%v)", c.verb, c.dst, err)
			}
		}
	})
}
