// Command client is a Go program using a Python rpyc service (examples/pyserver/demo_service.py)
// through gorpyc: calls with keyword arguments, a remote dict as a netref, a Go callback called by
// Python, and a Python exception as a Go error.
//
//	/usr/bin/python3 examples/pyserver/demo_service.py --port 18861 &
//	go run ./examples/client -addr 127.0.0.1:18861
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/protocol"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18861", "address of the Python demo service")
	flag.Parse()
	log.SetFlags(0)
	if err := run(*addr); err != nil {
		log.Fatalf("client: %v", err)
	}
}

func run(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	conn, err := rpyc.Connect(ctx, addr) // finds out by itself whether the server runs rpyc 5 or 6
	if err != nil {
		return err
	}
	defer conn.Close()
	root, err := conn.Root(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("connected to %s (dialect %v)\n", addr, conn.Dialect())

	// root.add(1, 2)
	sum, err := rpyc.As[int](root.CallMethod(ctx, "add", 1, 2))
	if err != nil {
		return err
	}
	fmt.Printf("root.add(1, 2)                  = %d\n", sum)

	// root.greet("gopher", greeting="Hi")
	greeting, err := rpyc.As[string](root.CallMethod(ctx, "greet", "gopher", rpyc.Kwargs{"greeting": "Hi"}))
	if err != nil {
		return err
	}
	fmt.Printf("root.greet(\"gopher\", greeting=\"Hi\") = %q\n", greeting)

	// A dict stays in Python; the Go side holds a proxy and asks for what it needs.
	inv, err := rpyc.As[*rpyc.Ref](root.CallMethod(ctx, "inventory"))
	if err != nil {
		return err
	}
	defer inv.Release()
	n, err := inv.Len(ctx)
	if err != nil {
		return err
	}
	pears, err := rpyc.As[int](inv.GetItem(ctx, "pears"))
	if err != nil {
		return err
	}
	fmt.Printf("inventory is a %s netref: len=%d, inventory[\"pears\"]=%d\n", inv.TypeName(), n, pears)
	for key, err := range inv.Iter(ctx) {
		if err != nil {
			return err
		}
		fmt.Printf("  key %v\n", key)
	}

	// Python calls back into Go while the Go call is in flight.
	var seen []string
	count, err := rpyc.As[int](root.CallMethod(ctx, "for_each", []string{"a", "b", "c"}, func(item string) {
		seen = append(seen, item)
	}))
	if err != nil {
		return err
	}
	fmt.Printf("root.for_each(...) called the Go callback %d times with %v\n", count, seen)

	// A Python exception arrives as a Go error.
	_, err = root.CallMethod(ctx, "divide", 1, 0)
	var remote *rpyc.RemoteError
	if errors.As(err, &remote) && errors.Is(err, protocol.ZeroDivisionError) {
		fmt.Printf("root.divide(1, 0) raised %s.%s: %s (errors.Is ArithmeticError: %v)\n",
			remote.Module, remote.Name, remote.Message(), errors.Is(err, protocol.ArithmeticError))
	} else {
		return fmt.Errorf("expected ZeroDivisionError, got %v", err)
	}
	version, err := rpyc.As[string](root.CallMethod(ctx, "version"))
	if err != nil {
		return err
	}
	fmt.Printf("the server runs Python rpyc %s\n", version)
	return nil
}
