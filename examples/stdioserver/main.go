// Command stdioserver is a Go RPyC service that serves one connection over its standard input and
// output, for a Python program that starts it as a child:
//
//	import rpyc
//	c = rpyc.connect_subproc(["./stdioserver"])
//	c.root.add(20, 22)   # 42
//
// It exits when the Python side closes the connection.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/gorpyc/rpyc/server"
)

// CalcService is the service the Python parent uses.
type CalcService struct{}

// Add returns a + b.
func (CalcService) Add(a, b int) int { return a + b }

// Pid returns this process's id, so the parent can tell it talks to its child.
func (CalcService) Pid() int { return os.Getpid() }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := server.ServeStdio(ctx, CalcService{}); err != nil {
		fmt.Fprintln(os.Stderr, "stdioserver:", err) // never to stdout: it is the connection
		os.Exit(1)
	}
}
