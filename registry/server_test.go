package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/brine"
)

// fakeClock is a settable clock for the server.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// handler drives a Server's request handler directly, with a fake clock.
type handler struct {
	t     *testing.T
	s     *Server
	clock *fakeClock
}

func newHandler(t *testing.T, s *Server) *handler {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	if s.Logger == nil {
		s.Logger, _ = testLogger(t)
	}
	s.now = clock.now
	s.init()
	return &handler{t: t, s: s, clock: clock}
}

// do sends a request (cmd, args) from ip and returns the decoded reply, or errNoReply.
func (h *handler) do(ip string, cmd string, args brine.Tuple) (any, error) {
	h.t.Helper()
	req, err := brine.Dump(brine.Tuple{Magic, cmd, args})
	if err != nil {
		h.t.Fatal(err)
	}
	return h.raw(ip, req, udpLimits)
}

var errNoReply = errors.New("no reply")

func (h *handler) raw(ip string, req []byte, limits replyLimits) (any, error) {
	h.t.Helper()
	reply, ok := h.s.handle(nil, req, ip, limits)
	if !ok {
		return nil, errNoReply
	}
	v, err := brine.Load(reply)
	if err != nil {
		h.t.Fatalf("reply %x does not decode: %v", reply, err)
	}
	return v, nil
}

func (h *handler) want(ip, cmd string, args brine.Tuple, want any) {
	h.t.Helper()
	got, err := h.do(ip, cmd, args)
	if err != nil {
		h.t.Fatalf("%s %v: %v", cmd, args, err)
	}
	if !brine.Equal(got, want) {
		h.t.Fatalf("%s %v from %s = %#v, want %#v", cmd, args, ip, got, want)
	}
}

func (h *handler) wantNoReply(ip, cmd string, args brine.Tuple) {
	h.t.Helper()
	if got, err := h.do(ip, cmd, args); err == nil {
		h.t.Fatalf("%s %v answered %#v, want no reply", cmd, args, got)
	}
}

func names(ns ...string) brine.Tuple {
	t := brine.Tuple{}
	for _, n := range ns {
		t = append(t, n)
	}
	return t
}

func ep(ip string, port int64) brine.Tuple { return brine.Tuple{ip, port} }

func TestRegistryCommands(t *testing.T) {
	h := newHandler(t, &Server{AllowListing: true})
	const a, b = "10.0.0.1", "10.0.0.2"
	h.want(a, "REGISTER", brine.Tuple{names("foo", "Bar"), int64(18812)}, "OK")
	h.clock.advance(time.Second)
	h.want(b, "register", brine.Tuple{names("FOO"), int64(18813)}, "OK")
	h.clock.advance(time.Second)
	// Oldest registration first.
	h.want(b, "QUERY", brine.Tuple{"Foo"}, brine.Tuple{ep(a, 18812), ep(b, 18813)})
	// Re-registering refreshes the time stamp, so a moves behind b.
	h.want(a, "REGISTER", brine.Tuple{names("FOO"), int64(18812)}, "OK")
	h.want(b, "query", brine.Tuple{"foo"}, brine.Tuple{ep(b, 18813), ep(a, 18812)})
	h.want(a, "QUERY", brine.Tuple{"nothing"}, brine.Tuple{})
	h.want(a, "QUERY", brine.Tuple{[]byte("foo")}, brine.Tuple{}) // Python: b"FOO" is no str key
	// A unix-socket server registers its path as the port.
	h.want("", "REGISTER", brine.Tuple{names("sock"), "/tmp/rpyc.sock"}, "OK")
	h.want(a, "QUERY", brine.Tuple{"SOCK"}, brine.Tuple{brine.Tuple{"", "/tmp/rpyc.sock"}})

	// LIST: insertion order, host filter, 5.1 layout, falsy and non-str filters.
	h.want(a, "LIST", brine.Tuple{brine.Tuple{nil}}, names("FOO", "BAR", "SOCK"))
	h.want(a, "LIST", brine.Tuple{brine.Tuple{b}}, names("FOO"))
	h.want(a, "LIST", brine.Tuple{brine.Tuple{"10.9.9.9"}}, brine.Tuple{})
	h.want(a, "LIST", brine.Tuple{}, names("FOO", "BAR", "SOCK"))
	h.want(a, "LIST", brine.Tuple{brine.Tuple{""}}, names("FOO", "BAR", "SOCK"))
	h.want(a, "LIST", brine.Tuple{brine.Tuple{int64(0)}}, names("FOO", "BAR", "SOCK"))
	h.want(a, "LIST", brine.Tuple{brine.Tuple{int64(7)}}, brine.Tuple{})
	h.want(a, "LIST", brine.Tuple{brine.Tuple{a, "extra"}}, names("FOO", "BAR"))

	// UNREGISTER removes (sender IP, port) under every name; another sender's entry stays.
	h.want(b, "UNREGISTER", brine.Tuple{int64(18812)}, "OK")
	h.want(a, "QUERY", brine.Tuple{"FOO"}, brine.Tuple{ep(b, 18813), ep(a, 18812)})
	h.want(a, "UNREGISTER", brine.Tuple{int64(18812)}, "OK")
	h.want(a, "QUERY", brine.Tuple{"FOO"}, brine.Tuple{ep(b, 18813)})
	h.want(a, "QUERY", brine.Tuple{"BAR"}, brine.Tuple{})
	h.want(a, "LIST", brine.Tuple{brine.Tuple{nil}}, names("FOO", "SOCK"))
	// A name that comes back goes to the end of the listing, as in a Python dict.
	h.want(a, "REGISTER", brine.Tuple{names("bar"), int64(1)}, "OK")
	h.want(a, "LIST", brine.Tuple{brine.Tuple{nil}}, names("FOO", "SOCK", "BAR"))
	h.want(a, "UNREGISTER", brine.Tuple{int64(999)}, "OK") // nothing to remove: still OK
	h.want(a, "REGISTER", brine.Tuple{names(), int64(5)}, "OK")
	h.want(a, "REGISTER", brine.Tuple{brine.FrozenSet{"fs"}, int64(5)}, "OK")
	h.want(a, "QUERY", brine.Tuple{"fs"}, brine.Tuple{ep(a, 5)})
	// Python's str.upper on both sides.
	h.want(a, "REGISTER", brine.Tuple{names("straße"), int64(6)}, "OK")
	h.want(a, "QUERY", brine.Tuple{"STRASSE"}, brine.Tuple{ep(a, 6)})

	// Listing disabled: None, whatever the (well-counted) arguments.
	h.s.AllowListing = false
	h.want(a, "LIST", brine.Tuple{brine.Tuple{nil}}, nil)
	h.want(a, "LIST", brine.Tuple{}, nil)
	h.want(a, "LIST", brine.Tuple{int64(5)}, nil)
}

func TestRegistryBadArguments(t *testing.T) {
	h := newHandler(t, &Server{AllowListing: true})
	const a = "10.0.0.1"
	for _, c := range []struct {
		cmd  string
		args brine.Tuple
	}{
		{"REGISTER", brine.Tuple{names("x")}},
		{"REGISTER", brine.Tuple{names("x"), int64(1), int64(2)}},
		{"REGISTER", brine.Tuple{"x", int64(1)}},
		{"REGISTER", brine.Tuple{brine.Tuple{"x", int64(3)}, int64(1)}},
		{"REGISTER", brine.Tuple{names("x"), nil}},
		{"REGISTER", brine.Tuple{names("x"), 1.5}},
		{"UNREGISTER", brine.Tuple{}},
		{"UNREGISTER", brine.Tuple{brine.Tuple{}}},
		{"QUERY", brine.Tuple{}},
		{"QUERY", brine.Tuple{int64(1)}},
		{"QUERY", brine.Tuple{"x", "y"}},
		{"LIST", brine.Tuple{brine.Tuple{}}},
		{"LIST", brine.Tuple{"abc"}},
		{"LIST", brine.Tuple{brine.Tuple{nil}, nil}},
	} {
		h.wantNoReply(a, c.cmd, c.args)
	}
	// Nothing was registered by the refused REGISTERs.
	h.want(a, "LIST", brine.Tuple{brine.Tuple{nil}}, brine.Tuple{})
}

func TestRegistryPruning(t *testing.T) {
	h := newHandler(t, &Server{AllowListing: true, PruneTimeout: 10 * time.Second})
	const a = "10.0.0.1"
	h.want(a, "REGISTER", brine.Tuple{names("old", "both"), int64(1)}, "OK")
	h.clock.advance(5 * time.Second)
	h.want(a, "REGISTER", brine.Tuple{names("new", "both"), int64(2)}, "OK")
	h.clock.advance(5 * time.Second)
	// Exactly the timeout: still alive (Python drops only older entries).
	h.want(a, "QUERY", brine.Tuple{"old"}, brine.Tuple{ep(a, 1)})
	h.clock.advance(time.Nanosecond)
	h.want(a, "QUERY", brine.Tuple{"old"}, brine.Tuple{})
	h.want(a, "QUERY", brine.Tuple{"both"}, brine.Tuple{ep(a, 2)})
	// LIST leaves out names with nothing alive (Python would still list them).
	h.clock.advance(5 * time.Second)
	h.want(a, "LIST", brine.Tuple{brine.Tuple{nil}}, brine.Tuple{})
	if n, e := h.s.tab.counts(); n != 0 || e != 0 {
		t.Errorf("table holds %d names, %d entries after LIST; want none", n, e)
	}
	// The sweep drops everything stale without a QUERY.
	h.want(a, "REGISTER", brine.Tuple{names("x", "y"), int64(3)}, "OK")
	h.clock.advance(11 * time.Second)
	if n := h.s.tab.prune(h.clock.now()); n != 2 {
		t.Errorf("prune dropped %d entries, want 2", n)
	}
	if n, e := h.s.tab.counts(); n != 0 || e != 0 {
		t.Errorf("table holds %d names, %d entries after prune; want none", n, e)
	}
	if got := len(h.s.tab.byEndpoint); got != 0 {
		t.Errorf("reverse index holds %d endpoints after prune", got)
	}

	// A negative timeout, like Python's -t -1, makes everything stale at once.
	h2 := newHandler(t, &Server{PruneTimeout: -time.Second})
	h2.want(a, "REGISTER", brine.Tuple{names("x"), int64(3)}, "OK")
	h2.want(a, "QUERY", brine.Tuple{"x"}, brine.Tuple{})
}

// TestRegistryReplyLimits checks that replies never exceed what Python clients read, and what
// is kept when they would.
func TestRegistryReplyLimits(t *testing.T) {
	h := newHandler(t, &Server{AllowListing: true})
	const n = 200
	for i := range n {
		h.want(fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), "REGISTER", brine.Tuple{names("popular"), int64(20000 + i)}, "OK")
		h.clock.advance(time.Millisecond)
	}
	req, _ := brine.Dump(brine.Tuple{Magic, "QUERY", brine.Tuple{"popular"}})
	for _, limits := range []replyLimits{udpLimits, tcpLimits} {
		reply, ok := h.s.handle(nil, req, "1.2.3.4", limits)
		if !ok || len(reply) > MaxDatagramSize {
			t.Fatalf("QUERY reply: %d bytes, ok %v; want <= %d", len(reply), ok, MaxDatagramSize)
		}
		v, err := brine.Load(reply)
		if err != nil {
			t.Fatal(err)
		}
		eps := v.(brine.Tuple)
		if len(eps) < 50 || len(eps) >= n {
			t.Fatalf("QUERY reply holds %d endpoints", len(eps))
		}
		// The newest are kept, oldest first.
		for i, e := range eps {
			want := int64(20000 + n - len(eps) + i)
			if got := e.(brine.Tuple)[1]; got != want {
				t.Fatalf("endpoint %d has port %v, want %d", i, got, want)
			}
		}
		// And nothing more would have fitted.
		if extra := len(reply) + 26; extra <= MaxDatagramSize-3 {
			t.Errorf("reply of %d bytes has room for more", len(reply))
		}
	}

	for i := range 3000 {
		h.want("10.1.1.1", "REGISTER", brine.Tuple{names(fmt.Sprintf("service-%04d", i)), int64(1)}, "OK")
	}
	lreq, _ := brine.Dump(brine.Tuple{Magic, "LIST", brine.Tuple{brine.Tuple{nil}}})
	for _, c := range []struct {
		limits replyLimits
		max    int
	}{{udpLimits, MaxListReplySize}, {tcpLimits, MaxDatagramSize}} {
		reply, ok := h.s.handle(nil, lreq, "1.2.3.4", c.limits)
		if !ok || len(reply) > c.max || len(reply) < c.max-20 {
			t.Fatalf("LIST reply: %d bytes, ok %v; want just under %d", len(reply), ok, c.max)
		}
		v, err := brine.Load(reply)
		if err != nil {
			t.Fatal(err)
		}
		got := v.(brine.Tuple)
		if got[0] != "POPULAR" || got[1] != "SERVICE-0000" {
			t.Fatalf("LIST reply starts %v, want the first names registered", got[:2])
		}
	}
}

func TestRegistryTupleHeader(t *testing.T) {
	for _, n := range []int{0, 1, 4, 5, 255, 256, 70000} {
		tup := make(brine.Tuple, n)
		full, err := brine.Dump(tup)
		if err != nil {
			t.Fatal(err)
		}
		hdr := appendTupleHeader(nil, n)
		if !bytes.Equal(full[:len(hdr)], hdr) || len(full)-n != len(hdr) {
			t.Errorf("header for %d items = %x, brine has %x", n, hdr, full[:len(full)-n])
		}
		if n > 0 && tupleHeader(n) != len(hdr) {
			t.Errorf("tupleHeader(%d) = %d, want %d", n, tupleHeader(n), len(hdr))
		}
	}
}

// TestRegistryServerUDP runs a real UDP server with the Go UDP client.
func TestRegistryServerUDP(t *testing.T) {
	addr := serve(t, &Server{AllowListing: true}, "udp")
	c := &UDPClient{Addr: addr, Interface: "127.0.0.1", Timeout: ioTimeout}
	testClient(t, c)
}

// TestRegistryServerTCP runs a real TCP server with the Go TCP client.
func TestRegistryServerTCP(t *testing.T) {
	addr := serve(t, &Server{AllowListing: true}, "tcp")
	c := &TCPClient{Addr: addr, Interface: "127.0.0.1", Timeout: ioTimeout}
	testClient(t, c)
}

func testClient(t *testing.T, c Registrar) {
	t.Helper()
	ctx := ctxTimeout(t, 20*time.Second)
	if err := c.Register(ctx, []string{"foo", "Bar"}, 18812); err != nil {
		t.Fatalf("Register: %v", err)
	}
	got, err := c.Discover(ctx, "FOO")
	if err != nil || !slices.Equal(got, []Endpoint{{"127.0.0.1", 18812}}) {
		t.Fatalf("Discover = %v, %v", got, err)
	}
	if got[0].String() != "127.0.0.1:18812" {
		t.Errorf("Endpoint.String() = %q", got[0].String())
	}
	if _, err := c.Discover(ctx, "nothing"); !errors.Is(err, ErrServiceNotFound) {
		t.Fatalf("Discover(nothing) error = %v, want ErrServiceNotFound", err)
	}
	list, err := c.List(ctx, "")
	if err != nil || !slices.Equal(list, []string{"FOO", "BAR"}) {
		t.Fatalf("List = %v, %v", list, err)
	}
	list, err = c.List(ctx, "127.0.0.1")
	if err != nil || !slices.Equal(list, []string{"FOO", "BAR"}) {
		t.Fatalf("List(127.0.0.1) = %v, %v", list, err)
	}
	list, err = c.List(ctx, "10.1.2.3")
	if err != nil || len(list) != 0 {
		t.Fatalf("List(10.1.2.3) = %v, %v", list, err)
	}
	if err := c.Unregister(ctx, 18812); err != nil {
		t.Fatalf("Unregister: %v", err)
	}
	// UNREGISTER is not acknowledged: poll until it took effect.
	deadline := time.Now().Add(ioTimeout)
	for {
		_, err := c.Discover(ctx, "foo")
		if errors.Is(err, ErrServiceNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after Unregister, Discover error = %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRegistryListingDisabled(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			addr := serve(t, &Server{}, network)
			var c Registrar = &UDPClient{Addr: addr}
			if network == "tcp" {
				c = &TCPClient{Addr: addr}
			}
			if _, err := c.List(ctxTimeout(t, ioTimeout), ""); !errors.Is(err, ErrListingDisabled) {
				t.Fatalf("List error = %v, want ErrListingDisabled", err)
			}
		})
	}
}

// TestRegistryMalformedDatagrams sends junk to a UDP server; it logs, sends nothing back, and
// goes on serving.
func TestRegistryMalformedDatagrams(t *testing.T) {
	log, logs := testLogger(t)
	addr := serve(t, &Server{Logger: log}, "udp")
	reg, _ := appendRequest(nil, CmdRegister, registerArgs([]string{"ok"}, 7))
	if got := udpExchange(t, addr, reg); !bytes.Equal(got, unhex(t, goldenOK)) {
		t.Fatalf("REGISTER reply %x", got)
	}
	big := append(append([]byte{}, unhex(t, goldenQuery)...), make([]byte, 4000)...)
	exact := append(append([]byte{}, unhex(t, goldenQuery)...), make([]byte, MaxDatagramSize+1-len(unhex(t, goldenQuery)))...)
	bytesMagic, _ := brine.Dump(brine.Tuple{[]byte("RPYC"), "QUERY", brine.Tuple{"ok"}})
	for name, d := range map[string][]byte{
		"empty":         {},
		"garbage":       []byte("GET / HTTP/1.0\r\n\r\n"),
		"unknown tag":   {0xff, 0xfe},
		"truncated":     unhex(t, goldenQuery)[:8],
		"oversized":     big,
		"1501 bytes":    exact,
		"bytes magic":   bytesMagic,
		"deep nesting":  bytes.Repeat([]byte{0x10}, 1400),
		"huge length":   {0x12, 0x08, 0x0f, 0xff, 0xff, 0xff, 0xff},
		"bad arguments": unhex(t, "12 080d52505943 080e055155455259 10 51"),
	} {
		if got := udpExchange(t, addr, d); got != nil {
			t.Errorf("%s: got reply %x, want none", name, got)
		}
	}
	if got := udpExchange(t, addr, unhex(t, goldenQuery)); len(got) == 0 {
		t.Fatal("server stopped answering after malformed datagrams")
	}
	q, _ := appendRequest(nil, CmdQuery, brine.Tuple{"ok"})
	if got := udpExchange(t, addr, q); !bytes.Equal(got, unhex(t, "10 11 080e093132372e302e302e31 57")) {
		t.Fatalf("QUERY ok reply %x", got)
	}
	for _, want := range []string{"request larger than 1500 bytes", "invalid magic", "bad arguments", "truncated"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// TestRegistryMalformedTCP sends junk, partial, split and oversized requests to a TCP server.
func TestRegistryMalformedTCP(t *testing.T) {
	log, logs := testLogger(t)
	addr := serve(t, &Server{Logger: log, TCPTimeout: 500 * time.Millisecond}, "tcp")
	reg, _ := appendRequest(nil, CmdRegister, registerArgs([]string{"ok"}, 7))
	q := unhex(t, goldenQuery)
	okReply := unhex(t, "10 11 080e093132372e302e302e31 57")
	if got := tcpExchange(t, addr, 0, reg); !bytes.Equal(got, unhex(t, goldenOK)) {
		t.Fatalf("REGISTER reply %x", got)
	}
	// Split across segments (Python's registry gives up on this; Go reads on).
	qok, _ := appendRequest(nil, CmdQuery, brine.Tuple{"ok"})
	if got := tcpExchange(t, addr, 50*time.Millisecond, qok[:3], qok[3:9], qok[9:]); !bytes.Equal(got, okReply) {
		t.Fatalf("split QUERY reply %x, want %x", got, okReply)
	}
	for name, chunks := range map[string][][]byte{
		"garbage":          {[]byte("GET / HTTP/1.0\r\n\r\n")},
		"partial then EOF": {q[:5]},
		"nothing":          {},
		"oversized":        {append([]byte{0x12, 0x08, 0x0f, 0, 0, 0x10, 0}, make([]byte, 2000)...)},
		"bytes magic":      {unhex(t, "12 0d52505943 080e055155455259 10 080c666f6f")},
	} {
		if got := tcpExchange(t, addr, 0, chunks...); len(got) != 0 {
			t.Errorf("%s: got reply %x, want none", name, got)
		}
	}
	// A client that sends half a request and waits is cut off after TCPTimeout.
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write(q[:4])
	_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
	start := time.Now()
	if n, err := c.Read(make([]byte, 10)); err == nil || n != 0 {
		t.Fatalf("slow client read %d bytes, %v; want EOF", n, err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("slow client cut off after %v, want about 500ms", el)
	}
	if got := tcpExchange(t, addr, 0, qok); !bytes.Equal(got, okReply) {
		t.Fatalf("QUERY after junk: %x", got)
	}
	for _, want := range []string{"request larger than 1500 bytes", "incomplete request", "invalid magic"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// TestRegistryMaxTCPConns: with the table full of idle connections, a new one waits until the
// oldest has been idle for TCPEvictIdle, evicts it and is answered; it is never refused.
func TestRegistryMaxTCPConns(t *testing.T) {
	log, logs := testLogger(t)
	const idle = 300 * time.Millisecond
	addr := serve(t, &Server{Logger: log, MaxTCPConns: 2, TCPEvictIdle: idle, TCPTimeout: 5 * time.Second}, "tcp")
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp4", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
		time.Sleep(20 * time.Millisecond) // held[0] is the oldest
	}
	start := time.Now()
	if got := tcpExchange(t, addr, 0, unhex(t, goldenQuery)); !bytes.Equal(got, unhex(t, goldenEmpty)) {
		t.Fatalf("third connection: reply %x, want %s", got, goldenEmpty)
	}
	if el := time.Since(start); el < idle-50*time.Millisecond || el > 3*time.Second {
		t.Errorf("third connection answered after %v, want about %v", el, idle)
	}
	// The oldest was evicted, the other one is still open.
	_ = held[0].SetReadDeadline(time.Now().Add(ioTimeout))
	if n, err := held[0].Read(make([]byte, 1)); err == nil {
		t.Errorf("the oldest idle connection was not evicted (read %d bytes)", n)
	}
	_ = held[1].SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := held[1].Read(make([]byte, 1)); !isTimeout(err) {
		t.Errorf("the newer idle connection was closed too: %v", err)
	}
	if !strings.Contains(logs.String(), "evicted a stalled connection") {
		t.Errorf("log lacks the eviction")
	}
}

// TestRegistryShutdown checks the server's lifecycle: Shutdown waits for a TCP exchange in
// progress or cuts it when its context ends, every goroutine ends, and a closed server refuses
// to serve again.
func TestRegistryShutdown(t *testing.T) {
	s := &Server{TCPTimeout: time.Minute}
	s.Logger, _ = testLogger(t)
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	go func() { errs <- s.ServePacket(udp) }()
	go func() { errs <- s.Serve(l) }()
	// Both share one table.
	reg, _ := appendRequest(nil, CmdRegister, registerArgs([]string{"shared"}, 9))
	deadline := time.Now().Add(ioTimeout)
	for udpExchange(t, udp.LocalAddr().String(), reg) == nil {
		if time.Now().After(deadline) {
			t.Fatal("UDP server does not answer")
		}
	}
	qs, _ := appendRequest(nil, CmdQuery, brine.Tuple{"shared"})
	if got := tcpExchange(t, l.Addr().String(), 0, qs); !bytes.Equal(got, unhex(t, "10 11 080e093132372e302e302e31 59")) {
		t.Fatalf("TCP QUERY of a name registered over UDP: %x", got)
	}
	// A stalled TCP client holds a handler.
	stalled, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	_, _ = stalled.Write([]byte{0x12})
	time.Sleep(50 * time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded (a stalled connection)", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("Shutdown took %v", el)
	}
	for range 2 {
		select {
		case err := <-errs:
			if err != ErrServerClosed {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
		case <-time.After(ioTimeout):
			t.Fatal("Serve did not return")
		}
	}
	checkNoLeaks(t)
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after Shutdown = %v", err)
	}
	if err := s.ListenAndServe(); err != ErrServerClosed {
		t.Errorf("ListenAndServe after Shutdown = %v", err)
	}
	pc, _ := net.ListenPacket("udp4", "127.0.0.1:0")
	if err := s.ServePacket(pc); err != ErrServerClosed {
		t.Errorf("ServePacket after Shutdown = %v", err)
	}
	if _, err := pc.WriteTo([]byte{0}, udp.LocalAddr()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("ServePacket after Shutdown left its conn open (%v)", err)
	}
	checkNoLeaks(t)
}

// TestRegistryShutdownGraceful: an exchange in progress completes when Shutdown has time.
func TestRegistryShutdownGraceful(t *testing.T) {
	s := &Server{}
	addr := serve(t, s, "tcp")
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q := unhex(t, goldenQuery)
	_, _ = c.Write(q[:5])
	time.Sleep(50 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(ctxTimeout(t, ioTimeout)) }()
	time.Sleep(50 * time.Millisecond)
	_, _ = c.Write(q[5:])
	_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
	buf := make([]byte, 100)
	n, _ := c.Read(buf)
	if !bytes.Equal(buf[:n], unhex(t, goldenEmpty)) {
		t.Fatalf("reply during Shutdown: %x", buf[:n])
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
}

func TestRegistryListenAndServe(t *testing.T) {
	for _, network := range []string{"udp", "tcp4", "bogus"} {
		t.Run(network, func(t *testing.T) {
			log, _ := testLogger(t)
			started := make(chan net.Addr, 1)
			s := &Server{Net: network, Addr: "127.0.0.1:0", Logger: log, NotifyStarted: func(a net.Addr) { started <- a }}
			errc := make(chan error, 1)
			go func() { errc <- s.ListenAndServe() }()
			if network == "bogus" {
				if err := <-errc; err == nil || !strings.Contains(err.Error(), "unsupported network") {
					t.Fatalf("ListenAndServe = %v", err)
				}
				return
			}
			var a net.Addr
			select {
			case a = <-started:
			case err := <-errc:
				t.Fatal(err)
			}
			var c Registrar = &UDPClient{Addr: a.String()}
			if network != "udp" {
				c = &TCPClient{Addr: a.String()}
			}
			if err := c.Register(ctxTimeout(t, ioTimeout), []string{"x"}, 1); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err != ErrServerClosed {
				t.Fatalf("ListenAndServe = %v", err)
			}
			checkNoLeaks(t)
		})
	}
}

func TestRegistryNoRegistry(t *testing.T) {
	// A UDP port nobody answers on: bind one and never read it.
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	udp := &UDPClient{Addr: pc.LocalAddr().String(), Timeout: 200 * time.Millisecond}
	start := time.Now()
	_, err = udp.Discover(context.Background(), "x")
	if !errors.Is(err, ErrNoRegistry) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("UDP Discover error = %v, want ErrNoRegistry wrapping DeadlineExceeded", err)
	}
	if el := time.Since(start); el < 150*time.Millisecond || el > 3*time.Second {
		t.Errorf("UDP Discover gave up after %v, want about 200ms", el)
	}
	if err := udp.Register(ctxTimeout(t, 100*time.Millisecond), []string{"x"}, 1); !errors.Is(err, ErrNoRegistry) {
		t.Errorf("UDP Register error = %v", err)
	}
	if _, err := udp.List(ctxTimeout(t, 100*time.Millisecond), ""); !errors.Is(err, ErrNoRegistry) {
		t.Errorf("UDP List error = %v", err)
	}
	// Unregister does not wait for an answer.
	if err := udp.Unregister(ctxTimeout(t, 100*time.Millisecond), 1); err != nil {
		t.Errorf("UDP Unregister error = %v", err)
	}

	// A TCP port nobody listens on.
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	tcp := &TCPClient{Addr: addr, Timeout: time.Second}
	if _, err := tcp.Discover(context.Background(), "x"); !errors.Is(err, ErrNoRegistry) {
		t.Fatalf("TCP Discover error = %v, want ErrNoRegistry", err)
	}
	if err := tcp.Register(context.Background(), []string{"x"}, 1); !errors.Is(err, ErrNoRegistry) {
		t.Fatalf("TCP Register error = %v, want ErrNoRegistry", err)
	}
	// A TCP registry that accepts and never answers.
	l, err = net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	tcp = &TCPClient{Addr: l.Addr().String(), Timeout: 200 * time.Millisecond}
	if _, err := tcp.Discover(context.Background(), "x"); !errors.Is(err, ErrNoRegistry) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("silent TCP Discover error = %v", err)
	}
	if _, err := (&TCPClient{}).Discover(context.Background(), "x"); err == nil {
		t.Fatal("TCPClient without Addr: no error")
	}
	checkNoLeaks(t)
}

// TestRegistryClientIgnoresStrangers: a UDP client ignores datagrams from other ports and
// undecodable ones, and REGISTER waits for "OK".
func TestRegistryClientIgnoresStrangers(t *testing.T) {
	reg, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	stranger, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	go func() {
		buf := make([]byte, 2000)
		for {
			_, from, err := reg.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = stranger.WriteTo(unhex(t, goldenOK), from) // wrong source port
			_, _ = reg.WriteTo([]byte{0xff}, from)            // undecodable
			_, _ = reg.WriteTo(unhex(t, goldenEmpty), from)   // decodable, not "OK"
			_, _ = reg.WriteTo(unhex(t, goldenOK), from)
		}
	}()
	c := &UDPClient{Addr: reg.LocalAddr().String(), Timeout: ioTimeout}
	if err := c.Register(context.Background(), []string{"x"}, 1); err != nil {
		t.Fatalf("Register = %v", err)
	}
	// QUERY takes the first decodable reply from the registry's port: () here.
	if _, err := c.Discover(context.Background(), "x"); !errors.Is(err, ErrServiceNotFound) {
		t.Fatalf("Discover = %v", err)
	}
}

func TestRegistryBroadcastDetection(t *testing.T) {
	for _, c := range []struct {
		addr  string
		force bool
		want  bool
	}{
		{"", false, true},
		{"255.255.255.255:18811", false, true},
		{"192.168.1.255", false, true},
		{"10.255.0.1:1", false, true}, // Python's rule looks at every component
		{"127.0.0.1:18811", false, false},
		{"127.0.0.1:18811", true, true},
		{"registry.example:18811", false, false},
		{"[::1]:18811", true, false}, // IPv6 never broadcasts
	} {
		u := &UDPClient{Addr: c.addr, Broadcast: c.force}
		host, _, _ := net.SplitHostPort(u.addr())
		if got := u.broadcast(host); got != c.want {
			t.Errorf("broadcast(%q, %v) = %v, want %v", c.addr, c.force, got, c.want)
		}
	}
	if got := withDefaultPort("10.0.0.1"); got != "10.0.0.1:18811" {
		t.Errorf("withDefaultPort = %q", got)
	}
	if got := withDefaultPort("::1"); got != "[::1]:18811" {
		t.Errorf("withDefaultPort(::1) = %q", got)
	}
}

// TestRegistryUDPIPv6 serves on [::1] when the machine has IPv6 loopback.
func TestRegistryUDPIPv6(t *testing.T) {
	pc, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	s := &Server{AllowListing: true}
	s.Logger, _ = testLogger(t)
	errc := make(chan error, 1)
	go func() { errc <- s.ServePacket(pc) }()
	defer func() {
		_ = s.Close()
		<-errc
	}()
	c := &UDPClient{Addr: pc.LocalAddr().String(), Interface: "::1", Timeout: ioTimeout}
	ctx := ctxTimeout(t, 10*time.Second)
	if err := c.Register(ctx, []string{"six"}, 18812); err != nil {
		t.Fatal(err)
	}
	got, err := c.Discover(ctx, "six")
	if err != nil || !slices.Equal(got, []Endpoint{{"::1", 18812}}) {
		t.Fatalf("Discover = %v, %v", got, err)
	}
	if got[0].String() != "[::1]:18812" {
		t.Errorf("String() = %q", got[0].String())
	}
}

// wrappedPacketConn hides *net.UDPConn, so that ServePacket takes its generic path.
type wrappedPacketConn struct{ net.PacketConn }

func TestRegistryServeGenericPacketConn(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{}
	s.Logger, _ = testLogger(t)
	errc := make(chan error, 1)
	go func() { errc <- s.ServePacket(wrappedPacketConn{pc}) }()
	c := &UDPClient{Addr: pc.LocalAddr().String(), Interface: "127.0.0.1", Timeout: ioTimeout}
	ctx := ctxTimeout(t, 10*time.Second)
	if err := c.Register(ctx, []string{"generic"}, 5); err != nil {
		t.Fatal(err)
	}
	if eps, err := c.Discover(ctx, "generic"); err != nil || !slices.Equal(eps, []Endpoint{{"127.0.0.1", 5}}) {
		t.Fatalf("Discover = %v, %v", eps, err)
	}
	if got := udpExchange(t, pc.LocalAddr().String(), make([]byte, 3000)); got != nil {
		t.Fatalf("oversized datagram answered: %x", got)
	}
	_ = s.Close()
	if err := <-errc; err != ErrServerClosed {
		t.Fatalf("ServePacket = %v", err)
	}
	checkNoLeaks(t)
}
