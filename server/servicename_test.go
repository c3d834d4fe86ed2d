//go:build unix

package server_test

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/pyobj"
	"github.com/gorpyc/rpyc/registry"
	"github.com/gorpyc/rpyc/server"
)

// StraßeService is named like a Python class whose str.upper() is longer than Go's
// strings.ToUpper: Python registers it as "STRASSE".
type StraßeService struct{}

func (*StraßeService) Ping() string { return "pong" }

// TestServiceNamePythonRule checks that the server, protocol and registry derive the same
// Python names: StraßeService is "STRASSE" everywhere, also when a peer asks the root.
func TestServiceNamePythonRule(t *testing.T) {
	want := []string{"STRASSE"}
	if got := registry.ServiceAliases("StraßeService", nil); !slices.Equal(got, want) {
		t.Fatalf("registry.ServiceAliases = %q, want %q", got, want)
	}
	if got := pyobj.ServiceAliases(&StraßeService{}); !slices.Equal(got, want) {
		t.Errorf("pyobj.ServiceAliases = %q, want %q", got, want)
	}
	srv := &server.Server{Service: &StraßeService{}}
	if got := srv.ServiceAliases(); !slices.Equal(got, want) {
		t.Errorf("Server.ServiceAliases = %q, want %q", got, want)
	}
	named := &server.Server{Service: &StraßeService{}, Name: "straße", Aliases: []string{"ﬁle"}}
	if got := named.ServiceAliases(); !slices.Equal(got, []string{"STRASSE", "FILE"}) {
		t.Errorf("Server{Name: straße, Aliases: [ﬁle]}.ServiceAliases = %q, want [STRASSE FILE]", got)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() { srv.Close() })
	_, root := connect(t, ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if name, err := root.CallMethod(ctx, "get_service_name"); err != nil || name != "STRASSE" {
		t.Errorf("root.get_service_name() = %v, %v; want STRASSE", name, err)
	}
}
