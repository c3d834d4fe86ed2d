// Package registry implements RPyC's service registry, wire-compatible with Python's
// rpyc.utils.registry (rpyc 5.x and 6.x): servers ([Server], over UDP and TCP), clients
// ([UDPClient], [TCPClient], both [Registrar]s) and the automatic registration that RPyC
// servers perform ([AutoRegister]).
//
// A registry maps service names to the endpoints of the servers offering them. Servers
// register their aliases and TCP port, and refresh that every 60 s; the registry records the IP
// address the registration came from and forgets an endpoint not refreshed within the pruning
// timeout (240 s by default). Clients query a name and get the endpoints back.
//
// # Messages
//
// A request is the brine 3-tuple ("RPYC", COMMAND, args), where "RPYC" and COMMAND are str
// values (a bytes magic is ignored) and args is a tuple spread into the command's parameters.
// The reply is a bare brine value. There is no other framing: over UDP one datagram carries
// one request and one datagram the reply; over TCP each connection carries one request and
// its reply, and the server closes it.
//
//	REGISTER   ((alias, ...), port)   → "OK"    each alias upper-cased, recorded with the sender's IP
//	UNREGISTER (port,)                → "OK"    removes (sender IP, port) under every name
//	QUERY      (name,)                → ((ip, port), ...), oldest registration first; () if none
//	LIST       ((filter_host,),)      → (name, ...) or None when listing is disabled
//	LIST       ()                     → the same, as sent by rpyc 5.1 clients
//
// Commands are matched case-insensitively; names are upper-cased as Python's str.upper does.
// A request that does not decode, has another magic, names another command or has the wrong
// arguments gets no reply at all (the server logs it).
//
// The datagrams of REGISTER (('FOO', 'BAR'), 18812) and its reply, byte for byte as rpyc 5.3.0
// and 6.0.1 send them:
//
//	12                          tuple of 3
//	08 0d 52 50 59 43           str "RPYC" (08 str, 0d bytes of length 4)
//	08 0e 08 52 45 47 49 53 54 45 52    str "REGISTER" (0e: u8 length 8)
//	11                          tuple of 2: args
//	11                          tuple of 2: aliases
//	08 0c 46 4f 4f              str "FOO" (0c: bytes of length 3)
//	08 0c 42 41 52              str "BAR"
//	16 05 31 38 38 31 32        int 18812, as 5 decimal digits
//
//	08 0b 4f 4b                 reply: str "OK"
//
// QUERY ('foo',) is 12 080d52505943 080e055155455259 10 080c666f6f, and the reply
// (('127.0.0.1', 18812),) is 10 11 080e093132372e302e302e31 16053138383132; an unknown name
// gets 02, the empty tuple. LIST ((None,),) is 12 080d52505943 080d4c495354 10 10 00.
//
// # Sizes
//
// Python's UDP server reads datagrams of up to 1500 bytes ([MaxDatagramSize]), its UDP client
// reads QUERY replies of up to 1500 bytes and LIST replies of up to 15000
// ([MaxListReplySize]), and both TCP sides read with a single recv of 1500 bytes. A Go
// [Server] drops larger requests and never sends a larger reply: when the endpoints of a name
// do not fit, it sends the most recently registered ones (those likeliest to be alive, still
// oldest first); when the names of a LIST do not fit, it sends the first ones in registration
// order. Both cases are logged. A QUERY reply holds 57 to 74 IPv4 endpoints, depending on
// the length of the addresses.
//
// # Storage
//
// A [Server] keeps its registrations in a [Store]. By default that is an in-memory table of
// its own ([MemoryStore]), which behaves as Python's registry does. Set [Server.Store] to share
// the registrations between servers: package registry/etcdstore keeps them in an etcd cluster,
// so that any number of registry replicas, on several hosts, answer with one view and survive
// the loss of a replica or of a minority of the etcd members. With a Store set, REGISTER and
// UNREGISTER are acknowledged once the Store has recorded them ([Server.StoreTimeout]); over
// UDP they are handled off the reader, at most [Server.MaxPendingWrites] at once, so that a
// slow Store never delays QUERY, which is answered from memory.
//
// # Differences from Python's registry server
//
// Clients cannot observe them, except as fewer stale or malformed entries:
//
//   - Stale entries are dropped by a periodic sweep and by LIST as well as by QUERY, so LIST
//     no longer reports services that died long ago.
//   - A TCP request may arrive in several segments (Python reads one recv and gives up).
//   - A REGISTER whose aliases are not a tuple of str, or whose port is neither an int nor a
//     str (a unix-socket path), is refused as a whole; Python registers the aliases before the
//     bad one, iterates a str alias letter by letter and stores bytes aliases as bytes. Likewise
//     a LIST filter must be a tuple (Python indexes a str).
//   - LIST () (the rpyc 5.1 layout) is answered; Python 5.2.1+ registries do not answer it.
//   - IPv4 senders on a dual-stack socket are recorded as "127.0.0.1", not "::ffff:127.0.0.1".
//   - Several packet connections and listeners, UDP and TCP, can share one table.
//   - Limits against hostile clients, below; Python's registry has none.
//
// # Hostile clients
//
// No client can take a Go registry down, starve other clients or make it hold unbounded
// memory:
//
//   - TCP: a request must be complete within [Server.TCPTimeout] (3 s) of its connection being
//     admitted, however steadily it trickles in. At most [Server.MaxTCPConns] (256)
//     connections are open per listener; when they all are, a new connection evicts a
//     stalled one, a connection whose request is incomplete and that has received nothing for
//     [Server.TCPEvictIdle] (50 ms), the oldest first and, while an address (an IPv6 /64)
//     holds more than [Server.MaxTCPConnsPerIP] (64), only those of such addresses. When none
//     is stalled the server stops accepting until one is or a connection ends: connections
//     wait in the listen backlog and are never refused, so clients sharing an address with an
//     attacker are served too. A healthy client's request, one segment sent on connecting, is
//     answered as soon as it is read and never stalls. Python's TCPRegistryServer serves one
//     connection at a time, and one client that connects and sends nothing blocks it.
//   - Table: at most [Server.MaxRegistrations] (131,072) registrations, and
//     [Server.MaxEndpointsPerName] (1024) endpoints per name, the least recently registered
//     making room (QUERY replies hold at most about 130, the most recent), so that REGISTER
//     floods cannot exhaust memory and a QUERY costs little whatever was registered.
//   - Requests are at most 1500 bytes; brine lengths are checked before allocating; the UDP
//     server reads into one fixed buffer and replies within fixed sizes; warnings are
//     rate-limited.
package registry
