//go:build unix

package server_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/server"
)

// ownNameService has a method of its own named like the built-in get_service_name.
type ownNameService struct{}

// GetServiceName is the service's own: it wins over the built-in.
func (ownNameService) GetServiceName() string { return "mine" }

// TestServiceNameCalls: the reader answers root.get_service_name() and get_service_aliases()
// itself (no handler goroutine), with what the slow path answers: the server's names, a
// service's own method of that name when it has one, and a TypeError when arguments are given.
func TestServiceNameCalls(t *testing.T) {
	for _, tc := range []struct {
		svc             any
		name            string
		aliases         []string
		wantName        string
		wantAliasesLast string
	}{
		{svc: cycleTestService{}, name: "Cycle", aliases: []string{"Other"}, wantName: "CYCLE", wantAliasesLast: "OTHER"},
		{svc: ownNameService{}, wantName: "mine", wantAliasesLast: "OWNNAME"},
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &server.Server{Service: tc.svc, Name: tc.name, Aliases: tc.aliases}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(context.Background(), ln) }()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, root := connect(t, ln.Addr().String())
		if got, err := root.CallMethod(ctx, "get_service_name"); err != nil || got != tc.wantName {
			t.Errorf("%T: get_service_name() = %v, %v; want %s", tc.svc, got, err, tc.wantName)
		}
		if got, err := rpyc.As[[]string](root.CallMethod(ctx, "get_service_aliases")); err != nil || len(got) == 0 || got[len(got)-1] != tc.wantAliasesLast {
			t.Errorf("%T: get_service_aliases() = %v, %v; want ... %s", tc.svc, got, err, tc.wantAliasesLast)
		}
		if _, err := root.CallMethod(ctx, "get_service_aliases", 1); !errors.Is(err, rpyc.TypeError) {
			t.Errorf("%T: get_service_aliases(1) = %v, want a TypeError", tc.svc, err)
		}
		cancel()
		_ = srv.Close()
		<-served
	}
}

// cycleTestService is a service with nothing of its own.
type cycleTestService struct{}
