package registry

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// tcpConn is one TCP connection in a [connTable].
type tcpConn struct {
	c     net.Conn
	ip    netip.Addr // the client's address; for IPv6, its /64 prefix
	start time.Time  // admitted
	last  time.Time  // when its goroutine last got bytes, or began reading (start before)

	// Guarded by the table's mu.
	waiting    bool // its handler is reading and the request is not complete yet
	gone       bool // removed from the table (finished or evicted)
	prev, next *tcpConn
}

// connTable admits the TCP connections of one listener. It holds at most max connections. When
// a new connection does not fit, it evicts a stalled one (see admit): one of an address above
// its fair share (perIP connections; perIP <= 0: no shares) if there is such an address, else
// the oldest. When there is none, the accept loop waits until there is one or a connection
// ends (the new connection waits meanwhile, and the next ones in the kernel's listen
// backlog); nobody is refused.
//
// A healthy registry client sends its whole request (one small brine value, one segment) right
// after connecting, so its connection is complete, answered and gone within microseconds of
// being read and never qualifies for eviction. A slow client (slowloris) or an idle one is
// waiting with nothing arriving, and the oldest of those make room for newcomers. The
// whole-request deadline (TCPTimeout) still bounds every connection when there is no pressure.
type connTable struct {
	max, perIP int
	evictIdle  time.Duration

	mu         sync.Mutex
	n          int
	head, tail *tcpConn // admission order, oldest first
	byIP       map[netip.Addr]int
	changed    chan struct{} // 1-buffered: a connection ended, began reading or got bytes
}

func newConnTable(max, perIP int, evictIdle time.Duration) *connTable {
	return &connTable{max: max, perIP: perIP, evictIdle: evictIdle,
		byIP: make(map[netip.Addr]int), changed: make(chan struct{}, 1)}
}

// connKey is the address a connection counts against: the remote IP, IPv4-mapped addresses
// unmapped, IPv6 addresses reduced to their /64 prefix (one host usually owns a whole /64).
// Connections whose remote address is not IP share the zero key.
func connKey(a net.Addr) netip.Addr {
	var ip netip.Addr
	switch x := a.(type) {
	case *net.TCPAddr:
		ip = x.AddrPort().Addr()
	default:
		if a == nil {
			return netip.Addr{}
		}
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return netip.Addr{}
		}
		ip = ap.Addr()
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			ip = p.Addr()
		}
	}
	return ip
}

// admit adds tc, evicting a stalled connection if the table is full. It returns the evicted
// connection (for the caller to close), whether tc was added, and, when it was not, how long
// until a connection may become evictable (negative: not before one changes state; wait on
// t.changed as well).
//
// A connection is stalled when it is waiting for (the rest of) its request and has received
// nothing for evictIdle (not even bytes its goroutine has yet to read). While some address
// holds more than perIP connections, the victim is the oldest stalled connection of such an
// address (none of another); otherwise it is the oldest stalled connection.
func (t *connTable) admit(tc *tcpConn, now time.Time) (victim *tcpConn, ok bool, retry time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n < t.max {
		t.add(tc)
		return nil, true, 0
	}
	retry = -1
	var oldest *tcpConn
	anyOver := false
	for c := t.head; c != nil; c = c.next {
		over := t.perIP > 0 && t.byIP[c.ip] > t.perIP
		anyOver = anyOver || over
		if !c.waiting {
			continue
		}
		idle := now.Sub(c.last)
		if idle < t.evictIdle {
			if r := t.evictIdle - idle; retry < 0 || r < retry {
				retry = r
			}
			continue
		}
		if !over && (anyOver || oldest != nil) {
			continue
		}
		if hasPending(c.c) {
			continue // bytes arrived: not stalled, its goroutine has yet to read them
		}
		if over {
			victim = c
			break
		}
		oldest = c
	}
	if victim == nil && !anyOver {
		victim = oldest
	}
	if victim == nil {
		return nil, false, retry
	}
	t.remove(victim)
	t.add(tc)
	return victim, true, 0
}

func (t *connTable) add(tc *tcpConn) {
	tc.prev, tc.next = t.tail, nil
	if t.tail != nil {
		t.tail.next = tc
	} else {
		t.head = tc
	}
	t.tail = tc
	t.n++
	t.byIP[tc.ip]++
}

// remove takes c out of the table. t.mu must be held and c must be in the table.
func (t *connTable) remove(c *tcpConn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		t.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		t.tail = c.prev
	}
	c.prev, c.next = nil, nil
	c.gone = true
	t.n--
	if n := t.byIP[c.ip] - 1; n > 0 {
		t.byIP[c.ip] = n
	} else {
		delete(t.byIP, c.ip)
	}
}

// signal wakes an accept loop waiting for room.
func (t *connTable) signal() {
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

// reading records that tc's goroutine is about to read (more of) its request, after the
// previous read got got bytes; now restarts tc's idle time when it begins reading or got
// bytes. It reports false if tc was evicted.
func (t *connTable) reading(tc *tcpConn, got int, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tc.gone {
		return false
	}
	if got > 0 || !tc.waiting {
		// Its eviction time changed: an accept loop waiting for room may want to know.
		tc.last = now
		tc.waiting = true
		t.signal()
	}
	return true
}

// complete records that tc holds a complete request (it can no longer be evicted). It reports
// false if tc was evicted meanwhile.
func (t *connTable) complete(tc *tcpConn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	tc.waiting = false
	return !tc.gone
}

// evicted reports whether tc was evicted.
func (t *connTable) evicted(tc *tcpConn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return tc.gone
}

// done removes tc from the table, unless it was evicted.
func (t *connTable) done(tc *tcpConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !tc.gone {
		t.remove(tc)
	}
	t.signal()
}

// size returns the number of connections in the table.
func (t *connTable) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}
