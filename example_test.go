package rpyc_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/protocol"
)

// Calling a Python rpyc service: conn.root.add(1, 2), a keyword argument, a remote dict and a
// Python exception. (Needs a server; see examples/client for a complete program.)
func ExampleConnect() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := rpyc.Connect(ctx, "127.0.0.1:18861")
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	root, err := conn.Root(ctx)
	if err != nil {
		log.Fatal(err)
	}
	sum, err := rpyc.As[int](root.CallMethod(ctx, "add", 1, 2))
	if err != nil {
		log.Fatal(err)
	}
	greeting, err := rpyc.As[string](root.CallMethod(ctx, "greet", "gopher", rpyc.Kwargs{"greeting": "Hi"}))
	if err != nil {
		log.Fatal(err)
	}
	inventory, err := rpyc.As[*rpyc.Ref](root.CallMethod(ctx, "inventory")) // a dict stays remote
	if err != nil {
		log.Fatal(err)
	}
	defer inventory.Release()
	n, _ := inventory.Len(ctx)
	_, err = root.CallMethod(ctx, "divide", 1, 0)
	fmt.Println(sum, greeting, n, errors.Is(err, protocol.ZeroDivisionError))
}

// A Go function passed as an argument is called by Python while the call is in flight.
func ExampleConnect_callback() {
	ctx := context.Background()
	conn, err := rpyc.Connect(ctx, "127.0.0.1:18861", rpyc.WithRequestTimeout(5*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	root, _ := conn.Root(ctx)
	var seen []string
	_, err = root.CallMethod(ctx, "for_each", []string{"a", "b"}, func(item string) {
		seen = append(seen, item)
	})
	fmt.Println(seen, err)
}
