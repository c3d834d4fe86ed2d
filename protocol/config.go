package protocol

import (
	"log/slog"
	"net"
	"time"

	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/compat"
)

// Config mirrors Python rpyc's DEFAULT_CONFIG: the same keys in Go spelling, the same defaults
// (from [DefaultConfig]) and the same meaning. Like Python's, it is purely local: nothing of it is
// exchanged with the peer. Fields after the Python ones are gorpyc's own.
//
// Python keys without a field, and why: instantiate_custom_exceptions, import_custom_exceptions
// and instantiate_oldstyle_exceptions choose which Python class a received exception becomes;
// in Go every remote exception is a *RemoteError carrying its module and class name.
// propagate_SystemExit_locally and propagate_KeyboardInterrupt_locally concern Python
// exceptions Go code does not raise. log_exceptions is unused by rpyc itself. bind_threads (an
// experimental 16-byte thread prefix that both peers must enable) is not supported: keep it off
// on Python peers talking to gorpyc, as it is by default.
type Config struct {
	// Attribute access policy for the peer's requests on local objects.
	AllowSafeAttrs    bool            // allow_safe_attrs (true): dunders in SafeAttrs
	AllowExposedAttrs bool            // allow_exposed_attrs (true): names with ExposedPrefix
	AllowPublicAttrs  bool            // allow_public_attrs (false): names not starting with "_"
	AllowAllAttrs     bool            // allow_all_attrs (false): everything
	SafeAttrs         map[string]bool // safe_attrs (the 80 names of rpyc 5.1+)
	ExposedPrefix     string          // exposed_prefix ("exposed_")
	AllowGetAttr      bool            // allow_getattr (true)
	AllowSetAttr      bool            // allow_setattr (false)
	AllowDelAttr      bool            // allow_delattr (false)
	AllowPickle       bool            // allow_pickle (false)

	// Exceptions sent to the peer.
	IncludeLocalTraceback bool // include_local_traceback (true): Go stack text in exceptions
	IncludeLocalVersion   bool // include_local_version (true); gorpyc sends "<version denied>" either way, see ExceptionVersion

	ConnID      string       // connid: a label for logs; "" means "conn<N>"
	Credentials any          // credentials: set by a server's authenticator
	Endpoints   [2]net.Addr  // endpoints: (local, remote), set by servers
	Logger      *slog.Logger // logger: nil discards (a library stays quiet unless configured)

	// SyncRequestTimeout bounds a synchronous request whose context has no deadline
	// (sync_request_timeout, 30 s). Zero or negative waits for the context alone.
	SyncRequestTimeout time.Duration
	// BeforeClosed runs in Close before CLOSE is sent (before_closed).
	BeforeClosed func(c *Conn)
	// CloseCatchall: Close returns nil even if the transport fails (close_catchall).
	CloseCatchall bool

	// Dialect is the message envelope; compat.Auto detects it from the peer's first message
	// (serving side). A connecting side must set it (the rpyc package probes for you).
	Dialect compat.Dialect
	// Channel configures framing and compression.
	Channel channel.Config
	// MaxInflight caps the peer's requests executing at once on this connection; further
	// requests are answered with a RuntimeError. 0 means 1024.
	MaxInflight int
	// ServiceAliases are the local service's names, answered to get_service_name and
	// get_service_aliases; empty means derived from the root's type (see ServiceAliases).
	ServiceAliases []string
	// MaxQueuedOutput bounds the bytes of replies and requests being written at once. While more
	// are queued (the peer does not read them), the reader stops reading: a peer that stops
	// reading stops being served: it can make the connection hold at most this many bytes of
	// answers plus those of MaxInflight handlers. 0 means DefaultMaxQueuedOutput. Python has no
	// such limit (its server thread writes each reply before reading the next request).
	MaxQueuedOutput int
	// MaxDecodedSize bounds the Go memory one received message may decode into (counted as it is
	// built, so a small message that would expand, a zlib-compressed tuple of millions of ints,
	// is refused before it is allocated); beyond it the connection closes with ErrLimit. 0 means
	// DefaultMaxDecodedSize (256 MiB); negative means no limit. Python has no such limit.
	MaxDecodedSize int64
	// Observer, if set, is told about requests, messages and the connection's life, for metrics
	// and tracing (see package rpycotel). nil costs nothing.
	Observer Observer
	// Budget, if set, is memory shared with other connections (a server's MemoryBudget): every
	// received message is charged to it while it is handled. nil means no shared budget.
	Budget *Budget
	// MaxPendingDels bounds the objects whose references wait to be given back to the peer
	// (HANDLE_DEL) because it does not read; beyond it the connection closes with ErrLimit. 0
	// means DefaultMaxPendingDels. Python has no such limit.
	MaxPendingDels int
	// CloseGrace is how long Close (or the end of the connection, when the peer closed it)
	// waits for the peer's requests still running user code on this side before OnDisconnect
	// runs and Close returns. Their context is canceled at once either way. The default, 0, is
	// Python's behaviour: close() waits for nobody. A handler that calls Close waits the grace
	// period for itself.
	CloseGrace time.Duration
	// PingInterval, if positive, turns the keepalive on: when nothing has been received from the
	// peer for this long, a PING is sent, and if nothing arrives within PingTimeout after it the
	// peer is taken for gone: the connection closes and pending requests fail with an error
	// matching ErrPeerUnresponsive (and ErrClosed). A silent peer is thus detected between
	// PingInterval and PingInterval+PingTimeout after its last message. It costs one timer per
	// connection, and a PING only on a quiet connection. Python has no such setting (its
	// keepalive=True is TCP's). A Python peer answers PINGs only while it reads: a Python server
	// always does, but not while it runs a request of this connection (it serves one at a time),
	// so PingTimeout must exceed the longest call; a Python client reads only while it waits
	// for a reply of its own (or with a BgServingThread), so do not ping idle Python clients.
	PingInterval time.Duration
	// PingTimeout is how long a keepalive PING may go unanswered; 0 means PingInterval.
	PingTimeout time.Duration
}

// Defaults of the limits gorpyc adds to Python's configuration.
const (
	DefaultMaxQueuedOutput = 32 << 20
	DefaultMaxPendingDels  = 1 << 16
	// DefaultMaxDecodedSize is the default Config.MaxDecodedSize: 256 MiB, so that a bytes
	// value of up to about 250 MiB (the largest a default server's 512 MiB memory budget holds
	// together with its frame) decodes. A client's channel budget is twice it (rpyc.Connect).
	DefaultMaxDecodedSize = 256 << 20
)

// DecodeLimit is the decoded-size budget of one received message that MaxDecodedSize sets:
// DefaultMaxDecodedSize for 0, and negative (no limit) as it is.
func (c *Config) DecodeLimit() int64 {
	if c.MaxDecodedSize == 0 {
		return DefaultMaxDecodedSize
	}
	return c.MaxDecodedSize
}

// DefaultSyncRequestTimeout is Python's default sync_request_timeout.
const DefaultSyncRequestTimeout = 30 * time.Second

// DefaultConfig returns Python's DEFAULT_CONFIG in Go terms.
func DefaultConfig() Config {
	safe := make(map[string]bool, len(safeAttrs))
	for _, n := range safeAttrs {
		safe[n] = true
	}
	return Config{
		AllowSafeAttrs:        true,
		AllowExposedAttrs:     true,
		SafeAttrs:             safe,
		ExposedPrefix:         "exposed_",
		AllowGetAttr:          true,
		IncludeLocalTraceback: true,
		IncludeLocalVersion:   true,
		SyncRequestTimeout:    DefaultSyncRequestTimeout,
	}
}

// ClassicConfig returns what a classic (SlaveService) peer switches its own side to.
func ClassicConfig() Config {
	c := DefaultConfig()
	c.AllowAllAttrs = true
	c.AllowPickle = true
	c.AllowSetAttr = true
	c.AllowDelAttr = true
	c.AllowExposedAttrs = false
	return c
}

// safeAttrs is rpyc's safe_attrs (5.1.0 - 6.0.2, 80 names).
var safeAttrs = []string{
	"__abs__", "__add__", "__and__", "__bool__", "__cmp__", "__contains__", "__delitem__",
	"__delslice__", "__div__", "__divmod__", "__doc__", "__enter__", "__eq__", "__exit__",
	"__float__", "__floordiv__", "__format__", "__ge__", "__getitem__", "__getslice__", "__gt__",
	"__hash__", "__hex__", "__iadd__", "__iand__", "__idiv__", "__ifloordiv__", "__ilshift__",
	"__imod__", "__imul__", "__index__", "__int__", "__invert__", "__ior__", "__ipow__",
	"__irshift__", "__isub__", "__iter__", "__itruediv__", "__ixor__", "__le__", "__len__",
	"__length_hint__", "__long__", "__lshift__", "__lt__", "__mod__", "__mul__", "__ne__",
	"__neg__", "__new__", "__next__", "__nonzero__", "__oct__", "__or__", "__pos__", "__pow__",
	"__radd__", "__rand__", "__rdiv__", "__rdivmod__", "__repr__", "__rfloordiv__",
	"__rlshift__", "__rmod__", "__rmul__", "__ror__", "__rpow__", "__rrshift__", "__rshift__",
	"__rsub__", "__rtruediv__", "__rxor__", "__setitem__", "__setslice__", "__str__", "__sub__",
	"__truediv__", "__xor__", "next",
}
