//go:build unix

// Package sshtest runs a real OpenSSH server (Debian's openssh-server, /usr/sbin/sshd) and a
// real ssh-agent for tests, on loopback, with throwaway host and user keys made for each test.
//
// sshd runs in the foreground (-D -e) as the user running the tests, with a generated
// sshd_config: one loopback port, public-key login only, TCP forwarding allowed,
// AuthorizedKeysFile and host keys in the test's temporary directory, StrictModes and PAM off.
// When sshd is missing the test is skipped, or fails under CI=true (`bash
// tox-interop/prepare_tools.sh` installs it). Every process started here is killed, with its
// process group, by PID when the test ends.
package sshtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/gorpyc/rpyc/internal/interop"
)

// SSHD is the OpenSSH server's path.
const SSHD = "/usr/sbin/sshd"

// Server is a running sshd.
type Server struct {
	// Addr is its address, "127.0.0.1:PORT".
	Addr string
	// User is the login name (the user running the test).
	User string
	// KeyFile is the user's private key (OpenSSH format, unencrypted, mode 0600); sshd
	// accepts it.
	KeyFile string
	// KnownHosts is a known_hosts file listing every host key of the server under
	// "[127.0.0.1]:PORT".
	KnownHosts string
	// HostKeys are the server's host keys: an Ed25519 and an ECDSA P-256 key.
	HostKeys []ssh.PublicKey
	// Dir is the temporary directory holding the files above and sshd_config.
	Dir string

	log *interop.Buffer
	pid int
}

// Host returns "user@127.0.0.1:PORT".
func (s *Server) Host() string { return s.User + "@" + s.Addr }

// Log returns what sshd has logged so far.
func (s *Server) Log() string { return s.log.String() }

// Pid returns sshd's process id.
func (s *Server) Pid() int { return s.pid }

// Sessions returns the number of connections sshd is serving: its child processes, one per
// connection (from /proc, Linux only).
func (s *Server) Sessions() int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	n := 0
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after its last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(b[i+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(s.pid) {
			n++
		}
	}
	return n
}

// WaitSessions waits up to timeout for sshd to serve n connections; false if it does not.
func (s *Server) WaitSessions(n int, timeout time.Duration) bool {
	for end := time.Now().Add(timeout); ; time.Sleep(20 * time.Millisecond) {
		if s.Sessions() == n {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}

// Require skips the test, or fails it under CI=true, when the program at path is missing.
func Require(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		return
	}
	msg := fmt.Sprintf("sshtest: %s is missing: run `bash tox-interop/prepare_tools.sh` (apt-get install openssh-server)", path)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Start starts sshd on a free loopback port and waits until it accepts connections.
func Start(t testing.TB) *Server {
	t.Helper()
	Require(t, SSHD)
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &Server{User: u.Username, Dir: dir, log: &interop.Buffer{}}
	if os.Geteuid() == 0 {
		// sshd's privilege separation directory, which only the package's service creates.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var hostKeyFiles []string
	for _, kind := range []string{"ed25519", "ecdsa"} {
		path := filepath.Join(dir, "host_"+kind)
		s.HostKeys = append(s.HostKeys, WriteKey(t, path, kind, "").PublicKey())
		hostKeyFiles = append(hostKeyFiles, path)
	}
	s.KeyFile = filepath.Join(dir, "id_ed25519")
	userKey := WriteKey(t, s.KeyFile, "ed25519", "")
	authorized := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(authorized, ssh.MarshalAuthorizedKey(userKey.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		port := freePort(t)
		s.Addr = net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
		conf := filepath.Join(dir, "sshd_config")
		text := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
HostKey %s
PidFile none
UsePAM no
StrictModes no
AuthorizedKeysFile %s
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
PermitOpen any
X11Forwarding no
LogLevel VERBOSE
`, port, hostKeyFiles[0], hostKeyFiles[1], authorized)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if s.start(t, conf) {
			break
		}
		if attempt == 2 {
			t.Fatalf("sshtest: sshd did not start:\n%s", s.Log())
		}
	}
	var lines []string
	for _, k := range s.HostKeys {
		lines = append(lines, knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, k))
	}
	s.KnownHosts = filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(s.KnownHosts, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// start runs sshd with conf and waits for it to accept connections; false if it exited first
// (its port was taken in the meantime).
func (s *Server) start(t testing.TB, conf string) bool {
	t.Helper()
	cmd := exec.Command(SSHD, "-D", "-e", "-f", conf)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	done := startGroup(t, cmd)
	s.pid = cmd.Process.Pid
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); {
		select {
		case <-done:
			return false
		default:
		}
		if c, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
			// sshd's banner tells it apart from another program that took the port.
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "SSH-2.0-OpenSSH") {
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("sshtest: sshd does not accept connections on %s:\n%s", s.Addr, s.Log())
	return false
}

// startGroup starts cmd in its own process group, killed (the whole group) and reaped when the
// test ends; the returned channel is closed when cmd has exited.
func startGroup(t testing.TB, cmd *exec.Cmd) <-chan struct{} {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("sshtest: %s: %v", cmd.Path, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Errorf("sshtest: %s (pid %d) did not exit after SIGKILL", cmd.Path, pid)
		}
	})
	return done
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WriteKey makes a private key of kind "ed25519" or "ecdsa" (P-256), writes it to path in
// OpenSSH format (encrypted with passphrase unless it is empty), mode 0600, and its public key
// to path + ".pub"; it returns the key's signer.
func WriteKey(t testing.TB, path, kind, passphrase string) ssh.Signer {
	t.Helper()
	var priv any
	switch kind {
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		priv = k
	case "ecdsa":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		priv = k
	default:
		t.Fatalf("sshtest: unknown key kind %q", kind)
	}
	var block *pem.Block
	var err error
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "gorpyc test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "gorpyc test", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	return signer
}

// StartAgent starts a real ssh-agent (openssh-client's) in the foreground on a socket in a
// temporary directory, adds the key files to it with ssh-add, and returns the socket's path.
// The agent is killed when the test ends.
func StartAgent(t testing.TB, keyFiles ...string) string {
	t.Helper()
	Require(t, "/usr/bin/ssh-agent")
	sock := filepath.Join(t.TempDir(), "agent.sock")
	cmd := exec.Command("/usr/bin/ssh-agent", "-D", "-a", sock)
	log := &interop.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	done := startGroup(t, cmd)
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		select {
		case <-done:
			t.Fatalf("sshtest: ssh-agent exited:\n%s", log.String())
		default:
		}
		if time.Now().After(end) {
			t.Fatalf("sshtest: ssh-agent made no socket:\n%s", log.String())
		}
	}
	for _, f := range keyFiles {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		add := exec.CommandContext(ctx, "/usr/bin/ssh-add", "-q", f)
		add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
		out, err := add.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("sshtest: ssh-add %s: %v\n%s", f, err, out)
		}
	}
	return sock
}
