package classic_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/classic"
	"github.com/gorpyc/rpyc/netref"
)

// Evaluate and execute Python on a classic server (rpyc_classic on its default port).
func Example() {
	ctx := context.Background()
	c, err := classic.Connect(ctx, "buildhost")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	osmod, err := c.Module(ctx, "os")
	if err != nil {
		log.Fatal(err)
	}
	pid, err := rpyc.As[int](osmod.CallMethod(ctx, "getpid"))
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Execute(ctx, "import platform"); err != nil {
		log.Fatal(err)
	}
	node, err := classic.EvalAs[string](ctx, c, "platform.node()")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(node, pid)
}

// Copy a remote list and dict into Go values.
func ExampleObtain() {
	ctx := context.Background()
	c, err := classic.Connect(ctx, "buildhost")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	v, err := c.Eval(ctx, "{'load': __import__('os').getloadavg(), 'cpus': __import__('os').cpu_count()}")
	if err != nil {
		log.Fatal(err)
	}
	info, err := classic.Obtain(ctx, v) // a classic.Dict
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info)

	type status struct {
		Load []float64
		CPUs int `rpyc:"cpus"`
	}
	st, err := classic.ObtainAs[status](ctx, v)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.CPUs, st.Load)
}

// Send Go data to the server by value.
func ExampleClient_Deliver() {
	ctx := context.Background()
	c, err := classic.Connect(ctx, "buildhost")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	cfg, err := c.Deliver(ctx, map[string]any{"retries": 3, "hosts": []string{"a", "b"}})
	if err != nil {
		log.Fatal(err)
	}
	ns, err := c.Namespace(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if err := ns.SetItem(ctx, "cfg", cfg); err != nil { // a remote dict, now in the namespace
		log.Fatal(err)
	}
}

// Run a private classic server as a child process, with no network port.
func ExampleStartPython() {
	ctx := context.Background()
	c, err := classic.StartPython(ctx, "python3")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close() // stops the child
	v, err := classic.EvalAs[string](ctx, c, "__import__('sys').version")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v)
}

// Copy a directory tree to the server with a progress report.
func ExampleClient_Upload() {
	ctx := context.Background()
	c, err := classic.Connect(ctx, "buildhost")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	err = c.Upload(ctx, "./dist", "/opt/app/dist", &classic.TransferOptions{
		Progress: func(p classic.Progress) {
			fmt.Fprintf(os.Stderr, "\r%d/%d bytes", p.Bytes, p.TotalBytes)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
}

// Show what the server prints.
func ExampleClient_RedirectStdio() {
	ctx := context.Background()
	c, err := classic.Connect(ctx, "buildhost")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	err = c.RedirectStdio(ctx, os.Stdout, os.Stderr, func(ctx context.Context) error {
		return c.Execute(ctx, "print('hello from', __import__('socket').gethostname())")
	})
	if err != nil {
		log.Fatal(err)
	}
}

// The Go equivalent of teleport_function: define the function from source, then call it.
func ExampleClient_Execute_teleport() {
	ctx := context.Background()
	c, err := classic.Connect(ctx, "buildhost")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Execute(ctx, "def work(n):\n    return sum(i * i for i in range(n))\n"); err != nil {
		log.Fatal(err)
	}
	ns, err := c.Namespace(ctx)
	if err != nil {
		log.Fatal(err)
	}
	work, err := ns.GetItem(ctx, "work")
	if err != nil {
		log.Fatal(err)
	}
	total, err := rpyc.As[int](work.(*netref.Ref).Call(ctx, 1000))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(total)
}
