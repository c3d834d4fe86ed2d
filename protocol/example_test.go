package protocol_test

import (
	"context"
	"fmt"
	"net"

	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/netref"
	"github.com/gorpyc/rpyc/protocol"
	"github.com/gorpyc/rpyc/pyobj"
)

// Calculator is a Go service: Python clients see root.add(a, b).
type Calculator struct{}

// Add adds.
func (Calculator) Add(a, b int) int { return a + b }

// Two gorpyc peers over an in-memory pipe: the serving side detects the dialect from the first
// message, the connecting side probes for it.
func Example() {
	a, b := net.Pipe()
	server := protocol.New(channel.New(a, channel.Config{}), Calculator{}, protocol.DefaultConfig(),
		protocol.WithObjects(pyobj.Handler{}))
	defer server.Close()

	ctx := context.Background()
	client, err := protocol.NewClient(ctx, channel.New(b, channel.Config{}), nil, protocol.DefaultConfig(),
		protocol.WithObjects(pyobj.Handler{}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	fmt.Println("dialect:", client.Dialect())

	root, err := netref.Root(ctx, client)
	if err != nil {
		fmt.Println(err)
		return
	}
	sum, err := netref.As[int](root.CallMethod(ctx, "add", 1, 2))
	fmt.Println(sum, err)
	name, err := netref.As[string](root.CallMethod(ctx, "get_service_name"))
	fmt.Println(name, err)
	// Output:
	// dialect: v5
	// 3 <nil>
	// CALCULATOR <nil>
}

// Request sends one request by its handler number and returns the unboxed reply; here HANDLE_PING.
func ExampleConn_Request() {
	a, b := net.Pipe()
	cfg := protocol.DefaultConfig()
	cfg.Dialect = compat.V6
	server := protocol.New(channel.New(a, channel.Config{}), nil, protocol.DefaultConfig())
	defer server.Close()
	client := protocol.New(channel.New(b, channel.Config{}), nil, cfg)
	defer client.Close()
	v, err := client.Request(context.Background(), compat.HandlePing, "hello")
	fmt.Println(v, err, server.Dialect())
	// Output: hello <nil> v6
}
