package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gorpyc/rpyc/brine"
)

// Registrar is a registry client (Python's RegistryClient, "registrar"). [UDPClient] and
// [TCPClient] implement it. Every method is bounded by its context; when the context has no
// deadline the client's own timeout applies (2 s by default).
type Registrar interface {
	// Register announces that a server listening on port serves the given aliases. The
	// registry records the IP address the request comes from. It returns nil once the
	// registry acknowledged, or an error wrapping ErrNoRegistry if none did.
	Register(ctx context.Context, aliases []string, port int) error
	// Unregister withdraws every alias registered from this host for port.
	Unregister(ctx context.Context, port int) error
	// Discover returns the endpoints registered for name (matched case-insensitively), oldest
	// registration first. It fails with ErrServiceNotFound when there is none and ErrNoRegistry
	// when no registry answered.
	Discover(ctx context.Context, name string) ([]Endpoint, error)
	// List returns the registered service names, or only those with an endpoint on filterHost
	// (an IP address, compared exactly) when it is not empty. It fails with ErrListingDisabled
	// when the registry does not allow listing.
	List(ctx context.Context, filterHost string) ([]string, error)
}

var (
	_ Registrar = (*UDPClient)(nil)
	_ Registrar = (*TCPClient)(nil)
)

// UDPClient talks to registries over UDP, like Python's UDPRegistryClient. The zero value
// broadcasts to 255.255.255.255:18811. A UDPClient holds no connection and is safe for
// concurrent use; each call uses a fresh socket.
//
// Requests are sent once (as Python does); the first decodable reply from the registry's port
// wins, so with broadcast and several registries the fastest answers.
type UDPClient struct {
	// Addr is the registry's address, "host:port" or just "host" (port 18811); "" means
	// 255.255.255.255:18811 ([DefaultBroadcastAddr]).
	Addr string
	// Broadcast enables SO_BROADCAST even when Addr does not look like a broadcast address.
	// As in Python, it is enabled anyway when any dot-separated part of Addr's host is "255".
	// (Go's net package enables SO_BROADCAST on every IPv4 UDP socket in any case.)
	Broadcast bool
	// Interface is the local IP address Register and Unregister send from ("" lets the system
	// choose). The registry records that address, so a server should set it to the address it
	// listens on, as Python servers do (they pass interface=<bind host>).
	Interface string
	// Timeout bounds each call whose context has no deadline; 0 means 2 s ([DefaultTimeout]).
	Timeout time.Duration
	// Logger receives Debug lines about each exchange; nil logs nothing.
	Logger *slog.Logger
}

// TCPClient talks to a registry over TCP, like Python's TCPRegistryClient: one connection per
// request. It is safe for concurrent use.
type TCPClient struct {
	// Addr is the registry's address, "host:port" or just "host" (port 18811). It is required.
	Addr string
	// Interface is the local IP address to connect from ("" lets the system choose); see
	// [UDPClient.Interface].
	Interface string
	// Timeout bounds each call whose context has no deadline; 0 means 2 s ([DefaultTimeout]).
	Timeout time.Duration
	// Logger receives Debug lines about each exchange; nil logs nothing.
	Logger *slog.Logger
}

// maxReplyRead bounds what clients read: more than any registry sends (Python's UDP server can
// send a datagram of any size, up to the 64 KiB UDP limit).
const maxReplyRead = 64 << 10

// withDefaultPort returns addr with port 18811 added when it has none.
func withDefaultPort(addr string) string {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	return net.JoinHostPort(strings.Trim(addr, "[]"), strconv.Itoa(DefaultPort))
}

// withTimeout applies the client's timeout when ctx has no deadline.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	if d <= 0 {
		d = DefaultTimeout
	}
	return context.WithTimeout(ctx, d)
}

// loggerOr returns l, or a logger that discards: the library stays quiet unless configured.
func loggerOr(l *slog.Logger) *slog.Logger {
	if l == nil {
		return discardLogger
	}
	return l
}

// ---- UDP

func (c *UDPClient) addr() string {
	if c.Addr == "" {
		return DefaultBroadcastAddr
	}
	return withDefaultPort(c.Addr)
}

// broadcast reports whether requests go out with SO_BROADCAST: when Broadcast is set or, as
// Python decides, when any dot-separated part of the host is "255". IPv6 never broadcasts.
func (c *UDPClient) broadcast(host string) bool {
	if strings.Contains(host, ":") {
		return false
	}
	if c.Broadcast {
		return true
	}
	for _, part := range strings.Split(host, ".") {
		if part == "255" {
			return true
		}
	}
	return false
}

// resolve finds the registry's UDP address. Host names resolve to IPv4 first, as Python's
// AF_INET client does.
func (c *UDPClient) resolve(ctx context.Context) (netip.AddrPort, string, error) {
	addr := c.addr()
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return netip.AddrPort{}, host, fmt.Errorf("registry: bad address %q: %w", addr, err)
	}
	port, err := net.DefaultResolver.LookupPort(ctx, "udp", portStr)
	if err != nil {
		return netip.AddrPort{}, host, fmt.Errorf("registry: bad address %q: %w", addr, err)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return netip.AddrPortFrom(ip, uint16(port)), host, nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
	if err != nil || len(ips) == 0 {
		ips, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}
	if err != nil {
		return netip.AddrPort{}, host, fmt.Errorf("registry: resolving %q: %w", host, err)
	}
	if len(ips) == 0 {
		return netip.AddrPort{}, host, fmt.Errorf("registry: resolving %q: no address", host)
	}
	return netip.AddrPortFrom(ips[0].Unmap(), uint16(port)), host, nil
}

// socket opens the UDP socket for one exchange, bound to local (an IP or "") port 0.
func (c *UDPClient) socket(ctx context.Context, to netip.AddrPort, host, local string) (*net.UDPConn, error) {
	network := "udp4"
	if to.Addr().Is6() {
		network = "udp6"
	}
	lc := net.ListenConfig{Control: broadcastControl(c.broadcast(host))}
	pc, err := lc.ListenPacket(ctx, network, net.JoinHostPort(local, "0"))
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	return pc.(*net.UDPConn), nil
}

// exchange sends one request and returns the first decodable reply that comes from the
// registry's port and that accept (if not nil) accepts. With wait false it only sends.
func (c *UDPClient) exchange(ctx context.Context, cmd Command, args brine.Tuple, local string, wait bool, accept func(any) bool) (any, error) {
	ctx, cancel := withTimeout(ctx, c.Timeout)
	defer cancel()
	req, err := appendRequest(nil, cmd, args)
	if err != nil {
		return nil, err
	}
	to, host, err := c.resolve(ctx)
	if err != nil {
		return nil, err
	}
	conn, err := c.socket(ctx, to, host, local)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.WriteToUDPAddrPort(req, to); err != nil {
		return nil, fmt.Errorf("registry: %s to %s: %w", cmd, to, err)
	}
	log := loggerOr(c.Logger)
	log.Debug("registry: sent", "command", string(cmd), "to", to.String(), "from", conn.LocalAddr().String())
	if !wait {
		return nil, nil
	}
	buf := make([]byte, maxReplyRead)
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("registry: %s to %s: %w (%w)", cmd, to, ErrNoRegistry, context.Cause(ctx))
			}
			return nil, fmt.Errorf("registry: %s to %s: %w (%w)", cmd, to, ErrNoRegistry, err)
		}
		if from.Port() != to.Port() {
			continue
		}
		v, _, err := brine.Decode(buf[:n])
		if err != nil {
			log.Debug("registry: undecodable reply ignored", "from", from.String(), "err", err)
			continue
		}
		if accept != nil && !accept(v) {
			log.Debug("registry: unexpected reply ignored", "from", from.String(), "reply", pyRepr(v))
			continue
		}
		return v, nil
	}
}

// Register sends REGISTER (aliases, port) from Interface and waits for the registry's "OK"
// (other replies are ignored, as in Python).
func (c *UDPClient) Register(ctx context.Context, aliases []string, port int) error {
	_, err := c.exchange(ctx, CmdRegister, registerArgs(aliases, port), c.Interface, true,
		func(v any) bool { return v == "OK" })
	return err
}

// Unregister sends UNREGISTER (port,) from Interface. As in Python, it does not wait for an
// answer, so it succeeds as long as the datagram could be sent.
func (c *UDPClient) Unregister(ctx context.Context, port int) error {
	_, err := c.exchange(ctx, CmdUnregister, brine.Tuple{int64(port)}, c.Interface, false, nil)
	return err
}

// Discover sends QUERY (name,) and returns the endpoints of the first answer.
func (c *UDPClient) Discover(ctx context.Context, name string) ([]Endpoint, error) {
	v, err := c.exchange(ctx, CmdQuery, brine.Tuple{name}, "", true, nil)
	if err != nil {
		return nil, err
	}
	return endpointsOf(name, v)
}

// List sends LIST ((filterHost or None,),), the layout of rpyc 5.2.1 and later.
func (c *UDPClient) List(ctx context.Context, filterHost string) ([]string, error) {
	v, err := c.exchange(ctx, CmdList, listArgs(filterHost), "", true, nil)
	if err != nil {
		return nil, err
	}
	return namesOf(v)
}

// ---- TCP

// exchange connects, sends one request and, with wait, reads the reply until it decodes or the
// registry closes the connection.
func (c *TCPClient) exchange(ctx context.Context, cmd Command, args brine.Tuple, wait bool) (any, error) {
	if c.Addr == "" {
		return nil, errors.New("registry: TCPClient.Addr is empty")
	}
	ctx, cancel := withTimeout(ctx, c.Timeout)
	defer cancel()
	req, err := appendRequest(nil, cmd, args)
	if err != nil {
		return nil, err
	}
	addr := withDefaultPort(c.Addr)
	var d net.Dialer
	if c.Interface != "" {
		ip, err := netip.ParseAddr(c.Interface)
		if err != nil {
			return nil, fmt.Errorf("registry: bad Interface %q: %w", c.Interface, err)
		}
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, 0))
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("registry: %s to %s: %w (%w)", cmd, addr, ErrNoRegistry, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	// One write, as the Python registry reads the request with a single recv.
	if _, err := conn.Write(req); err != nil {
		return nil, fmt.Errorf("registry: %s to %s: %w (%w)", cmd, addr, ErrNoRegistry, err)
	}
	loggerOr(c.Logger).Debug("registry: sent", "command", string(cmd), "to", addr)
	if !wait {
		return nil, nil
	}
	buf := make([]byte, 0, MaxDatagramSize)
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= maxReplyRead {
				return nil, fmt.Errorf("%w: %s reply larger than %d bytes", ErrMalformedReply, cmd, maxReplyRead)
			}
			buf = append(buf, make([]byte, len(buf))...)[:len(buf)]
		}
		n, rerr := conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > 0 {
			v, _, err := brine.Decode(buf)
			if err == nil {
				return v, nil
			}
			if !errors.Is(err, brine.ErrTruncated) || errors.Is(rerr, io.EOF) {
				return nil, fmt.Errorf("%w: %s: %w", ErrMalformedReply, cmd, err)
			}
		}
		if rerr != nil {
			if ctx.Err() != nil {
				rerr = context.Cause(ctx)
			}
			return nil, fmt.Errorf("registry: %s to %s: %w (%w)", cmd, addr, ErrNoRegistry, rerr)
		}
	}
}

// Register sends REGISTER (aliases, port). As in Python, any decodable answer counts as an
// acknowledgement.
func (c *TCPClient) Register(ctx context.Context, aliases []string, port int) error {
	_, err := c.exchange(ctx, CmdRegister, registerArgs(aliases, port), true)
	return err
}

// Unregister sends UNREGISTER (port,) and, as in Python, closes the connection without waiting
// for the answer.
func (c *TCPClient) Unregister(ctx context.Context, port int) error {
	_, err := c.exchange(ctx, CmdUnregister, brine.Tuple{int64(port)}, false)
	return err
}

// Discover sends QUERY (name,).
func (c *TCPClient) Discover(ctx context.Context, name string) ([]Endpoint, error) {
	v, err := c.exchange(ctx, CmdQuery, brine.Tuple{name}, true)
	if err != nil {
		return nil, err
	}
	return endpointsOf(name, v)
}

// List sends LIST ((filterHost or None,),).
func (c *TCPClient) List(ctx context.Context, filterHost string) ([]string, error) {
	v, err := c.exchange(ctx, CmdList, listArgs(filterHost), true)
	if err != nil {
		return nil, err
	}
	return namesOf(v)
}

// ---- replies

// endpointsOf reads a QUERY reply: a tuple of (ip, port) tuples. Entries with a non-integer port
// (Python servers on unix sockets register their socket path) are skipped.
func endpointsOf(name string, v any) ([]Endpoint, error) {
	t, ok := v.(brine.Tuple)
	if !ok {
		return nil, fmt.Errorf("%w: QUERY answered %s", ErrMalformedReply, pyRepr(v))
	}
	eps := make([]Endpoint, 0, len(t))
	for _, it := range t {
		pair, ok := it.(brine.Tuple)
		if !ok || len(pair) != 2 {
			return nil, fmt.Errorf("%w: QUERY entry %s", ErrMalformedReply, pyRepr(it))
		}
		ip, ok1 := pair[0].(string)
		port, ok2 := pair[1].(int64)
		if !ok1 {
			return nil, fmt.Errorf("%w: QUERY entry %s", ErrMalformedReply, pyRepr(it))
		}
		if !ok2 || port < 0 || port > 65535 {
			continue
		}
		eps = append(eps, Endpoint{IP: ip, Port: int(port)})
	}
	if len(eps) == 0 {
		return nil, fmt.Errorf("%w: %q", ErrServiceNotFound, name)
	}
	return eps, nil
}

// namesOf reads a LIST reply: a tuple of str, or None when listing is disabled.
func namesOf(v any) ([]string, error) {
	if v == nil {
		return nil, ErrListingDisabled
	}
	t, ok := v.(brine.Tuple)
	if !ok {
		return nil, fmt.Errorf("%w: LIST answered %s", ErrMalformedReply, pyRepr(v))
	}
	names := make([]string, 0, len(t))
	for _, it := range t {
		s, ok := it.(string)
		if !ok {
			return nil, fmt.Errorf("%w: LIST entry %s", ErrMalformedReply, pyRepr(it))
		}
		names = append(names, s)
	}
	return names, nil
}

var discardLogger = slog.New(slog.DiscardHandler)
