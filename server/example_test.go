package server_test

import (
	"context"
	"log"
	"os/signal"
	"syscall"

	"github.com/gorpyc/rpyc/server"
)

// Calculator is served to Python clients as root.add(a, b), and named "CALCULATOR".
type Calculator struct{}

// Add returns a + b.
func (Calculator) Add(a, b int) int { return a + b }

// Serving a Go service to Python rpyc clients until SIGTERM, then shutting down gracefully.
// Python: rpyc.connect("127.0.0.1", 18861).root.add(1, 2) == 3
func ExampleServer() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	srv := &server.Server{Service: Calculator{}, Kind: server.Threaded, MaxConns: 100}
	if err := srv.ListenAndServe(ctx, "127.0.0.1:18861"); err != nil && err != server.ErrServerClosed {
		log.Fatal(err)
	}
}
