package registry

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"
)

// pipeConn returns one end of a pipe (never pending data: not a socket), closed with the test.
func pipeConn(t *testing.T) net.Conn {
	a, b := net.Pipe()
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	return a
}

func TestConnTableAdmit(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	ip := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	conn := func(addr string, at time.Time) *tcpConn {
		return &tcpConn{c: pipeConn(t), ip: ip(addr), start: at, last: at}
	}
	admit := func(tab *connTable, tc *tcpConn, now time.Time) (*tcpConn, bool, time.Duration) {
		tc.start, tc.last = now, now
		return tab.admit(tc, now)
	}

	t.Run("evicts the oldest stalled connection", func(t *testing.T) {
		tab := newConnTable(3, -1, 50*time.Millisecond)
		a, b, c := conn("10.0.0.1", t0), conn("10.0.0.2", t0), conn("10.0.0.3", t0)
		for i, x := range []*tcpConn{a, b, c} {
			if v, ok, _ := admit(tab, x, ms(i)); !ok || v != nil {
				t.Fatalf("admit %d: %v %v", i, ok, v)
			}
		}
		d := conn("10.0.0.4", t0)
		// Nobody is reading yet: nothing to evict, wait for a change.
		if v, ok, retry := admit(tab, d, ms(100)); ok || v != nil || retry >= 0 {
			t.Fatalf("full table, none waiting: %v %v %v", ok, v, retry)
		}
		tab.reading(a, 0, ms(10))
		tab.reading(b, 0, ms(10))
		tab.reading(c, 0, ms(10))
		tab.reading(a, 1, ms(40)) // a received a byte at 40 ms
		// At 70 ms: b and c have been idle 60 ms (stalled), a 30 ms.
		if v, ok, _ := admit(tab, d, ms(70)); !ok || v != b {
			t.Fatalf("victim %v (ok %v), want b", v, ok)
		}
		if !b.gone || tab.reading(b, 0, ms(71)) || !tab.evicted(b) {
			t.Errorf("b not marked evicted")
		}
		e := conn("10.0.0.5", t0)
		if v, ok, _ := admit(tab, e, ms(75)); !ok || v != c {
			t.Fatalf("victim %v (ok %v), want c", v, ok)
		}
		// Now a (idle since 40 ms) and d, e (not reading): f waits 15 ms for a.
		f := conn("10.0.0.6", t0)
		if v, ok, retry := admit(tab, f, ms(75)); ok || v != nil || retry != 15*time.Millisecond {
			t.Fatalf("want a wait of 15ms, got %v %v %v", ok, v, retry)
		}
		// A connection with a complete request is never evicted.
		if !tab.complete(a) {
			t.Fatal("a evicted")
		}
		if v, ok, retry := admit(tab, f, ms(200)); ok || v != nil || retry >= 0 {
			t.Fatalf("a completed: %v %v %v", ok, v, retry)
		}
		tab.done(a)
		if v, ok, _ := admit(tab, f, ms(200)); !ok || v != nil {
			t.Fatalf("after done: %v %v", ok, v)
		}
		if n := tab.size(); n != 3 {
			t.Errorf("size %d", n)
		}
	})

	t.Run("addresses above their share go first", func(t *testing.T) {
		tab := newConnTable(4, 2, 50*time.Millisecond)
		x := conn("10.0.0.9", t0) // the oldest, from another address
		admit(tab, x, ms(0))
		var flood []*tcpConn
		for i := range 3 {
			f := conn("10.0.0.1", t0)
			admit(tab, f, ms(1+i))
			flood = append(flood, f)
		}
		for _, c := range append([]*tcpConn{x}, flood...) {
			tab.reading(c, 0, ms(5))
		}
		// 10.0.0.1 holds 3 > 2: its oldest stalled one goes, not x.
		if v, ok, _ := admit(tab, conn("10.0.0.2", t0), ms(100)); !ok || v != flood[0] {
			t.Fatalf("victim %v, want the flood's oldest", v)
		}
		// 10.0.0.1 holds 2 now, nobody is above the share: the oldest stalled goes (x).
		if v, ok, _ := admit(tab, conn("10.0.0.3", t0), ms(100)); !ok || v != x {
			t.Fatalf("victim %v, want x", v)
		}
		// Above the share but not stalled: wait rather than evict others.
		tab2 := newConnTable(3, 1, 50*time.Millisecond)
		y := conn("10.0.0.9", t0)
		admit(tab2, y, ms(0))
		tab2.reading(y, 0, ms(0))
		for i := range 2 {
			f := conn("10.0.0.1", t0)
			admit(tab2, f, ms(90+i))
			tab2.reading(f, 0, ms(90+i))
		}
		if v, ok, retry := admit(tab2, conn("10.0.0.2", t0), ms(100)); ok || v != nil || retry != 40*time.Millisecond {
			t.Fatalf("want a wait of 40ms for the flood, got %v %v %v", ok, v, retry)
		}
	})

	t.Run("keys", func(t *testing.T) {
		for addr, want := range map[string]string{
			"10.1.2.3:5":               "10.1.2.3",
			"[::ffff:10.1.2.3]:5":      "10.1.2.3",
			"[2001:db8:1:2:3:4:5:6]:5": "2001:db8:1:2::",
			"[fe80::1%eth0]:5":         "fe80::",
		} {
			ap := netip.MustParseAddrPort(addr)
			if got := connKey(net.TCPAddrFromAddrPort(ap)); got.String() != want {
				t.Errorf("connKey(%s) = %s, want %s", addr, got, want)
			}
		}
		if got := connKey(nil); got.IsValid() {
			t.Errorf("connKey(nil) = %v", got)
		}
	})
}

func TestTableBounds(t *testing.T) {
	now := time.Unix(1000, 0)
	tab := newTable(time.Minute)
	tab.maxEntries, tab.maxPerName = 5, 3
	reg := func(ip string, names []string, port int64) (int, int, error) {
		now = now.Add(time.Second)
		return tab.register(now, ip, names, port)
	}
	if added, _, err := reg("10.0.0.1", []string{"A", "B"}, 1); added != 2 || err != nil {
		t.Fatalf("register: %d %v", added, err)
	}
	// Three more new entries do not fit (2+3 = 5 fits; 2+4 does not).
	if _, _, err := reg("10.0.0.2", []string{"A", "B", "C", "D"}, 1); err != errTableFull {
		t.Fatalf("over the bound: %v", err)
	}
	if _, entries := tab.counts(); entries != 2 {
		t.Fatalf("%d entries after a refused REGISTER", entries)
	}
	if added, _, err := reg("10.0.0.2", []string{"A", "B", "C"}, 1); added != 3 || err != nil {
		t.Fatalf("up to the bound: %d %v", added, err)
	}
	// Full: a refresh is applied even together with new names, which are refused.
	before := tab.query(now, "A")
	if _, _, err := reg("10.0.0.1", []string{"A", "E"}, 1); err != errTableFull {
		t.Fatalf("full: %v", err)
	}
	after := tab.query(now, "A")
	if len(after) != 2 || after[1].key.ip != "10.0.0.1" || !after[1].seen.After(before[1].seen) {
		t.Errorf("refresh in a full table: %+v -> %+v", before, after)
	}
	if _, _, err := reg("10.0.0.1", []string{"A"}, 1); err != nil {
		t.Errorf("pure refresh in a full table: %v", err)
	}
	// Per name: the least recently registered endpoint makes room.
	tab2 := newTable(time.Minute)
	tab2.maxPerName = 3
	for port := range int64(5) {
		now = now.Add(time.Second)
		want := 0
		if port >= 3 {
			want = 1 // the name is full
		}
		if _, replaced, _ := tab2.register(now, "10.0.0.1", []string{"X"}, port); replaced != want {
			t.Errorf("port %d: replaced %d", port, replaced)
		}
	}
	now = now.Add(time.Second)
	tab2.register(now, "10.0.0.1", []string{"X"}, int64(2)) // refresh: 2 becomes the newest
	now = now.Add(time.Second)
	tab2.register(now, "10.0.0.1", []string{"X"}, int64(9)) // replaces 3, the least recent
	var ports []any
	for _, e := range tab2.query(now, "X") {
		ports = append(ports, e.key.port)
	}
	if fmt.Sprint(ports) != "[4 2 9]" {
		t.Errorf("endpoints of X: %v, want [4 2 9]", ports)
	}
	if _, entries := tab2.counts(); entries != 3 || tab2.entries != 3 {
		t.Errorf("entries %d (counter %d)", entries, tab2.entries)
	}
	// maxPerName 1: the name survives the replacement.
	tab3 := newTable(time.Minute)
	tab3.maxPerName = 1
	tab3.register(now, "10.0.0.1", []string{"Y"}, int64(1))
	tab3.register(now.Add(time.Second), "10.0.0.1", []string{"Y"}, int64(2))
	if got := tab3.query(now.Add(time.Second), "Y"); len(got) != 1 || got[0].key.port != int64(2) {
		t.Errorf("maxPerName 1: %+v", got)
	}
	// UNREGISTER and pruning keep the counter right.
	tab.unregister("10.0.0.2", int64(1))
	if tab.entries != 2 {
		t.Errorf("after UNREGISTER: counter %d, want 2", tab.entries)
	}
	tab.prune(now.Add(time.Hour))
	if tab.entries != 0 {
		t.Errorf("after pruning: counter %d", tab.entries)
	}
}
