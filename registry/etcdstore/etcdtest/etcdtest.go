// Package etcdtest starts real etcd clusters for tests: members are etcd processes (Debian's
// etcd-server package, /usr/bin/etcd, or $GORPYC_ETCD) listening on free loopback ports, with
// their data in the test's temporary directory, killed by PID when the test ends. A test can
// kill and restart members to check what survives the loss of one.
//
// Without an etcd binary the test is skipped, except under CI=true, where it fails.
package etcdtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/gorpyc/rpyc/internal/interop"
)

// Binary returns the etcd binary to run: $GORPYC_ETCD, else etcd on PATH, else /usr/bin/etcd.
// It skips t (fails it under CI=true) when there is none.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("GORPYC_ETCD"); p != "" {
		return p
	}
	if p, err := exec.LookPath("etcd"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/etcd"); err == nil {
		return "/usr/bin/etcd"
	}
	msg := "etcd is not installed (apt-get install etcd-server, or `bash tox-interop/prepare_tools.sh`)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Cluster is a running etcd cluster.
type Cluster struct {
	t       testing.TB
	bin     string
	members []*Member
	// TLS holds the certificate files when the cluster was started with [Options.TLS].
	TLS *TLSFiles
}

// Options configure StartWith.
type Options struct {
	// TLS makes the members serve clients over TLS only, requiring client certificates
	// signed by the cluster's CA (--client-cert-auth). Peers talk plain HTTP on loopback.
	TLS bool
}

// TLSFiles are the PEM files of a TLS cluster: its CA certificate, and a client certificate
// and key the members accept.
type TLSFiles struct {
	CA, ClientCert, ClientKey string
	serverCert, serverKey     string
}

// Member is one etcd process of a Cluster.
type Member struct {
	Name      string
	ClientURL string // http://127.0.0.1:PORT
	peerURL   string
	dataDir   string
	cluster   string // the --initial-cluster value
	mu        sync.Mutex
	cmd       *exec.Cmd
	done      chan struct{}
	log       *interop.Buffer
}

// Start starts an n-member cluster and waits until it has a leader and answers (at most 30 s).
// Everything is stopped when t ends.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	return StartWith(t, n, Options{})
}

// StartWith is Start with options.
func StartWith(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	c := &Cluster{t: t, bin: Binary(t)}
	dir := t.TempDir()
	scheme := "http://"
	if opts.TLS {
		c.TLS = writeCerts(t, dir)
		scheme = "https://"
	}
	var initial []string
	for i := range n {
		m := &Member{
			Name:      fmt.Sprintf("m%d", i),
			ClientURL: scheme + freePort(t),
			peerURL:   "http://" + freePort(t),
			dataDir:   filepath.Join(dir, fmt.Sprintf("m%d", i)),
		}
		initial = append(initial, m.Name+"="+m.peerURL)
		c.members = append(c.members, m)
	}
	t.Cleanup(func() {
		for _, m := range c.members {
			m.Kill()
		}
		if t.Failed() {
			for _, m := range c.members {
				t.Logf("etcd %s log (last lines):\n%s", m.Name, lastLines(m.log.String(), 15))
			}
		}
	})
	for _, m := range c.members {
		m.cluster = strings.Join(initial, ",")
		c.start(m)
	}
	c.WaitReady(30 * time.Second)
	return c
}

// Endpoints returns the client URLs of every member, running or not.
func (c *Cluster) Endpoints() []string {
	eps := make([]string, len(c.members))
	for i, m := range c.members {
		eps[i] = m.ClientURL
	}
	return eps
}

// Member returns the i-th member.
func (c *Cluster) Member(i int) *Member { return c.members[i] }

// Client returns a client of every member, closed when the test ends.
func (c *Cluster) Client() *clientv3.Client {
	c.t.Helper()
	cl, err := clientv3.New(c.Config(c.Endpoints()...))
	if err != nil {
		c.t.Fatalf("etcd client: %v", err)
	}
	c.t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// Config returns a client configuration for endpoints, with the cluster's client certificate
// when it serves TLS.
func (c *Cluster) Config(endpoints ...string) clientv3.Config {
	cfg := clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second,
		DialKeepAliveTime: time.Second, DialKeepAliveTimeout: time.Second, Logger: zap.NewNop()}
	if c.TLS != nil {
		cert, err := tls.LoadX509KeyPair(c.TLS.ClientCert, c.TLS.ClientKey)
		if err != nil {
			c.t.Fatal(err)
		}
		pem, err := os.ReadFile(c.TLS.CA)
		if err != nil {
			c.t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		cfg.TLS = &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return cfg
}

// MemberClient returns a client of the i-th member only, closed when the test ends.
func (c *Cluster) MemberClient(i int) *clientv3.Client {
	c.t.Helper()
	cl, err := clientv3.New(c.Config(c.members[i].ClientURL))
	if err != nil {
		c.t.Fatalf("etcd client: %v", err)
	}
	c.t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// Leader returns the index of the member that leads the cluster, failing the test if none
// answers within 10 s.
func (c *Cluster) Leader() int {
	c.t.Helper()
	cl := c.Client()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for i, m := range c.members {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := cl.Status(ctx, m.ClientURL)
			cancel()
			if err == nil && st.Leader == st.Header.MemberId {
				return i
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatal("etcd cluster: no leader")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitReady waits until a quorum answers a linearizable read, failing the test after timeout.
func (c *Cluster) WaitReady(timeout time.Duration) {
	c.t.Helper()
	cl, err := clientv3.New(c.Config(c.Endpoints()...))
	if err != nil {
		c.t.Fatalf("etcd client: %v", err)
	}
	defer cl.Close()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := cl.Get(ctx, "etcdtest-ready")
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("etcd cluster not ready after %v: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// start runs m's etcd process.
func (c *Cluster) start(m *Member) {
	c.t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.log == nil {
		m.log = &interop.Buffer{}
	}
	cmd := exec.Command(c.bin,
		"--name", m.Name,
		"--data-dir", m.dataDir,
		"--listen-client-urls", m.ClientURL,
		"--advertise-client-urls", m.ClientURL,
		"--listen-peer-urls", m.peerURL,
		"--initial-advertise-peer-urls", m.peerURL,
		"--initial-cluster", m.cluster,
		"--initial-cluster-state", "new",
		"--initial-cluster-token", "etcdtest",
		// Short timeouts: a lost leader is replaced within about a second.
		"--heartbeat-interval", "50",
		"--election-timeout", "500",
		"--logger", "zap", "--log-outputs", "stderr")
	if c.TLS != nil {
		cmd.Args = append(cmd.Args, "--cert-file", c.TLS.serverCert, "--key-file", c.TLS.serverKey,
			"--trusted-ca-file", c.TLS.CA, "--client-cert-auth")
	}
	cmd.Stdout = m.log
	cmd.Stderr = m.log
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("starting etcd %s: %v", m.Name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	m.cmd, m.done = cmd, done
}

// Kill kills the member's process (SIGKILL, by PID) and waits for it; it does nothing if the
// member is not running.
func (m *Member) Kill() {
	m.mu.Lock()
	cmd, done := m.cmd, m.done
	m.cmd = nil
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
}

// Stop freezes the member's process (SIGSTOP): a member that hangs without closing its
// connections. Cont resumes it.
func (m *Member) Stop() { m.signal(syscall.SIGSTOP) }

// Cont resumes a member frozen by Stop (SIGCONT).
func (m *Member) Cont() { m.signal(syscall.SIGCONT) }

func (m *Member) signal(sig syscall.Signal) {
	if pid := m.Pid(); pid != 0 {
		_ = syscall.Kill(pid, sig)
	}
}

// Pid returns the member's process id, or 0 when it is not running.
func (m *Member) Pid() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return 0
	}
	return m.cmd.Process.Pid
}

// Restart starts a killed member again, on its data directory, and waits until the cluster
// answers.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	m := c.members[i]
	m.Kill()
	c.start(m)
	c.WaitReady(30 * time.Second)
}

// writeCerts writes a CA, a server certificate for 127.0.0.1 and a client certificate, all
// signed by the CA, valid for a day.
func writeCerts(t testing.TB, dir string) *TLSFiles {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "etcdtest CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, IsCA: true, BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	files := &TLSFiles{CA: filepath.Join(dir, "ca.pem")}
	writePEM(t, files.CA, "CERTIFICATE", caDER)
	leaf := func(serial int64, name string, usage x509.ExtKeyUsage) (certFile, keyFile string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
		writePEM(t, certFile, "CERTIFICATE", der)
		writePEM(t, keyFile, "EC PRIVATE KEY", kder)
		return certFile, keyFile
	}
	files.serverCert, files.serverKey = leaf(2, "server", x509.ExtKeyUsageServerAuth)
	files.ClientCert, files.ClientKey = leaf(3, "client", x509.ExtKeyUsageClientAuth)
	return files
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// freePort returns a free loopback TCP address.
func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}
