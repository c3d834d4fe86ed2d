//go:build unix

package sshtunnel_test

// Live tests against a real OpenSSH server (internal/sshtest starts one per test on a loopback
// port) and real Python rpyc servers of both versions behind it.

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/classic"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/internal/sshtest"
	"github.com/gorpyc/rpyc/sshtunnel"
)

// config logs in to s with its user key and known_hosts only (no agent, no default files).
func config(s *sshtest.Server) sshtunnel.Config {
	return sshtunnel.Config{Host: s.Host(), KeyFiles: []string{s.KeyFile}, AgentSocket: "none",
		KnownHostsFiles: []string{s.KnownHosts}, Timeout: 20 * time.Second}
}

func startPort(t *testing.T, p interop.Peer, script string) int {
	t.Helper()
	addr, err := p.Start(t, script).WaitListening(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	return n
}

func add(ctx context.Context, t *testing.T, conn *rpyc.Conn) {
	t.Helper()
	root, err := conn.Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := rpyc.As[int](root.CallMethod(ctx, "add", 20, 22)); err != nil || n != 42 {
		t.Fatalf("add(20, 22) through SSH = %v, %v", n, err)
	}
}

// TestInteropSSH: through a real sshd, a Go client reaches Python servers of both versions
// listening on the SSH host's loopback (forwarded to localhost:PORT, as Python's ssh_connect
// does), finding each one's dialect by itself: several connections over one login, a server on
// a Unix socket, a classic server, a one-shot Connect whose login ends with the connection, and a
// jump host.
func TestInteropSSH(t *testing.T) {
	sshd := sshtest.Start(t)
	for _, p := range interop.Peers(t) {
		t.Run(p.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			svc := p.Start(t, "test_service.py")
			addr, err := svc.WaitListening(30 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			_, ps, _ := net.SplitHostPort(addr)
			port, _ := strconv.Atoi(ps)
			want := compat.V5
			if strings.HasPrefix(p.Version, "6.") {
				want = compat.V6
			}

			tunnel, err := sshtunnel.Dial(ctx, config(sshd))
			if err != nil {
				t.Fatal(err)
			}
			defer tunnel.Close()
			first, err := tunnel.Connect(ctx, port)
			if err != nil {
				t.Fatal(err)
			}
			add(ctx, t, first)
			if first.Dialect() != want {
				t.Errorf("dialect %v, want %v", first.Dialect(), want)
			}
			time.Sleep(200 * time.Millisecond) // let a 6.x server log the refused probe, if any
			tracebacks := strings.Count(svc.Stderr(), "Traceback")
			second, err := tunnel.Connect(ctx, port)
			if err != nil {
				t.Fatal(err)
			}
			add(ctx, t, second)
			if err := first.Close(); err != nil {
				t.Error(err)
			}
			add(ctx, t, second) // closing one connection leaves the login and the others open
			second.Close()
			time.Sleep(200 * time.Millisecond)
			if n := strings.Count(svc.Stderr(), "Traceback"); n != tracebacks {
				t.Errorf("the second connect was probed in the wrong dialect: the server logged %d more tracebacks:\n%s",
					n-tracebacks, svc.Stderr())
			}
			t.Logf("%s through sshd: dialect %v, %d tracebacks logged by the first connect", p.Name, want, tracebacks)

			// A server on a Unix socket of the SSH host, through the same login
			// (direct-streamlocal), with rpyc.ConnectVia.
			sock := filepath.Join(t.TempDir(), "rpyc.sock")
			if line, err := p.Start(t, "test_service.py", "--unix", sock).ReadLine(20 * time.Second); err != nil || line != "LISTENING unix://"+sock {
				t.Fatalf("Python server announced %q, %v", line, err)
			}
			uconn, err := rpyc.ConnectVia(ctx, tunnel.String()+"/unix:"+sock, func(ctx context.Context) (io.ReadWriteCloser, error) {
				return tunnel.DialContext(ctx, "unix", sock)
			})
			if err != nil {
				t.Fatal(err)
			}
			add(ctx, t, uconn)
			uconn.Close()

			// Classic, through the same login.
			cport := startPort(t, p, "classic_server.py")
			cl, err := tunnel.ConnectClassic(ctx, cport)
			if err != nil {
				t.Fatal(err)
			}
			if n, err := classic.EvalAs[int](ctx, cl, "6 * 7"); err != nil || n != 42 {
				t.Errorf("classic eval through SSH = %v, %v", n, err)
			}
			cl.Close()

			// One-shot Connect: the login is the connection's, and ends with it.
			if !sshd.WaitSessions(1, 10*time.Second) {
				t.Fatalf("sshd serves %d connections, want 1 (the tunnel's)", sshd.Sessions())
			}
			conn, err := sshtunnel.Connect(ctx, config(sshd), port)
			if err != nil {
				t.Fatal(err)
			}
			add(ctx, t, conn)
			if n := sshd.Sessions(); n != 2 {
				t.Errorf("sshd serves %d connections with the one-shot login open, want 2", n)
			}
			conn.Close()
			if !sshd.WaitSessions(1, 10*time.Second) {
				t.Errorf("closing a one-shot connection did not end its SSH login: sshd serves %d connections, want 1 (the tunnel's):\n%s",
					sshd.Sessions(), sshd.Log())
			}

			// Through a jump host (the same sshd, logged in to twice), classic one-shot.
			jump := config(sshd)
			via := config(sshd)
			via.Jump = &jump
			jc, err := sshtunnel.ConnectClassic(ctx, via, cport)
			if err != nil {
				t.Fatal(err)
			}
			defer jc.Close()
			if n, err := classic.EvalAs[int](ctx, jc, "6 * 7"); err != nil || n != 42 {
				t.Errorf("classic eval through a jump host = %v, %v", n, err)
			}
		})
	}
}

// TestHostKeys: the known_hosts check refuses unknown, changed and revoked host keys with errors
// that errors.Is and errors.As tell apart; it accepts a server listed under any one of its host
// keys (Ed25519 or ECDSA alone) or a hashed name; InsecureIgnoreHostKey accepts anything.
func TestHostKeys(t *testing.T) {
	sshd := sshtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	other := sshtest.WriteKey(t, filepath.Join(t.TempDir(), "other"), "ed25519", "").PublicKey()
	baseline := runtime.NumGoroutine()
	name := knownhosts.Normalize(sshd.Addr)
	write := func(lines ...string) string {
		f, err := os.CreateTemp(t.TempDir(), "known_hosts")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(strings.Join(lines, "\n") + "\n"); err != nil {
			t.Fatal(err)
		}
		return f.Name()
	}
	dial := func(cfg sshtunnel.Config) error {
		c, err := sshtunnel.Dial(ctx, cfg)
		if err == nil {
			c.Close()
		}
		return err
	}
	with := func(file string) sshtunnel.Config {
		cfg := config(sshd)
		cfg.KnownHostsFiles = []string{file}
		return cfg
	}

	err := dial(with(write("# nothing")))
	var hke *sshtunnel.HostKeyError
	if !errors.Is(err, sshtunnel.ErrHostKeyUnknown) || !errors.As(err, &hke) || len(hke.Known) != 0 {
		t.Errorf("unknown host: %v", err)
	} else if _, port, _ := net.SplitHostPort(sshd.Addr); !strings.Contains(err.Error(), "ssh-keyscan -p "+port+" 127.0.0.1") {
		t.Errorf("the unknown-host error says nothing useful: %v", err)
	}

	err = dial(with(write(knownhosts.Line([]string{name}, other))))
	var ke *knownhosts.KeyError
	if !errors.Is(err, sshtunnel.ErrHostKeyMismatch) || errors.Is(err, sshtunnel.ErrHostKeyUnknown) ||
		!errors.As(err, &ke) || len(ke.Want) != 1 || !errors.As(err, &hke) || hke.Host != sshd.Addr {
		t.Errorf("changed host key: %v", err)
	}
	t.Logf("refused: %v", err)

	revoked := "@revoked * " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshd.HostKeys[0])))
	err = dial(with(write(revoked, knownhosts.Line([]string{name}, sshd.HostKeys[0]))))
	if !errors.Is(err, sshtunnel.ErrHostKeyRevoked) {
		t.Errorf("revoked host key: %v", err)
	}

	for _, k := range sshd.HostKeys {
		if err := dial(with(write(knownhosts.Line([]string{name}, k)))); err != nil {
			t.Errorf("known_hosts holding the %s key only: %v", k.Type(), err)
		}
	}
	if err := dial(with(write(knownhosts.Line([]string{knownhosts.HashHostname(name)}, sshd.HostKeys[1])))); err != nil {
		t.Errorf("hashed known_hosts entry: %v", err)
	}

	cfg := with(write("# nothing"))
	cfg.InsecureIgnoreHostKey = true
	if err := dial(cfg); err != nil {
		t.Errorf("InsecureIgnoreHostKey: %v", err)
	}
	// Every login above was closed: none of its goroutines is left.
	if !goroutinesBack(baseline) {
		t.Errorf("%d goroutines after every Client was closed, %d before", runtime.NumGoroutine(), baseline)
	}
}

// goroutinesBack waits up to a second for the number of goroutines to fall back to n (Close
// waits for the SSH client's own; the runtime may take a moment to retire them).
func goroutinesBack(n int) bool {
	for end := time.Now().Add(time.Second); ; time.Sleep(10 * time.Millisecond) {
		if runtime.NumGoroutine() <= n {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}

// TestAuth: keys from a real ssh-agent (by Config.AgentSocket and by $SSH_AUTH_SOCK), an
// encrypted key file with its passphrase, the default files under $HOME/.ssh; a key sshd does not
// know and no key at all are refused.
func TestAuth(t *testing.T) {
	sshd := sshtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dial := func(cfg sshtunnel.Config) error {
		c, err := sshtunnel.Dial(ctx, cfg)
		if err == nil {
			c.Close()
		}
		return err
	}
	sock := sshtest.StartAgent(t, sshd.KeyFile)
	agentOnly := config(sshd)
	agentOnly.KeyFiles, agentOnly.AgentSocket = []string{}, sock
	if err := dial(agentOnly); err != nil {
		t.Errorf("ssh-agent at Config.AgentSocket: %v", err)
	}
	t.Setenv("SSH_AUTH_SOCK", sock)
	agentOnly.AgentSocket = ""
	if err := dial(agentOnly); err != nil {
		t.Errorf("ssh-agent at $SSH_AUTH_SOCK: %v", err)
	}
	t.Setenv("SSH_AUTH_SOCK", "")

	// An encrypted key, authorized beside the plain one.
	dir := t.TempDir()
	enc := filepath.Join(dir, "id_encrypted")
	signer := sshtest.WriteKey(t, enc, "ecdsa", "s3cret")
	f, err := os.OpenFile(filepath.Join(sshd.Dir, "authorized_keys"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Write(ssh.MarshalAuthorizedKey(signer.PublicKey()))
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	encrypted := config(sshd)
	encrypted.KeyFiles = []string{enc}
	var missing *ssh.PassphraseMissingError
	if err := dial(encrypted); !errors.As(err, &missing) {
		t.Errorf("encrypted key without a passphrase: %v", err)
	}
	encrypted.Passphrase = func(file string) ([]byte, error) {
		if file != enc {
			t.Errorf("passphrase asked for %s", file)
		}
		return []byte("s3cret"), nil
	}
	if err := dial(encrypted); err != nil {
		t.Errorf("encrypted key with its passphrase: %v", err)
	}

	// The defaults: ~/.ssh/id_ed25519 and ~/.ssh/known_hosts, the user from the process.
	home := t.TempDir()
	if err := os.Mkdir(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	for from, to := range map[string]string{sshd.KeyFile: "id_ed25519", sshd.KnownHosts: "known_hosts", enc: "id_ecdsa"} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, ".ssh", to), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HOME", home)
	if err := dial(sshtunnel.Config{Host: sshd.Addr}); err != nil {
		t.Errorf("default key and known_hosts files (the encrypted default skipped): %v", err)
	}

	stranger := config(sshd)
	stranger.KeyFiles = []string{filepath.Join(dir, "stranger")}
	sshtest.WriteKey(t, stranger.KeyFiles[0], "ed25519", "")
	if err := dial(stranger); err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Errorf("unknown key: %v", err)
	}
	none := config(sshd)
	none.KeyFiles = []string{}
	if err := dial(none); err == nil || !strings.Contains(err.Error(), "no key") {
		t.Errorf("no key at all: %v", err)
	}
}

// TestDialTimeout: a server that accepts and never speaks is given up on after Config.Timeout,
// with an error wrapping context.DeadlineExceeded; so is a canceled context.
func TestDialTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	defer func() {
		l.Close()
		for c := range accepted {
			c.Close()
		}
	}()
	cfg := sshtunnel.Config{Host: "me@" + l.Addr().String(), InsecureIgnoreHostKey: true,
		Auth: []ssh.AuthMethod{ssh.Password("x")}, Timeout: 300 * time.Millisecond}
	start := time.Now()
	_, err = sshtunnel.Dial(context.Background(), cfg)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("silent server: %v", err)
	}
	t.Logf("gave up after %v: %v", time.Since(start).Round(time.Millisecond), err)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	cfg.Timeout = 0
	if _, err := sshtunnel.Dial(ctx, cfg); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("silent server, context deadline: %v", err)
	}
}
