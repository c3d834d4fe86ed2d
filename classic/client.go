package classic

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/netref"
	"github.com/gorpyc/rpyc/protocol"
)

// Default ports of rpyc_classic servers.
const (
	DefaultPort    = 18812 // plain TCP
	DefaultTLSPort = 18821 // with TLS (--ssl-keyfile/--ssl-certfile)
)

// ErrNotClassic means the peer's root does not behave like a classic SlaveService (it has no
// getmodule): the server runs an ordinary service. Use the rpyc package for those.
var ErrNotClassic = errors.New("classic: the peer is not a classic (SlaveService) server")

// Client is a connection to a classic rpyc server: the Go counterpart of the connection Python's
// rpyc.classic.connect returns, with its modules, builtins, namespace, eval and execute.
//
// A Client is safe for concurrent use. Python servers answer one connection's requests one at a
// time, so concurrent calls on one Client are serialised by the server.
type Client struct {
	conn *protocol.Conn
	root *netref.Ref
	proc *process // the child of StartPython, or nil

	mu        sync.Mutex // guards the fields below
	modules   map[string]*netref.Ref
	namespace *netref.Ref
	walker    *netref.Ref // the remote directory-listing helper of Download
}

// Connect connects to a classic server (rpyc_classic, or a ThreadedServer running
// SlaveService/ClassicService). host is "host", "host:port", "[v6]:port" or a bare IPv6
// address; without a port it uses [DefaultPort], or [DefaultTLSPort] with [WithTLS]. Without
// [WithDialect] the server's dialect is probed (see rpyc.Connect).
func Connect(ctx context.Context, host string, opts ...Option) (*Client, error) {
	o := buildOptions(opts)
	port := DefaultPort
	if o.tls != nil {
		port = DefaultTLSPort
	}
	addr := Address(host, port)
	ropts := []rpyc.Option{rpyc.WithService(newSlave()), rpyc.WithConfig(o.config())}
	if o.dialect != 0 {
		ropts = append(ropts, rpyc.WithDialect(o.dialect))
	}
	if o.tls != nil {
		ropts = append(ropts, rpyc.WithTLS(o.tls))
	}
	if o.dialTimeout > 0 {
		ropts = append(ropts, rpyc.WithDialTimeout(o.dialTimeout))
	}
	conn, err := rpyc.Connect(ctx, addr, ropts...)
	if err != nil {
		return nil, fmt.Errorf("classic: %w", err)
	}
	c, err := New(ctx, conn.Conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// Address adds defaultPort to host when it has none: "h" → "h:18812", "::1" → "[::1]:18812",
// "[::1]" → "[::1]:18812"; "h:1" is returned as is.
func Address(host string, defaultPort int) string {
	p := strconv.Itoa(defaultPort)
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		return host + ":" + p
	}
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	return net.JoinHostPort(host, p)
}

// New makes a Client of an open connection whose peer serves SlaveService or ClassicService
// (for instance one made with rpyc.ConnectStream). Serve a root made by [NewSlaveRoot] on conn if
// the peer is a ClassicService that calls back (rpyc_classic's stdio mode does). New checks the
// peer by importing its builtins module, as Python's classic connect does, and fails with
// [ErrNotClassic] if it cannot. The Client takes over conn: Close closes it.
func New(ctx context.Context, conn *protocol.Conn) (*Client, error) {
	root, err := netref.Root(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("classic: %w", err)
	}
	c := &Client{conn: conn, root: root, modules: map[string]*netref.Ref{}}
	if _, err := c.Builtins(ctx); err != nil {
		if errors.Is(err, protocol.AttributeError) {
			return nil, fmt.Errorf("%w: %w", ErrNotClassic, err)
		}
		return nil, err
	}
	return c, nil
}

// Conn returns the underlying connection.
func (c *Client) Conn() *protocol.Conn { return c.conn }

// Root returns the proxy of the server's root, the SlaveService instance.
func (c *Client) Root() *netref.Ref { return c.root }

// Close closes the connection (sending HANDLE_CLOSE) and, for a client of [StartPython], waits
// for the child process to exit, killing it after the stop timeout. It is idempotent.
func (c *Client) Close() error {
	err := c.conn.Close()
	if c.proc != nil {
		if perr := c.proc.stop(); err == nil {
			err = perr
		}
	}
	return err
}

// Ping checks that the server answers (HANDLE_PING with Python's default 520-character string).
func (c *Client) Ping(ctx context.Context) error {
	if err := c.conn.Ping(ctx, nil); err != nil {
		return fmt.Errorf("classic: ping: %w", err)
	}
	return nil
}

// Module imports a module on the server and returns it: Python's conn.modules[name] (and
// conn.modules.name). Dotted names give the submodule ("os.path", "xml.dom.minidom"). Modules are
// cached per name for the Client's lifetime, as Python caches them.
func (c *Client) Module(ctx context.Context, name string) (*netref.Ref, error) {
	c.mu.Lock()
	m := c.modules[name]
	c.mu.Unlock()
	if m != nil {
		return m, nil
	}
	v, err := c.root.CallMethod(ctx, "getmodule", name)
	if err != nil {
		return nil, fmt.Errorf("classic: import %s: %w", name, err)
	}
	ref, ok := v.(*netref.Ref)
	if !ok {
		return nil, fmt.Errorf("classic: import %s: getmodule returned %T, not a module", name, v)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev := c.modules[name]; prev != nil {
		if prev != ref {
			ref.Release()
		}
		return prev, nil
	}
	c.modules[name] = ref
	return ref, nil
}

// HasModule reports whether the server can import name, without importing it (it does import a
// dotted name's parent packages): importlib.util.find_spec(name) is not None. Python's
// `name in conn.modules`.
func (c *Client) HasModule(ctx context.Context, name string) (bool, error) {
	util, err := c.Module(ctx, "importlib.util")
	if err != nil {
		return false, err
	}
	v, err := util.CallMethod(ctx, "find_spec", name)
	if err != nil {
		if errors.Is(err, protocol.ModuleNotFoundError) {
			return false, nil // a missing parent package
		}
		return false, fmt.Errorf("classic: find_spec(%q): %w", name, err)
	}
	if r, ok := v.(*netref.Ref); ok {
		r.Release()
	}
	return v != nil, nil
}

// Builtins returns the server's builtins module (Python's conn.builtins).
func (c *Client) Builtins(ctx context.Context) (*netref.Ref, error) {
	return c.Module(ctx, "builtins")
}

// Namespace returns the server's namespace dict, the globals [Client.Eval] and
// [Client.Execute] run in (Python's conn.namespace). Use GetItem and SetItem on it.
func (c *Client) Namespace(ctx context.Context) (*netref.Ref, error) {
	c.mu.Lock()
	ns := c.namespace
	c.mu.Unlock()
	if ns != nil {
		return ns, nil
	}
	v, err := c.root.GetAttr(ctx, "namespace")
	if err != nil {
		return nil, fmt.Errorf("classic: namespace: %w", err)
	}
	ref, ok := v.(*netref.Ref)
	if !ok {
		return nil, fmt.Errorf("classic: namespace is a %T, not a remote dict", v)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.namespace == nil {
		c.namespace = ref
	} else if c.namespace != ref {
		ref.Release()
	}
	return c.namespace, nil
}

// Eval evaluates a Python expression in the server's namespace (Python's conn.eval) and returns
// its value: a Go value for the immutable types brine carries (None, bool, int, float, complex,
// str, bytes, tuples of those, frozenset, slice), a *netref.Ref for anything else (lists, dicts,
// objects), which [Obtain] copies by value. A Python exception is returned as an error holding a
// *protocol.RemoteError with the remote traceback.
func (c *Client) Eval(ctx context.Context, expr string) (any, error) {
	v, err := c.root.CallMethod(ctx, "eval", expr)
	if err != nil {
		return nil, fmt.Errorf("classic: eval: %w", err)
	}
	return v, nil
}

// EvalAs evaluates expr like [Client.Eval] and converts the result to T with [ObtainAs]
// (a remote list, dict or set is copied by pickle, then released).
func EvalAs[T any](ctx context.Context, c *Client, expr string) (T, error) {
	v, err := c.Eval(ctx, expr)
	if err != nil {
		var zero T
		return zero, err
	}
	if r, ok := v.(*netref.Ref); ok {
		if _, wantRef := any((*T)(nil)).(**netref.Ref); !wantRef {
			defer r.Release()
		}
	}
	return ObtainAs[T](ctx, v)
}

// Execute runs Python statements in the server's namespace (Python's conn.execute). Definitions
// and assignments stay in the namespace for later calls.
func (c *Client) Execute(ctx context.Context, code string) error {
	if _, err := c.root.CallMethod(ctx, "execute", code); err != nil {
		return fmt.Errorf("classic: execute: %w", err)
	}
	return nil
}
