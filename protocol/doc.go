// Package protocol is the RPyC connection engine: it carries requests and replies between two
// peers over a [channel.Channel], boxes values (by value or by reference) and counts the
// references each side holds on the other's objects, and turns Python exceptions into Go errors
// and back. It is symmetric, like Python's Connection: one [Conn] both calls the peer and serves
// the peer's requests on its own objects. What a Go value does when the peer uses it (its
// attributes, calls, len(), iteration) is not decided here: the connection hands each decoded,
// access-checked request to its [Objects] (package pyobj provides the standard one), and package
// netref gives users proxies of the peer's objects on top of [Ref].
//
// # Messages
//
// Every frame carries one message, in the envelope of the connection's dialect (package compat):
// a request (handler, boxed arguments), a reply (a boxed value) or an exception, each with the
// sequence number of the request it belongs to. Each side numbers its own requests from 0; the
// peer's numbers are its own business, so a request and a reply with the same number are
// unrelated. Values are brine values (package brine) inside boxes:
//
//	(1, value)          LABEL_VALUE       a brine value: None, bool, int, float, complex, str,
//	                                      bytes, tuple, frozenset, slice
//	(2, (box, ...))     LABEL_TUPLE       a tuple holding at least one reference
//	(3, id_pack)        LABEL_LOCAL_REF   an object that lives on the receiver
//	(4, id_pack)        LABEL_REMOTE_REF  an object that lives on the sender
//
// where an id_pack is (name_pack, class_id, instance_id), name_pack being the type's dotted name
// ("builtins.list", "pyobj.Store"). A root.add(1, 2) call through a proxy of the root, as the
// v5 envelope carries it (the v6 envelope starts 01 11 instead of 12 51):
//
//	12                 3-tuple: the v5 envelope (msg, seq, body)
//	51                 MSG_REQUEST (1)
//	51                 seq 1
//	11 58              body: (HANDLE_CALLATTR (8), args box)
//	11 52 13           LABEL_TUPLE of 4 boxes:
//	11 53 12 08 0e 0b 54 65 73 74 53 65 72 76 69 63 65 57 52
//	                   (LABEL_LOCAL_REF, ("TestService", 7, 2)): the object, which lives on
//	                   the receiver
//	11 51 08 0c 61 64 64        (LABEL_VALUE, "add")
//	11 51 11 51 52              (LABEL_VALUE, (1, 2)): positional arguments
//	11 51 02                    (LABEL_VALUE, ()): keyword arguments, as (name, value) pairs
//
// and its reply, (MSG_REPLY, seq 1, (LABEL_VALUE, 3)):
//
//	12 52 51 11 51 53
//
// A result that cannot travel by value is exported and sent as a reference, e.g. a function:
// (MSG_REPLY, 5, (LABEL_REMOTE_REF, ("builtins.function", 7, 2))):
//
//	12 52 55 11 54 12 08 0e 11 62 75 69 6c 74 69 6e 73 2e 66 75 6e 63 74 69 6f 6e 57 52
//
// An exception carries ((module, class), args, attributes as (name, value) pairs, traceback
// text); the bare int 1 stands for StopIteration. A [RemoteError] keeps all four; a Go error
// sent to the peer becomes the Python class [ErrorClass] maps it to.
//
// # Handlers
//
// The requests are PING (echo), CLOSE, GETROOT (the root object), GETATTR, SETATTR, DELATTR,
// CALL, CALLATTR (getattr and call in one), REPR, STR, HASH, DIR, CMP, PICKLE, DEL (drop
// references), INSPECT (the proxy class's members), BUFFITER (take several items of an
// iterator), OLDSLICING, CTXEXIT (a with-block's __exit__) and INSTANCECHECK. The connection
// keeps one table entry per handler with the arity of its arguments; a request with another
// arity, an unknown handler or a malformed box is answered with a TypeError, KeyError or
// ValueError, as Python does, without closing the connection. Only a message that does not parse
// (not a message of the dialect, or a request body that is not a (handler, args) pair) closes
// it ([ErrProtocol]).
//
// Attribute names pass the access policy of [Config] (Python's allow_* keys and safe_attrs)
// before the request reaches Objects: a private name, a name that is neither exposed nor safe,
// or any SETATTR and DELATTR while they are off, fail with AttributeError here.
//
// # Reference counting
//
// Each side keeps a table of the objects it exported, keyed by id_pack, with a count of the
// references handed out. Exporting an object that has an identity (a pointer, map, channel or
// slice) again reuses its id_pack and adds one to its count. The receiver keeps one [Ref] per
// id_pack while it is alive and counts the references it received; when the Ref is released
// (explicitly or when it becomes unreachable) it sends one DEL with that count, and the owner
// drops the object once every reference is given back. The peer's root is never released, as
// Python never releases it. DELs are queued and sent in order by one goroutine; their replies
// are not waited for.
//
// # Goroutines
//
// A Conn runs these goroutines, and no other; an idle connection runs only the first:
//
//   - The reader, started by New, is the only goroutine that reads the channel. It decodes each
//     message in arrival order (so reference counts follow the wire), resolves the pending
//     request a reply or an exception belongs to (a reply nobody waits for any more is
//     dropped, its references given back), applies CLOSE and DEL, and answers PING, GETROOT and
//     what its Objects can answer without user code ([QuickObjects]: getattr and dir of plain
//     Go values, the root's get_service_name). It never runs user code and never waits for a handler. It writes those answers
//     itself, so a peer that does not read them stops being served; it also stops reading while
//     more than Config.MaxQueuedOutput bytes of handlers' answers wait to be written. When the
//     connection has ended it runs the end of the life cycle below, then the [WithDone]
//     function, if any (a server's bookkeeping: no goroutine of the server waits per
//     connection).
//   - Handler goroutines run every other request: Objects.ServeRequest, and through it the
//     user's code. One is started for a request when none lingers; once its request is answered
//     it lingers 100 ms for the next one, then exits. So a handler that calls back into the peer
//     (whose reply the reader delivers), a peer that calls back while serving one of ours, and
//     callbacks nested both ways at any depth cannot deadlock, and a slow handler holds up no
//     other request. At most Config.MaxInflight requests run at once; more are answered with a
//     RuntimeError. [WithExecutor] (a server's worker pool) runs the handlers on the pool
//     instead; the handler goroutine waits for it.
//   - The DEL flusher runs while queued DELs remain to be sent, and exits when the queue is
//     empty.
//   - Callers of [Conn.Request] (and of every netref operation) write their request themselves
//     and wait for the reader to resolve it, or for their context.
//
// Timers (the keepalive of Config.PingInterval, a server's IdleTimeout) are timers, not
// goroutines: their function runs only when they fire.
//
// Writes of whole frames are serialised by the channel; no lock of the Conn is held while
// writing or reading. The Conn's own locks (mu for the object tables and pending requests, hmu
// for the connect/disconnect state, delMu for the DEL queue, omu for the wait for queued output)
// are leaves: none is taken while another is held, and no I/O and no user code runs under any
// of them. So there is no lock order to respect.
//
// # Life cycle
//
// New starts the reader, then calls the root's OnConnect ([ConnectHook]) if it has one. The
// peer's requests are read meanwhile, so OnConnect may call the peer, but none is served before
// OnConnect returns. [NewClient] first probes the peer's dialect when Config.Dialect is Auto,
// bounded by its context or the request timeout; the probe is a GETROOT, whose answer is kept
// for the first [Conn.Root], so it costs no round trip of its own.
//
// The connection ends when the peer closes the stream or sends CLOSE, when a message cannot be
// parsed, or on [Conn.Close]. Then the transport is closed, every pending request fails with an
// error matching [ErrClosed], and the context handlers run under is canceled. Handlers still
// running get Config.CloseGrace (0 by default, as in Python) to return; then OnDisconnect
// ([DisconnectHook]) runs, exactly once and never before OnConnect returned (if the connection
// ended during OnConnect, OnDisconnect follows it). Close returns promptly from any goroutine,
// including a handler, a callback, OnConnect or OnDisconnect: it waits for the reader, the grace
// period and, when it is the one to run it, OnDisconnect, never for user code beyond that.
// [Conn.Done] is closed once every goroutine of the connection has ended, including handlers
// that outlived the grace period.
package protocol
