package registry

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorpyc/rpyc/brine"
)

// Protocol constants, as in Python's rpyc.utils.registry.
const (
	// DefaultPort is the registry's UDP and TCP port (REGISTRY_PORT).
	DefaultPort = 18811
	// DefaultPruneTimeout is how long a registration lives without being refreshed
	// (DEFAULT_PRUNING_TIMEOUT, 4 minutes).
	DefaultPruneTimeout = 240 * time.Second
	// DefaultTimeout is how long clients wait for a registry's answer when their context has no
	// deadline (the timeout=2 of Python's registry clients and discover helpers).
	DefaultTimeout = 2 * time.Second
	// DefaultReregisterInterval is how often a registered server refreshes its registration
	// (REREGISTER_INTERVAL).
	DefaultReregisterInterval = 60 * time.Second
	// DefaultBroadcastAddr is where a [UDPClient] sends by default: the limited broadcast address.
	DefaultBroadcastAddr = "255.255.255.255:18811"

	// MaxDatagramSize is the size of the reads of Python's registry: the UDP server reads
	// datagrams of at most this size (a larger request is dropped), the UDP client reads QUERY
	// and REGISTER replies of at most this size, and both TCP sides do a single recv of this
	// size. Every reply of a Go [Server] fits, except UDP LIST replies (see MaxListReplySize).
	MaxDatagramSize = 1500
	// MaxListReplySize is the size of the read of Python's UDP client for a LIST reply.
	MaxListReplySize = 10 * MaxDatagramSize

	// Magic is the first item of every request; it must be a str.
	Magic = "RPYC"
)

// Command is a registry command, the second item of a request. Python matches it
// case-insensitively; clients send it upper-case.
type Command string

// The commands of Python's registry. LIST exists since rpyc 5.1.
const (
	CmdRegister   Command = "REGISTER"
	CmdUnregister Command = "UNREGISTER"
	CmdQuery      Command = "QUERY"
	CmdList       Command = "LIST"
)

// Endpoint is one registered server: the IP address the registry saw its registration come
// from and the TCP port it announced.
type Endpoint struct {
	// IP is the address as the registry recorded it, e.g. "10.0.0.7" or "fe80::1%eth0".
	IP string
	// Port is the server's TCP port.
	Port int
}

// String returns host:port, with IPv6 addresses in brackets.
func (e Endpoint) String() string { return net.JoinHostPort(e.IP, strconv.Itoa(e.Port)) }

// Errors returned by clients and servers; test with [errors.Is].
var (
	// ErrNoRegistry means no registry answered within the timeout (or the TCP registry refused
	// the connection).
	ErrNoRegistry = errors.New("registry: no registry answered")
	// ErrServiceNotFound means the registry answered a QUERY with no endpoints.
	ErrServiceNotFound = errors.New("registry: service not found")
	// ErrListingDisabled means the registry answered LIST with None: it runs without listing
	// (Python's allow_listing=False, the default).
	ErrListingDisabled = errors.New("registry: listing is disabled")
	// ErrMalformedReply means a reply that decodes but has the wrong shape.
	ErrMalformedReply = errors.New("registry: malformed reply")
	// ErrServerClosed is returned by [Server.Serve], [Server.ServePacket] and
	// [Server.ListenAndServe] after [Server.Shutdown] or [Server.Close].
	ErrServerClosed = errors.New("registry: server closed")
)

// appendRequest appends the brine request ("RPYC", cmd, args).
func appendRequest(dst []byte, cmd Command, args brine.Tuple) ([]byte, error) {
	b, err := brine.Append(dst, brine.Tuple{Magic, string(cmd), args})
	if err != nil {
		return dst, fmt.Errorf("registry: encoding %s: %w", cmd, err)
	}
	return b, nil
}

// registerArgs is the argument tuple of REGISTER: (aliases, port).
func registerArgs(aliases []string, port int) brine.Tuple {
	names := make(brine.Tuple, len(aliases))
	for i, a := range aliases {
		names[i] = a
	}
	return brine.Tuple{names, int64(port)}
}

// listArgs is the argument tuple of LIST in the 5.2.1+ layout: ((filter_host,),), with None for
// no filter.
func listArgs(filterHost string) brine.Tuple {
	var f any
	if filterHost != "" {
		f = filterHost
	}
	return brine.Tuple{brine.Tuple{f}}
}

// request is a decoded registry request.
type request struct {
	cmd  Command // upper-case; "" if the command is not one of the four
	raw  string  // the command as sent
	args brine.Tuple
}

// Reasons a request gets no reply. They are logged, never sent.
var (
	errBadMagic   = errors.New("invalid magic")
	errBadShape   = errors.New("not a (magic, command, args) tuple")
	errUnknownCmd = errors.New("unknown command")
	errBadArgs    = errors.New("bad arguments")
	errOversized  = errors.New("request larger than 1500 bytes")
)

// parseRequest decodes a request from the start of b, as Python's registry would: the value must
// be a 3-tuple whose magic is the str "RPYC" and whose command is a str naming one of the four
// commands in any case; args must be a tuple. Bytes after the value are ignored, as Python's
// brine.load ignores them. It returns how many bytes the value used.
func parseRequest(b []byte) (request, int, error) {
	v, n, err := brine.Decode(b)
	if err != nil {
		return request{}, 0, err
	}
	t, ok := v.(brine.Tuple)
	if !ok || len(t) != 3 {
		return request{}, n, errBadShape
	}
	if m, ok := t[0].(string); !ok || m != Magic {
		return request{}, n, fmt.Errorf("%w: %s", errBadMagic, pyRepr(t[0]))
	}
	raw, ok := t[1].(string)
	if !ok {
		return request{}, n, fmt.Errorf("%w: %s", errUnknownCmd, pyRepr(t[1]))
	}
	r := request{raw: raw}
	// Python looks up cmd_<raw.lower()>. Only ASCII letters lower-case to the four names (the
	// one other rune lowering to ASCII is the Kelvin sign, to "k"), so fold ASCII only; Go's
	// strings.ToLower would also fold U+0130 to "i", which Python lowers to "i\u0307".
	c := Command("")
	if isASCII(raw) {
		c = Command(strings.ToLower(raw))
	}
	switch c {
	case "register", "unregister", "query", "list":
		r.cmd = Command(strings.ToUpper(string(c)))
	default:
		return request{}, n, fmt.Errorf("%w: %s", errUnknownCmd, pyRepr(raw))
	}
	args, ok := t[2].(brine.Tuple)
	if !ok {
		return request{}, n, fmt.Errorf("%w: %s arguments are %s, not a tuple", errBadArgs, r.cmd, pyRepr(t[2]))
	}
	r.args = args
	return r, n, nil
}

// pyRepr renders a decoded brine value for log lines, shortened.
func pyRepr(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		s = "None"
	case string:
		s = strconv.Quote(x)
	case []byte:
		s = "b" + strconv.Quote(string(x))
	default:
		s = fmt.Sprintf("%v (%T)", x, x)
	}
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// pyTruthy reports Python's bool(v) for a decoded brine value.
func pyTruthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case complex128:
		return x != 0
	case string:
		return x != ""
	case []byte:
		return len(x) > 0
	case brine.Tuple:
		return len(x) > 0
	case brine.FrozenSet:
		return len(x) > 0
	}
	return true // big ints (never zero), slices, singletons
}
