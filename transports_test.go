//go:build unix

package rpyc_test

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/server"
)

// startServer starts tox-interop/transport_server.py with args (a ThreadedServer of its
// service) under p and returns it with its address.
func startServer(t testing.TB, p interop.Peer, args ...string) (*interop.Process, string) {
	t.Helper()
	proc := p.Start(t, "transport_server.py", args...)
	addr, err := proc.WaitListening(20 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return proc, addr
}

// tlsService is the Go service Python reaches over TLS.
type tlsService struct{}

// Add returns a + b.
func (tlsService) Add(a, b int) int { return a + b }

// TestInteropTLS: TLS both ways with both versions. Go's rpyc.Connect with WithTLS (verifying
// the certificate) reaches a Python ThreadedServer with an SSLAuthenticator; Python's
// ssl_connect (verifying it too, and presenting a client certificate, which the Go server requires) reaches a Go
// server.Server with TLSConfig.
func TestInteropTLS(t *testing.T) {
	certFile, keyFile, pool := interop.SelfSignedCert(t, t.TempDir())
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()

		// Go client -> Python ssl server.
		_, addr := startServer(t, p, "--port", "0", "--tls", certFile, keyFile)
		conn, err := rpyc.Connect(ctx, addr, rpyc.WithTLS(&tls.Config{RootCAs: pool}))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		root, err := conn.Root(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := rpyc.As[int](root.CallMethod(ctx, "add", 20, 22)); err != nil || n != 42 {
			t.Fatalf("add over TLS = %v, %v", n, err)
		}

		// Python ssl_connect -> Go TLS server, which requires a client certificate.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &server.Server{Service: tlsService{}, TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			ClientAuth:   tls.RequireAnyClientCert, // the test certificate is for servers only
		}}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ctx, ln) }()
		defer func() { srv.Close(); <-served }()
		out := p.Run(t, "ssl_client.py", ln.Addr().String(), certFile, certFile, keyFile)
		if got := strings.TrimSpace(out); got != "TLS 42" {
			t.Fatalf("Python ssl_connect to the Go server printed %q", got)
		}
	})
}
