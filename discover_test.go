//go:build unix

package rpyc_test

// Tests of Discover, ConnectByService and ListServices, live with Python rpyc servers and
// registries (tox-interop/registry_*.py) for both peers, all on 127.0.0.1.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/registry"
	"github.com/gorpyc/rpyc/server"
)

// startGoRegistry runs a Go registry server on 127.0.0.1:0 (network "udp" or "tcp") and
// returns a client for it.
func startGoRegistry(t *testing.T, network string, s *registry.Server) registry.Registrar {
	t.Helper()
	started := make(chan net.Addr, 1)
	s.NotifyStarted = func(a net.Addr) { started <- a }
	errc := make(chan error, 1)
	if network == "udp" {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { errc <- s.ServePacket(pc) }()
	} else {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { errc <- s.Serve(l) }()
	}
	var addr string
	select {
	case a := <-started:
		addr = a.String()
	case err := <-errc:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		if err := <-errc; !errors.Is(err, registry.ErrServerClosed) {
			t.Errorf("registry server: %v", err)
		}
	})
	if network == "udp" {
		return &registry.UDPClient{Addr: addr, Interface: "127.0.0.1", Timeout: 5 * time.Second}
	}
	return &registry.TCPClient{Addr: addr, Interface: "127.0.0.1", Timeout: 5 * time.Second}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// deadPort returns a loopback TCP port nothing listens on.
func deadPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return port
}

// TestDiscoverPythonServer: a Python ThreadedServer(auto_register=True) registers with the Go
// registry (UDP and TCP registrars); Go finds it with Discover and ConnectByService and calls
// it; after the Python server closes (and unregisters), discovery fails.
func TestDiscoverPythonServer(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		for _, network := range []string{"udp", "tcp"} {
			t.Run(network, func(t *testing.T) {
				reg := startGoRegistry(t, network, &registry.Server{Logger: discardLogger()})
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				defer cancel()
				// A dead endpoint registers first, so ConnectByService tries it first and must
				// skip it.
				dead := registry.Endpoint{IP: "127.0.0.1", Port: deadPort(t)}
				if err := reg.Register(ctx, []string{"ADDER"}, dead.Port); err != nil {
					t.Fatal(err)
				}
				proc := p.Start(t, "registry_service.py", "--registry-port", regAddrPort(t, reg), "--mode", network,
					"--class-name", "AdderService")
				svc, err := proc.WaitListening(startTimeout)
				if err != nil {
					t.Fatal(err)
				}
				opts := []rpyc.DiscoverOption{rpyc.WithRegistrar(reg)}
				want := fmt.Sprintf("[%s %s]", dead, svc)
				var eps []registry.Endpoint
				deadline := time.Now().Add(callTimeout)
				for {
					eps, err = rpyc.Discover(ctx, "adder", opts...)
					if err == nil && fmt.Sprint(eps) == want || time.Now().After(deadline) {
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				if fmt.Sprint(eps) != want {
					t.Fatalf("Discover(adder) = %v, %v; want %s", eps, err, want)
				}

				conn, err := rpyc.ConnectByService(ctx, "Adder", opts...)
				if err != nil {
					t.Fatalf("ConnectByService: %v", err)
				}
				defer conn.Close()
				root, err := conn.Root(ctx)
				if err != nil {
					t.Fatal(err)
				}
				sum, err := rpyc.As[int64](root.CallMethod(ctx, "add", 20, 22))
				if err != nil || sum != 42 {
					t.Fatalf("root.add(20, 22) = %v, %v", sum, err)
				}
				name, err := rpyc.As[string](root.CallMethod(ctx, "get_service_name"))
				if err != nil || name != "ADDER" {
					t.Fatalf("root.get_service_name() = %q, %v", name, err)
				}

				// Host filter.
				if eps, err := rpyc.Discover(ctx, "ADDER", append(opts, rpyc.WithDiscoveryHost("localhost"))...); err != nil || len(eps) != 2 {
					t.Errorf("Discover on localhost = %v, %v", eps, err)
				}
				if _, err := rpyc.Discover(ctx, "ADDER", append(opts, rpyc.WithDiscoveryHost("127.0.0.2"))...); !errors.Is(err, registry.ErrServiceNotFound) {
					t.Errorf("Discover on 127.0.0.2: %v, want ErrServiceNotFound", err)
				}

				// The Python server unregisters when it closes; the dead endpoint stays.
				_ = proc.Stdin.Close()
				if line, err := proc.ReadLine(startTimeout); err != nil || line != "CLOSED" {
					t.Fatalf("registry_service.py: %q, %v", line, err)
				}
				deadline = time.Now().Add(callTimeout)
				for {
					eps, err = rpyc.Discover(ctx, "adder", opts...)
					if err == nil && len(eps) == 1 || time.Now().After(deadline) {
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				if err != nil || len(eps) != 1 || eps[0] != dead {
					t.Fatalf("after close, Discover = %v, %v; want only the dead endpoint", eps, err)
				}
				_, err = rpyc.ConnectByService(ctx, "adder", opts...)
				if !errors.Is(err, rpyc.ErrAllServicesDown) || !strings.Contains(err.Error(), dead.String()) {
					t.Fatalf("ConnectByService with only dead endpoints: %v", err)
				}
			})
		}
	})
}

func regAddrPort(t *testing.T, reg registry.Registrar) string {
	t.Helper()
	var addr string
	switch r := reg.(type) {
	case *registry.UDPClient:
		addr = r.Addr
	case *registry.TCPClient:
		addr = r.Addr
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// regCalcService is the Go service that Python finds through a registry.
type regCalcService struct{}

// Add returns a + b.
func (regCalcService) Add(a, b int64) int64 { return a + b }

// TestConnectByServicePythonClient: a Go service (package server) keeps itself registered with
// Python's registry (Server.Registrar, UDP and TCP registrars); Python's
// rpyc.connect_by_service finds it and calls it; once the Go side stops, it has unregistered.
func TestConnectByServicePythonClient(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		for _, mode := range []string{"udp", "tcp"} {
			t.Run(mode, func(t *testing.T) {
				regProc := p.Start(t, "registry_server.py", "-m", mode, "-p", "0")
				regAddr, err := regProc.WaitListening(startTimeout)
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				defer cancel()
				var reg registry.Registrar = &registry.UDPClient{Addr: regAddr, Interface: "127.0.0.1"}
				if mode == "tcp" {
					reg = &registry.TCPClient{Addr: regAddr, Interface: "127.0.0.1"}
				}
				// The server registers itself (Server.Registrar), like Python's auto_register.
				srv := &server.Server{Service: regCalcService{}, Logger: discardLogger(), Registrar: reg}
				ln, err := net.Listen("tcp4", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				srvCtx, stopSrv := context.WithCancel(ctx)
				srvDone := make(chan error, 1)
				go func() { srvDone <- srv.Serve(srvCtx, ln) }()
				defer func() {
					stopSrv()
					<-srvDone
				}()
				if aliases := srv.ServiceAliases(); !slices.Equal(aliases, []string{"REGCALC"}) {
					t.Fatalf("ServiceAliases = %q", aliases)
				}

				// AutoRegister registers at once, but asynchronously: retry until Python sees it.
				var out string
				deadline := time.Now().Add(callTimeout)
				for {
					out = p.Run(t, "registry_client.py", "--mode", mode, "--addr", regAddr, "connect", "regcalc")
					if !strings.Contains(out, "DiscoveryError") || time.Now().After(deadline) {
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
				if want := `{"op": "connect", "result": ["REGCALC", 5]}`; strings.TrimSpace(out) != want {
					t.Fatalf("registry_client.py printed\n%s\nwant %s", out, want)
				}

				stopSrv() // shutting down unregisters
				if err := <-srvDone; !errors.Is(err, server.ErrServerClosed) {
					t.Fatalf("Serve: %v", err)
				}
				srvDone <- nil // for the deferred stop
				out = p.Run(t, "registry_client.py", "--mode", mode, "--addr", regAddr, "sleep", "0.2", "rpyc-discover", "regcalc")
				if !strings.Contains(out, `"op": "rpyc-discover", "error": "DiscoveryError`) {
					t.Fatalf("after unregistering, Python's discover printed\n%s", out)
				}
			})
		}
	})
}

// TestDiscoverListServices covers ListServices and the error cases of Discover against a Go
// registry.
func TestDiscoverListServices(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	reg := startGoRegistry(t, "udp", &registry.Server{AllowListing: true, Logger: discardLogger()})
	for i, names := range [][]string{{"alpha"}, {"beta", "gamma"}} {
		if err := reg.Register(ctx, names, 1000+i); err != nil {
			t.Fatal(err)
		}
	}
	opts := []rpyc.DiscoverOption{rpyc.WithRegistrar(reg), rpyc.WithDiscoveryTimeout(5 * time.Second)}
	names, err := rpyc.ListServices(ctx, opts...)
	if err != nil || !slices.Equal(names, []string{"ALPHA", "BETA", "GAMMA"}) {
		t.Fatalf("ListServices = %v, %v", names, err)
	}
	names, err = rpyc.ListServices(ctx, append(opts, rpyc.WithDiscoveryHost("10.0.0.1"))...)
	if err != nil || len(names) != 0 {
		t.Fatalf("ListServices on 10.0.0.1 = %v, %v", names, err)
	}
	if _, err := rpyc.Discover(ctx, "delta", opts...); !errors.Is(err, registry.ErrServiceNotFound) {
		t.Fatalf("Discover(delta) = %v", err)
	}

	closed := startGoRegistry(t, "tcp", &registry.Server{Logger: discardLogger()})
	if _, err := rpyc.ListServices(ctx, rpyc.WithRegistrar(closed)); !errors.Is(err, registry.ErrListingDisabled) {
		t.Fatalf("ListServices without listing: %v", err)
	}

	// Nobody answers: ErrNoRegistry within the discovery timeout.
	silent, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	start := time.Now()
	_, err = rpyc.Discover(ctx, "alpha", rpyc.WithRegistrar(&registry.UDPClient{Addr: silent.LocalAddr().String()}),
		rpyc.WithDiscoveryTimeout(300*time.Millisecond))
	if !errors.Is(err, registry.ErrNoRegistry) {
		t.Fatalf("Discover with no registry: %v", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("Discover gave up after %v, want 300ms", el)
	}
	_, err = rpyc.ConnectByService(ctx, "alpha", rpyc.WithRegistrar(&registry.TCPClient{Addr: "127.0.0.1:" + fmt.Sprint(deadPort(t))}))
	if !errors.Is(err, registry.ErrNoRegistry) {
		t.Fatalf("ConnectByService with no registry: %v", err)
	}
}
