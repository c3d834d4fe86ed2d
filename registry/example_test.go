package registry_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"os/signal"
	"syscall"

	"github.com/gorpyc/rpyc/registry"
)

// A registry server on UDP port 18811, like `rpyc_registry`, stopped by SIGTERM.
func ExampleServer() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	s := &registry.Server{AllowListing: true}
	go func() {
		<-ctx.Done()
		_ = s.Shutdown(context.Background())
	}()
	if err := s.ListenAndServe(); !errors.Is(err, registry.ErrServerClosed) {
		log.Fatal(err)
	}
}

// One table served over UDP and TCP at once, on an ephemeral port announced by NotifyStarted.
func ExampleServer_ServePacket() {
	s := &registry.Server{NotifyStarted: func(a net.Addr) { fmt.Println("serving on", a) }}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go s.ServePacket(pc)
	go s.Serve(l)
	defer s.Close()
	// ...
}

// Finding the servers of a service through a registry at a known address.
func ExampleUDPClient_Discover() {
	c := &registry.UDPClient{Addr: "192.0.2.10:18811"} // or the zero value: broadcast
	eps, err := c.Discover(context.Background(), "calc")
	switch {
	case errors.Is(err, registry.ErrServiceNotFound):
		fmt.Println("nobody serves CALC")
	case errors.Is(err, registry.ErrNoRegistry):
		fmt.Println("no registry answered")
	case err != nil:
		log.Fatal(err)
	}
	for _, ep := range eps {
		fmt.Println(ep) // 192.0.2.20:18861 ...
	}
}

// Keeping a server listening on 192.0.2.20:18861 registered until ctx ends, as Python servers
// with auto_register=True do.
func ExampleAutoRegister() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	reg := &registry.UDPClient{Interface: "192.0.2.20"} // broadcast, sent from the listen address
	aliases := registry.ServiceAliases("CalcService", nil)
	if err := registry.AutoRegister(ctx, reg, aliases, 18861, slog.Default()); err != nil {
		log.Print(err)
	}
}

func ExampleServiceAliases() {
	fmt.Println(registry.ServiceAliases("CalcService", nil))
	fmt.Println(registry.ServiceAliases("EchoService", []string{"echo", "Echo2"}))
	// Output:
	// [CALC]
	// [ECHO ECHO2]
}

// Two servers, one for UDP and one for TCP, with different settings, answering from one
// table: a shared Store (an etcd one, from package registry/etcdstore, shares it between hosts).
func ExampleServer_store() {
	store := registry.NewMemoryStore(registry.DefaultPruneTimeout, registry.DefaultMaxRegistrations, registry.DefaultMaxEndpointsPerName)
	udp := &registry.Server{Net: "udp", Addr: ":18811", Store: store}
	tcp := &registry.Server{Net: "tcp", Addr: ":18811", Store: store, AllowListing: true}
	go func() { log.Println(udp.ListenAndServe()) }()
	log.Println(tcp.ListenAndServe())
}
