// Command classic drives a Python interpreter from Go through RPyC's classic mode: it starts
// Python as a child process (like rpyc.classic.connect_subproc), or connects to an rpyc_classic
// server with -addr, and uses modules, eval/execute, obtain/deliver, file upload and redirected
// output.
//
//	go run ./examples/classic                         # a private python3 child over its stdio
//	go run ./examples/classic -addr 127.0.0.1:18812   # an rpyc_classic server
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/classic"
)

func main() {
	addr := flag.String("addr", "", "rpyc_classic server address (empty: start a Python child)")
	python := flag.String("python", "/usr/bin/python3", "interpreter for the child")
	flag.Parse()
	log.SetFlags(0)
	if err := run(*addr, *python); err != nil {
		log.Fatalf("classic: %v", err)
	}
}

func run(addr, python string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var c *classic.Client
	var err error
	if addr == "" {
		c, err = classic.StartPython(ctx, python, classic.WithEnv("PYTHONPATH="+os.Getenv("PYTHONPATH")))
	} else {
		c, err = classic.Connect(ctx, addr)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	if addr == "" {
		fmt.Printf("started %s as a classic server over its stdin/stdout (pid %d)\n", python, c.Pid())
	} else {
		fmt.Printf("connected to rpyc_classic at %s\n", addr)
	}

	version, err := classic.EvalAs[string](ctx, c, "__import__('rpyc').__version__")
	if err != nil {
		return err
	}
	fmt.Printf("remote rpyc %s, dialect %v\n", version, c.Conn().Dialect())

	path, err := c.Module(ctx, "os.path") // conn.modules["os.path"]
	if err != nil {
		return err
	}
	joined, err := rpyc.As[string](path.CallMethod(ctx, "join", "/tmp", "gorpyc", "demo.txt"))
	if err != nil {
		return err
	}
	fmt.Printf("modules['os.path'].join(...) = %q\n", joined)

	if err := c.Execute(ctx, "squares = [i * i for i in range(10)]"); err != nil {
		return err
	}
	squares, err := c.Eval(ctx, "squares") // a list: a proxy
	if err != nil {
		return err
	}
	copied, err := classic.Obtain(ctx, squares) // by value, through pickle
	if err != nil {
		return err
	}
	fmt.Printf("obtain(squares) = %v\n", copied)

	remote, err := c.Deliver(ctx, map[string]any{"go": []int{1, 2}, "ok": true}) // Go -> Python object
	if err != nil {
		return err
	}
	n, err := remote.(*rpyc.Ref).Len(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("deliver(map) gave the server a dict of %d keys\n", n)

	dir, err := os.MkdirTemp("", "gorpyc-classic-demo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	local := filepath.Join(dir, "hello.txt")
	if err := os.WriteFile(local, []byte("hello from Go\n"), 0o640); err != nil {
		return err
	}
	remotePath := filepath.Join(dir, "uploaded.txt")
	if err := c.Upload(ctx, local, remotePath, nil); err != nil {
		return err
	}
	back, err := classic.EvalAs[string](ctx, c, fmt.Sprintf("open(%q).read()", remotePath))
	if err != nil {
		return err
	}
	fmt.Printf("upload, then the server reads it back: %q\n", back)

	var out bytes.Buffer
	err = c.RedirectStdio(ctx, &out, nil, func(ctx context.Context) error {
		return c.Execute(ctx, "print('printed by Python, shown by Go')")
	})
	if err != nil {
		return err
	}
	fmt.Printf("redirected stdout: %q\n", strings.TrimSpace(out.String()))

	_, err = c.Eval(ctx, "1/0")
	fmt.Printf("eval('1/0') -> %v\n", strings.SplitN(err.Error(), "\n", 2)[0])
	return nil
}
