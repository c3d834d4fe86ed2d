// Command discovery finds services by name through an RPyC registry (Go's rpyc-registry or
// Python's rpyc_registry) and calls them, whatever language they are written in.
//
//	go run ./examples/discovery -registry 127.0.0.1:18811
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/registry"
)

func main() {
	addr := flag.String("registry", "127.0.0.1:18811", "TCP registry address")
	flag.Parse()
	log.SetFlags(0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	reg := rpyc.WithRegistrar(&registry.TCPClient{Addr: *addr})

	names, err := rpyc.ListServices(ctx, reg)
	if err != nil {
		log.Fatalf("discovery: %v", err)
	}
	fmt.Printf("the registry at %s lists %v\n", *addr, names)

	for _, name := range []string{"DEMO", "KV"} {
		eps, err := rpyc.Discover(ctx, name, reg)
		if err != nil {
			log.Fatalf("discovery: %v", err)
		}
		conn, err := rpyc.ConnectByService(ctx, name, reg)
		if err != nil {
			log.Fatalf("discovery: %v", err)
		}
		root, err := conn.Root(ctx)
		if err != nil {
			log.Fatalf("discovery: %v", err)
		}
		var what string
		switch name {
		case "DEMO": // the Python service
			v, err := rpyc.As[string](root.CallMethod(ctx, "version"))
			if err != nil {
				log.Fatalf("discovery: %v", err)
			}
			what = "a Python rpyc " + v + " server"
		case "KV": // the Go service
			if _, err := root.CallMethod(ctx, "set", "found-by", "name"); err != nil {
				log.Fatalf("discovery: %v", err)
			}
			what = "a Go server"
		}
		fmt.Printf("service %s at %v is %s (dialect %v)\n", name, eps, what, conn.Dialect())
		conn.Close()
	}
}
