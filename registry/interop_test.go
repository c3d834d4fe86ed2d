//go:build unix

package registry

// Live interop tests against Python rpyc's registry servers and clients (rpyc 5.3.0 and 6.0.1,
// through internal/interop), all on 127.0.0.1. The Python side runs tox-interop/registry_*.py.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/internal/interop"
)

const pyStartTimeout = 30 * time.Second

// startPyRegistry runs Python's rpyc_registry command (tox-interop/registry_server.py, bound to
// 127.0.0.1) with args and returns its address.
func startPyRegistry(t *testing.T, p interop.Peer, args ...string) string {
	t.Helper()
	proc := p.Start(t, "registry_server.py", args...)
	addr, err := proc.WaitListening(pyStartTimeout)
	if err != nil {
		t.Fatalf("registry_server.py: %v", err)
	}
	return addr
}

// pyResult is one line of registry_client.py's output.
type pyResult struct {
	Op     string `json:"op"`
	Result any    `json:"result"`
	Error  string `json:"error"`
}

// runPyClient runs registry_client.py with the given operations and returns one result per op.
func runPyClient(t *testing.T, p interop.Peer, mode, addr string, ops ...string) []pyResult {
	t.Helper()
	out := p.Run(t, "registry_client.py", append([]string{"--mode", mode, "--addr", addr}, ops...)...)
	var res []pyResult
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var r pyResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("registry_client.py printed %q: %v", line, err)
		}
		res = append(res, r)
	}
	return res
}

// expect is the expected outcome of one Python operation: a JSON result, or an error prefix.
type expect struct {
	result string // JSON of the result
	err    string // prefix of the error ("DiscoveryError")
}

func checkPy(t *testing.T, got []pyResult, want []expect) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d results, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if w.err != "" {
			if !strings.HasPrefix(g.Error, w.err) {
				t.Errorf("op %d (%s): error %q result %v, want error %s", i, g.Op, g.Error, g.Result, w.err)
			}
			continue
		}
		var wv any
		if err := json.Unmarshal([]byte(w.result), &wv); err != nil {
			t.Fatalf("bad expectation %q", w.result)
		}
		if g.Error != "" || !reflect.DeepEqual(g.Result, wv) {
			t.Errorf("op %d (%s): got %v (error %q), want %s", i, g.Op, g.Result, g.Error, w.result)
		}
	}
}

func ok(jsonText string) expect  { return expect{result: jsonText} }
func fails(prefix string) expect { return expect{err: prefix} }

// TestRegistryInteropPythonClients: Python's UDPRegistryClient and TCPRegistryClient, and the
// rpyc.discover/list_services helpers, against the Go registry.
func TestRegistryInteropPythonClients(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		for _, mode := range []string{"udp", "tcp"} {
			t.Run(mode, func(t *testing.T) {
				addr := serve(t, &Server{AllowListing: true}, mode)
				got := runPyClient(t, p, mode, addr,
					"register", "foo,Bar", "18812",
					"discover", "FOO",
					"discover", "bar",
					"discover", "nope",
					"list", "-",
					"list", "127.0.0.1",
					"list", "10.9.9.9",
					"rpyc-discover", "Foo",
					"rpyc-discover", "nope",
					"rpyc-list", "-",
					"unregister", "18812",
					"sleep", "0.2",
					"discover", "foo",
				)
				checkPy(t, got, []expect{
					ok(`true`),
					ok(`[["127.0.0.1", 18812]]`),
					ok(`[["127.0.0.1", 18812]]`),
					ok(`[]`),
					ok(`["FOO", "BAR"]`),
					ok(`["FOO", "BAR"]`),
					ok(`[]`),
					ok(`[["127.0.0.1", 18812]]`),
					fails("DiscoveryError"),
					ok(`["FOO", "BAR"]`),
					ok(`null`),
					ok(`null`),
					ok(`[]`),
				})

				// Listing disabled: None, which rpyc.list_services turns into ForbiddenError.
				addr = serve(t, &Server{}, mode)
				checkPy(t, runPyClient(t, p, mode, addr, "list", "-", "rpyc-list", "-"),
					[]expect{ok(`null`), fails("ForbiddenError")})
			})
		}
	})
}

// TestRegistryInteropGoClients: the Go clients against Python's registry command, UDP and TCP.
func TestRegistryInteropGoClients(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		for _, mode := range []string{"UDP", "tcp"} {
			t.Run(mode, func(t *testing.T) {
				addr := startPyRegistry(t, p, "--mode", mode, "-p", "0", "--listing", "yes")
				var c Registrar = &UDPClient{Addr: addr, Interface: "127.0.0.1", Timeout: ioTimeout}
				if mode == "tcp" {
					c = &TCPClient{Addr: addr, Interface: "127.0.0.1", Timeout: ioTimeout}
				}
				testClient(t, c)

				addr = startPyRegistry(t, p, "-m", mode, "-p", "0")
				c = &UDPClient{Addr: addr, Timeout: ioTimeout}
				if mode == "tcp" {
					c = &TCPClient{Addr: addr, Timeout: ioTimeout}
				}
				if _, err := c.List(ctxTimeout(t, ioTimeout), ""); !errors.Is(err, ErrListingDisabled) {
					t.Fatalf("List against a registry without listing: %v, want ErrListingDisabled", err)
				}
			})
		}
	})
}

// TestRegistryInteropPruning: entries vanish after the pruning timeout, on both sides.
func TestRegistryInteropPruning(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		t.Run("python-registry", func(t *testing.T) {
			addr := startPyRegistry(t, p, "-m", "UDP", "-p", "0", "-t", "1")
			c := &UDPClient{Addr: addr, Interface: "127.0.0.1", Timeout: ioTimeout}
			ctx := ctxTimeout(t, 20*time.Second)
			if err := c.Register(ctx, []string{"SHORT"}, 1234); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Discover(ctx, "short"); err != nil {
				t.Fatalf("Discover right after Register: %v", err)
			}
			time.Sleep(1500 * time.Millisecond)
			if eps, err := c.Discover(ctx, "short"); !errors.Is(err, ErrServiceNotFound) {
				t.Fatalf("Discover after the pruning timeout = %v, %v; want ErrServiceNotFound", eps, err)
			}
		})
		t.Run("go-registry", func(t *testing.T) {
			addr := serve(t, &Server{PruneTimeout: time.Second, AllowListing: true}, "udp")
			checkPy(t, runPyClient(t, p, "udp", addr,
				"register", "short", "1234",
				"discover", "short",
				"sleep", "1.5",
				"discover", "short",
				"list", "-",
			), []expect{ok(`true`), ok(`[["127.0.0.1", 1234]]`), ok(`null`), ok(`[]`), ok(`[]`)})
		})
	})
}

// wireCase is one raw request, sent to Python's and Go's registries alike.
type wireCase struct {
	name string
	req  []byte
}

func wireCases(t *testing.T) []wireCase {
	enc := func(v ...any) []byte {
		b, err := brine.Dump(brine.Tuple(v))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	T := func(v ...any) brine.Tuple { return brine.Tuple(v) }
	return []wireCase{
		{"golden REGISTER", unhex(t, goldenRegister)},
		{"REGISTER baz", enc("RPYC", "REGISTER", T(T("baz"), int64(18813)))},
		{"golden QUERY", unhex(t, goldenQuery)},
		{"QUERY Baz", enc("RPYC", "QUERY", T("Baz"))},
		{"REGISTER straße", enc("RPYC", "REGISTER", T(T("straße", "ﬁx"), int64(1)))},
		{"QUERY STRASSE", enc("RPYC", "QUERY", T("STRASSE"))},
		{"QUERY fix", enc("RPYC", "QUERY", T("fix"))},
		{"golden LIST", unhex(t, goldenList)},
		{"LIST by host", enc("RPYC", "LIST", T(T("127.0.0.1")))},
		{"LIST other host", enc("RPYC", "LIST", T(T("10.1.1.1")))},
		{"LIST empty filter", enc("RPYC", "LIST", T(T("")))},
		{"LIST filter 0", enc("RPYC", "LIST", T(T(int64(0))))},
		{"LIST filter 7", enc("RPYC", "LIST", T(T(int64(7))))},
		{"lower-case list", enc("RPYC", "list", T(T(nil)))},
		{"REGISTER unix path", enc("RPYC", "REGISTER", T(T("unix"), "/tmp/x.sock"))},
		{"QUERY unix", enc("RPYC", "QUERY", T("unix"))},
		{"QUERY bytes", enc("RPYC", "QUERY", T([]byte("foo")))},
		{"QUERY trailing bytes", append(unhex(t, goldenQuery), 0xff, 0x00)},
		{"UNREGISTER 18812", enc("RPYC", "UNREGISTER", T(int64(18812)))},
		{"QUERY after UNREGISTER", unhex(t, goldenQuery)},
		{"LIST after UNREGISTER", unhex(t, goldenList)},
		{"UNREGISTER unknown", unhex(t, goldenUnregister)},
		// No reply from either.
		{"bytes magic", enc([]byte("RPYC"), "QUERY", T("foo"))},
		{"unknown command", enc("RPYC", "DELETE", T("foo"))},
		{"QUERY two args", enc("RPYC", "QUERY", T("a", "b"))},
		{"QUERY int", enc("RPYC", "QUERY", T(int64(5)))},
		{"LIST two args", enc("RPYC", "LIST", T(T(nil), nil))},
		{"garbage", []byte("hello")},
		{"truncated", unhex(t, goldenQuery)[:7]},
	}
}

// TestRegistryInteropWire sends the same raw requests to Python's UDP registry and to the Go
// one, and compares the replies byte for byte (including "no reply").
func TestRegistryInteropWire(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		pyAddr := startPyRegistry(t, p, "-m", "UDP", "-p", "0", "-l", "true")
		goAddr := serve(t, &Server{AllowListing: true}, "udp")
		for _, c := range wireCases(t) {
			py := udpExchange(t, pyAddr, c.req)
			gov := udpExchange(t, goAddr, c.req)
			if !bytes.Equal(py, gov) {
				t.Errorf("%s: Python replied %x, Go %x", c.name, py, gov)
			} else {
				t.Logf("%-24s %x", c.name, py)
			}
		}
		// The one deliberate difference: LIST () (rpyc 5.1 clients) gets an answer from Go.
		list51 := unhex(t, "12 080d52505943 080d4c495354 02")
		if py := udpExchange(t, pyAddr, list51); py != nil {
			t.Errorf("Python %s answered LIST (): %x", p.Version, py)
		}
		if gov := udpExchange(t, goAddr, list51); len(gov) == 0 {
			t.Errorf("Go did not answer LIST ()")
		}
	})
}

// TestRegistryInteropTCPWire compares TCP replies of both registries for requests that get one
// (Python's TCP server never closes a connection whose request it ignored).
func TestRegistryInteropTCPWire(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		pyAddr := startPyRegistry(t, p, "-m", "TCP", "-p", "0", "-l", "1")
		goAddr := serve(t, &Server{AllowListing: true}, "tcp")
		for _, c := range wireCases(t) {
			gov := tcpExchange(t, goAddr, 0, c.req)
			if len(gov) == 0 {
				continue
			}
			py := tcpExchange(t, pyAddr, 0, c.req)
			if !bytes.Equal(py, gov) {
				t.Errorf("%s: Python replied %x, Go %x", c.name, py, gov)
			}
		}
	})
}

// TestRegistryInteropPythonServer: a Python ThreadedServer with auto_register=True registers
// with the Go registry (UDP and TCP registrars), and unregisters when it closes.
func TestRegistryInteropPythonServer(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		for _, mode := range []string{"udp", "tcp"} {
			t.Run(mode, func(t *testing.T) {
				log, logs := testLogger(t)
				addr := serve(t, &Server{Logger: log}, mode)
				port := addr[strings.LastIndex(addr, ":")+1:]
				proc := p.Start(t, "registry_service.py", "--registry-port", port, "--mode", mode,
					"--alias", "calc", "--alias", "Adder")
				svc, err := proc.WaitListening(pyStartTimeout)
				if err != nil {
					t.Fatal(err)
				}
				var c Registrar = &UDPClient{Addr: addr, Timeout: ioTimeout}
				if mode == "tcp" {
					c = &TCPClient{Addr: addr, Timeout: ioTimeout}
				}
				ctx := ctxTimeout(t, 30*time.Second)
				want := fmt.Sprintf("[%s]", svc)
				waitFor(t, func() (string, error) {
					eps, err := c.Discover(ctx, "adder")
					return fmt.Sprint(eps), err
				}, want)
				if eps, err := c.Discover(ctx, "CALC"); err != nil || fmt.Sprint(eps) != want {
					t.Fatalf("Discover(CALC) = %v, %v", eps, err)
				}
				if err := proc.Stdin.Close(); err != nil {
					t.Fatal(err)
				}
				if line, err := proc.ReadLine(pyStartTimeout); err != nil || line != "CLOSED" {
					t.Fatalf("registry_service.py: %q, %v", line, err)
				}
				waitFor(t, func() (string, error) {
					_, err := c.Discover(ctx, "adder")
					if errors.Is(err, ErrServiceNotFound) {
						return "gone", nil
					}
					return "", err
				}, "gone")
				if !strings.Contains(logs.String(), `names="[CALC ADDER]"`) {
					t.Errorf("the registry did not log the Python server's REGISTER")
				}
			})
		}
	})
}

// waitFor polls f until it returns want (or fails after a while).
func waitFor(t *testing.T, f func() (string, error), want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := f()
		if err == nil && got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
