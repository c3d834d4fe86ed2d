package rpyc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/server"
)

// Calculator is a Go service served over a pair of pipes in ExampleConnectPipes.
type Calculator struct{}

// Add returns a + b.
func (Calculator) Add(a, b int) int { return a + b }

// pipeEnds joins a pipe to read and a pipe to write into one stream for ServeStream.
type pipeEnds struct {
	io.ReadCloser
	io.WriteCloser
}

func (p pipeEnds) Close() error { return errors.Join(p.WriteCloser.Close(), p.ReadCloser.Close()) }

// A connection over two pipes (Python's connect_pipes). Here the far ends are served by a Go
// server in the same process; usually they are a child process's standard input and output.
func ExampleConnectPipes() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	toServer, fromClient := io.Pipe()
	toClient, fromServer := io.Pipe()
	served := make(chan error, 1)
	go func() {
		served <- (&server.Server{Service: Calculator{}}).ServeStream(ctx, pipeEnds{toServer, fromServer})
	}()

	conn, err := rpyc.ConnectPipes(ctx, toClient, fromClient)
	if err != nil {
		log.Fatal(err)
	}
	root, err := conn.Root(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rpyc.As[int](root.CallMethod(ctx, "add", 20, 22)))
	conn.Close()
	<-served
	// Output: 42 <nil>
}

// Starting a Python service as a child process that serves one connection over its standard
// input and output (Python's connect_subproc). The child script does what Python's
// connect_stdpipes does: rpyc.connect_stdpipes(service=MyService).serve_all().
func ExampleConnectSubproc() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.Command("python3", "my_service.py")
	cmd.Stderr = os.Stderr // where Python logs
	conn, err := rpyc.ConnectSubproc(ctx, cmd)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close() // closes the child's stdin, waits for it (or kills it after SubprocWait)
	root, _ := conn.Root(ctx)
	fmt.Println(root.CallMethod(ctx, "add", 20, 22))
}

// A client that survives server restarts: Conn reconnects when the connection died, with
// backoff, and the keepalive notices a server that stopped answering.
func ExampleNewRedialer() {
	r := rpyc.NewRedialer("127.0.0.1:18861", rpyc.WithPing(5*time.Second, 10*time.Second))
	defer r.Close()
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		conn, err := r.Conn(ctx) // the same connection while it is open
		if err != nil {
			log.Fatal(err) // ctx ended before the server came back
		}
		root, _ := conn.Root(ctx)
		n, err := rpyc.As[int](root.CallMethod(ctx, "add", 1, 2))
		if errors.Is(err, rpyc.ErrClosed) {
			// The connection died during the call: it is not replayed. Decide whether to
			// call again; the next Conn reconnects.
		}
		fmt.Println(n, err)
		cancel()
	}
}

// A silent server (a stopped process, a dead host without a RST) is detected within
// interval+timeout, even while a call waits for it.
func ExampleWithPing() {
	ctx := context.Background()
	conn, err := rpyc.Connect(ctx, "127.0.0.1:18861", rpyc.WithPing(2*time.Second, 3*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	root, _ := conn.Root(ctx)
	_, err = root.CallMethod(ctx, "add", 1, 2)
	if errors.Is(err, rpyc.ErrPeerUnresponsive) {
		fmt.Println("server gone:", conn.Err())
	}
}

// Remembering each server's dialect across runs, so that a 6.x server does not log a refused
// v5 probe each time this program starts.
func ExampleSetDialectCacheFile() {
	if dir, err := os.UserCacheDir(); err == nil {
		rpyc.SetDialectCacheFile(filepath.Join(dir, "gorpyc", "dialects.json"))
	}
	conn, err := rpyc.Connect(context.Background(), "127.0.0.1:18861")
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	fmt.Println(conn.Dialect())
}

// ConnectVia detects the server's dialect over any transport that can open another stream when
// a probe is refused (an SSH login, a proxy). Here each stream is a net.Pipe to a Go server in
// the same process; "calc" names the endpoint for the dialect memory.
func ExampleConnectVia() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv := &server.Server{Service: Calculator{}}
	open := func(ctx context.Context) (io.ReadWriteCloser, error) {
		client, far := net.Pipe()
		go func() { _ = srv.ServeStream(ctx, far) }()
		return client, nil
	}
	conn, err := rpyc.ConnectVia(ctx, "calc", open)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	root, err := conn.Root(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rpyc.As[int](root.CallMethod(ctx, "add", 40, 2)))
	// Output: 42 <nil>
}
