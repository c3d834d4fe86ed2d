// Package classic is a Go client for RPyC's classic mode: servers started with rpyc_classic (or
// any server running SlaveService or ClassicService) that let the client import modules,
// evaluate expressions and execute code remotely. It is the Go counterpart of Python's
// rpyc.classic module, wire-compatible with rpyc 5.x and 6.x servers.
//
// Connecting:
//
//	c, err := classic.Connect(ctx, "buildhost")          // port 18812 (18821 with WithTLS)
//	c, err := classic.StartPython(ctx, "python3")         // a child process over its stdio
//	defer c.Close()
//
// Using the server's Python:
//
//	os, _ := c.Module(ctx, "os")                           // conn.modules.os
//	pid, _ := rpyc.As[int](os.CallMethod(ctx, "getpid"))   // conn.modules.os.getpid()
//	_ = c.Execute(ctx, "import platform")                  // conn.execute(...)
//	v, _ := c.Eval(ctx, "platform.node()")                 // conn.eval(...) → "buildhost"
//	n, _ := classic.EvalAs[[]int](ctx, c, "list(range(5))")
//
// Results of Eval and of calls on proxies follow the protocol's rule: None, bools, numbers, str,
// bytes and tuples of those arrive as Go values; lists, dicts, sets, modules and other objects
// arrive as *netref.Ref proxies that forward every operation to the server.
//
// # Copying values: Obtain and Deliver
//
// [Obtain] copies a remote object into Go by value, through pickle (the server pickles it with
// protocol 4; the pickle is read here with github.com/nlpodyssey/gopickle). [Client.Deliver]
// does the reverse: it pickles a Go value here and has the server's pickle.loads rebuild it.
// Both use one value model:
//
//	Python                      Go
//	None                        nil
//	bool                        bool
//	int                         int64, or *big.Int beyond 64 bits (Deliver: any Go integer)
//	float                       float64 (Deliver: float32 too)
//	complex                     complex128
//	str                         string (valid UTF-8)
//	bytes                       []byte (Deliver: byte arrays too)
//	bytearray                   ByteArray
//	tuple                       brine.Tuple
//	list                        []any (Deliver: any Go slice or array)
//	dict, OrderedDict,          Dict: items in order, keys of any type
//	  defaultdict               (Deliver: Go maps, keys sorted; structs, keyed like
//	                            their fields are exposed: `rpyc` tag or snake_case name)
//	set                         Set (members sorted by Obtain)
//	frozenset                   brine.FrozenSet
//	slice                       brine.Slice
//	Ellipsis, NotImplemented    brine.Singleton
//	datetime.datetime           time.Time: aware ones in a fixed-offset or IANA location,
//	                            naive ones in the location Naive (microsecond precision)
//	datetime.date, .time        Date, TimeOfDay
//	datetime.timedelta          time.Duration (±292 years)
//	datetime.timezone, ZoneInfo *time.Location
//	decimal.Decimal             Decimal (its exact text)
//
// Anything else (instances of other classes, functions, range) makes Obtain fail with an error
// wrapping [ErrUnsupported] that names the class; a container that contains itself fails with
// [ErrRecursive]. Sets and frozensets with bytes members cannot be read (gopickle keeps sets in
// Go maps). [ObtainAs] and [EvalAs] convert the result further into a Go type of your choice
// (slices, maps, structs, numbers). Obtaining a large container is much faster than iterating
// its proxy: one request instead of one per batch of items (see docs/classic.md for figures).
//
// # Files, output and processes
//
// [Client.Upload] and [Client.Download] copy files and directory trees in 64 000-byte chunks,
// as Python's rpyc.classic.upload and download do, with a progress callback and permission bits.
// [Client.RedirectStdio] shows what the server prints while a function runs. [StartPython] runs
// a private classic server as a child process over its standard input and output, like Python's
// connect_subproc.
//
// # Teleport
//
// Python's rpyc.classic.teleport_function ships a Python function's bytecode to the server. Go
// has no Python bytecode to send; the equivalent is to send the function's source with
// [Client.Execute], which defines it in the server's namespace, and to call it from there:
//
//	_ = c.Execute(ctx, "def work(n):\n    return sum(range(n))\n")
//	ns, _ := c.Namespace(ctx)
//	work, _ := ns.GetItem(ctx, "work")
//	total, _ := rpyc.As[int](work.(*netref.Ref).Call(ctx, 1000))
//
// # Security
//
// A classic server runs any code its clients send, with the server's privileges; its traffic is
// unauthenticated unless TLS with client certificates is configured. Expose it only on trusted
// networks, as Python's documentation warns.
package classic
