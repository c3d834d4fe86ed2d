package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/registry"
	"github.com/gorpyc/rpyc/registry/etcdstore"
	"github.com/gorpyc/rpyc/registry/etcdstore/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

const ioTimeout = 5 * time.Second

// newStore opens a store on prefix, closed when the test ends.
func newStore(t *testing.T, cl *clientv3.Client, cfg etcdstore.Config) *etcdstore.Store {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	st, err := etcdstore.New(ctx, cl, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// testLogger logs into the test's output when it fails.
func testLogger(t *testing.T) *slog.Logger {
	log, _ := logBuffer(t)
	return log
}

// serveUDP runs a registry server on st at a free loopback UDP port.
func serveUDP(t *testing.T, st registry.Store) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &registry.Server{Store: st, AllowListing: true, Logger: testLogger(t)}
	errc := make(chan error, 1)
	go func() { errc <- s.ServePacket(pc) }()
	t.Cleanup(func() {
		_ = s.Close()
		if err := <-errc; !errors.Is(err, registry.ErrServerClosed) {
			t.Errorf("ServePacket: %v", err)
		}
	})
	return pc.LocalAddr().String()
}

// eventually polls cond until it holds, failing after d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ports(es []registry.Entry) []any {
	out := make([]any, len(es))
	for i, e := range es {
		out[i] = e.Port
	}
	return out
}

// TestEtcdStore runs the store against a real three-member etcd cluster, each subtest under a
// prefix of its own.
func TestEtcdStore(t *testing.T) {
	cluster := etcdtest.Start(t, 3)
	cl := cluster.Client()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ep := func(port int64) registry.Entry { return registry.Entry{IP: "127.0.0.1", Port: port} }

	t.Run("TwoServers", func(t *testing.T) {
		// Register through A, discover through B; unregister through B, gone at A.
		cfg := etcdstore.Config{Prefix: "/t/two"}
		a, b := serveUDP(t, newStore(t, cl, cfg)), serveUDP(t, newStore(t, cl, cfg))
		ca := &registry.UDPClient{Addr: a, Interface: "127.0.0.1", Timeout: ioTimeout}
		cb := &registry.UDPClient{Addr: b, Interface: "127.0.0.1", Timeout: ioTimeout}
		if err := ca.Register(ctx, []string{"foo", "Bar"}, 18812); err != nil {
			t.Fatal(err)
		}
		// Read-your-writes through A at once.
		if got, err := ca.Discover(ctx, "FOO"); err != nil || len(got) != 1 || got[0] != (registry.Endpoint{IP: "127.0.0.1", Port: 18812}) {
			t.Fatalf("Discover through A = %v, %v", got, err)
		}
		eventually(t, ioTimeout, "registration visible through B", func() bool {
			got, err := cb.Discover(ctx, "bar")
			return err == nil && len(got) == 1
		})
		if list, err := cb.List(ctx, ""); err != nil || !slices.Equal(list, []string{"FOO", "BAR"}) {
			t.Fatalf("List through B = %v, %v", list, err)
		}
		if err := cb.Unregister(ctx, 18812); err != nil {
			t.Fatal(err)
		}
		eventually(t, ioTimeout, "unregistration visible through A", func() bool {
			_, err := ca.Discover(ctx, "foo")
			return errors.Is(err, registry.ErrServiceNotFound)
		})
	})

	t.Run("Order", func(t *testing.T) {
		// Oldest registration first; a refresh moves an endpoint last; a unix-socket path and
		// IPv6 addresses survive the round trip through etcd.
		st := newStore(t, cl, etcdstore.Config{Prefix: "/t/order"})
		for _, e := range []registry.Entry{ep(1), ep(2), {IP: "::1", Port: "/tmp/a b/sock"}, ep(1)} {
			if _, _, err := st.Register(ctx, time.Now(), e, []string{"SVC"}); err != nil {
				t.Fatal(err)
			}
		}
		got := st.Query(time.Now(), "SVC")
		want := []registry.Entry{ep(2), {IP: "::1", Port: "/tmp/a b/sock"}, ep(1)}
		if !slices.Equal(got, want) {
			t.Fatalf("Query = %v, want %v", got, want)
		}
		// Another store reading the prefix from scratch sees the same order.
		if got := newStore(t, cl, etcdstore.Config{Prefix: "/t/order"}).Query(time.Now(), "SVC"); !slices.Equal(got, want) {
			t.Fatalf("Query after a fresh read = %v, want %v", got, want)
		}
		if n, err := st.Unregister(ctx, registry.Entry{IP: "::1", Port: "/tmp/a b/sock"}); err != nil || n != 1 {
			t.Fatalf("Unregister = %d, %v", n, err)
		}
	})

	t.Run("LeaseExpiry", func(t *testing.T) {
		// Entries not refreshed within the pruning timeout disappear; refreshed ones stay
		// (refreshes reuse the lease: no lease piles up).
		st := newStore(t, cl, etcdstore.Config{Prefix: "/t/expiry", PruneTimeout: 2 * time.Second})
		for _, p := range []int64{1, 2} {
			if _, _, err := st.Register(ctx, time.Now(), ep(p), []string{"E"}); err != nil {
				t.Fatal(err)
			}
		}
		before, err := cl.Leases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		stop := make(chan struct{})
		refreshed := make(chan error, 1)
		go func() {
			for {
				select {
				case <-stop:
					refreshed <- nil
					return
				case <-time.After(300 * time.Millisecond):
				}
				if _, _, err := st.Register(ctx, time.Now(), ep(2), []string{"E"}); err != nil {
					refreshed <- err
					return
				}
			}
		}()
		eventually(t, 10*time.Second, "unrefreshed entry expired", func() bool {
			return slices.Equal(ports(st.Query(time.Now(), "E")), []any{int64(2)})
		})
		close(stop)
		if err := <-refreshed; err != nil {
			t.Fatal(err)
		}
		if age := time.Since(start); age < 1500*time.Millisecond {
			t.Fatalf("entry expired after %v, before its 2 s lease", age)
		}
		leases, err := cl.Leases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(leases.Leases) >= len(before.Leases) {
			t.Errorf("%d leases alive after refreshes, %d before; refreshes must reuse the lease", len(leases.Leases), len(before.Leases))
		}
	})

	t.Run("Limits", func(t *testing.T) {
		st := newStore(t, cl, etcdstore.Config{Prefix: "/t/limits", MaxRegistrations: 3, MaxEndpointsPerName: 2})
		for p, want := range []int{0, 0, 1} {
			_, replaced, err := st.Register(ctx, time.Now(), ep(int64(p+1)), []string{"L"})
			if err != nil || replaced != want {
				t.Fatalf("Register port %d: replaced %d, %v; want %d", p+1, replaced, err, want)
			}
		}
		if got := ports(st.Query(time.Now(), "L")); !slices.Equal(got, []any{int64(2), int64(3)}) {
			t.Fatalf("Query after 3 endpoints with 2 per name = %v, want [2 3]", got)
		}
		if _, _, err := st.Register(ctx, time.Now(), ep(4), []string{"M"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.Register(ctx, time.Now(), ep(5), []string{"N"}); !errors.Is(err, registry.ErrTableFull) {
			t.Fatalf("Register beyond MaxRegistrations: %v, want ErrTableFull", err)
		}
		if names, entries := st.Counts(); names != 2 || entries != 3 {
			t.Fatalf("Counts = %d, %d; want 2, 3", names, entries)
		}
	})

	t.Run("Resync", func(t *testing.T) {
		// A store whose only etcd member dies, while the others accept a registration and
		// compact the history: once the member is back, the store finds the registration.
		const prefix = "/t/resync"
		log, logs := logBuffer(t)
		lonely := newStore(t, cluster.MemberClient(2), etcdstore.Config{Prefix: prefix, Logger: log})
		other := newStore(t, cluster.MemberClient(0), etcdstore.Config{Prefix: prefix})
		cluster.Member(2).Kill()
		if _, _, err := other.Register(ctx, time.Now(), ep(7), []string{"MOVED"}); err != nil {
			t.Fatal(err)
		}
		resp, err := cluster.MemberClient(0).Get(ctx, "any")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cluster.MemberClient(0).Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
			t.Fatal(err)
		}
		if len(lonely.Query(time.Now(), "MOVED")) != 0 {
			t.Fatal("registration seen through a dead member")
		}
		cluster.Restart(2)
		eventually(t, 15*time.Second, "registration seen after the member came back", func() bool {
			return len(lonely.Query(time.Now(), "MOVED")) == 1
		})
		// Its member loses the leader (the two others frozen): the watch ends, the store
		// reads everything again once there is a leader, and follows the changes after it.
		cluster.Member(0).Stop()
		cluster.Member(1).Stop()
		eventually(t, 15*time.Second, "watch ended without a leader", func() bool {
			return strings.Contains(logs.String(), "reading the registrations again")
		})
		cluster.Member(0).Cont()
		cluster.Member(1).Cont()
		if _, _, err := other.Register(ctx, time.Now(), ep(8), []string{"AFTER"}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 15*time.Second, "registration seen after the leader came back", func() bool {
			return len(lonely.Query(time.Now(), "AFTER")) == 1
		})
	})

	t.Run("ForeignKeys", func(t *testing.T) {
		// Keys under the prefix that are not registrations (hand-written, corrupt) are ignored,
		// on the first read and through the watch.
		const prefix = "/t/foreign"
		if _, err := cl.Put(ctx, prefix+"/X/junk", "not json"); err != nil {
			t.Fatal(err)
		}
		st := newStore(t, cl, etcdstore.Config{Prefix: prefix})
		for i, v := range []string{`{"name":"Y","ip":"1.2.3.4","port":1}`, `{"name":"Z","ip":"1.2.3.4","port":[1]}`, strings.Repeat("x", 5000)} {
			if _, err := cl.Put(ctx, fmt.Sprintf("%s/Z/%d", prefix, i), v); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := st.Register(ctx, time.Now(), ep(9), []string{"OK"}); err != nil {
			t.Fatal(err)
		}
		if names, entries := st.Counts(); names != 1 || entries != 1 {
			t.Fatalf("Counts = %d, %d; want 1, 1", names, entries)
		}
	})
}

// TestEtcdStoreHostile: a REGISTER flood and an etcd that hangs cost bounded memory and
// goroutines, and QUERY keeps being answered from the cache meanwhile.
func TestEtcdStoreHostile(t *testing.T) {
	cluster := etcdtest.Start(t, 3)
	cl := cluster.Client()
	st := newStore(t, cl, etcdstore.Config{Prefix: "/t/hostile", MaxRegistrations: 50, MaxEndpointsPerName: 10})
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log, logs := logBuffer(t)
	s := &registry.Server{Store: st, MaxPendingWrites: 8, StoreTimeout: 300 * time.Millisecond, Logger: log}
	errc := make(chan error, 1)
	go func() { errc <- s.ServePacket(pc) }()
	defer func() {
		_ = s.Close()
		<-errc
	}()
	conn, err := net.Dial("udp4", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// exchange sends req and returns the reply, or nil after 300 ms.
	exchange := func(req []byte) []byte {
		_ = conn.SetDeadline(time.Now().Add(300 * time.Millisecond))
		if _, err := conn.Write(req); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 2048)
		n, err := conn.Read(buf)
		if err != nil {
			return nil
		}
		return buf[:n]
	}
	register := func(name string, port int) []byte {
		req, _ := brine.Append(nil, brine.Tuple{"RPYC", "REGISTER", brine.Tuple{brine.Tuple{name}, int64(port)}})
		return req
	}
	query, _ := brine.Append(nil, brine.Tuple{"RPYC", "QUERY", brine.Tuple{"N0"}})

	// Registrations beyond MaxEndpointsPerName (10) replace the oldest; beyond
	// MaxRegistrations (50), new ones are refused (no reply) and refreshes accepted.
	ok := func(r []byte) bool { return string(r) == "\x08\x0bOK" }
	for i := range 52 {
		name := "N0" // 12 endpoints for N0, then 10 for each of N1...N4
		if i >= 12 {
			name = fmt.Sprintf("N%d", 1+(i-12)/10)
		}
		if r := exchange(register(name, 1000+i)); !ok(r) {
			t.Fatalf("REGISTER %d: reply %q", i, r)
		}
	}
	if eps := st.Query(time.Now(), "N0"); len(eps) != 10 || eps[0].Port != int64(1002) {
		t.Fatalf("N0 after 12 endpoints with 10 per name: %v", eps)
	}
	if names, entries := st.Counts(); names != 5 || entries != 50 {
		t.Fatalf("Counts = %d names, %d entries; want 5, 50", names, entries)
	}
	if r := exchange(register("NEW", 1)); r != nil {
		t.Fatalf("REGISTER beyond MaxRegistrations: reply %q, want none", r)
	}
	if r := exchange(register("N1", 1012)); !ok(r) {
		t.Fatalf("refresh in a full table: reply %q", r)
	}

	// etcd hangs (every member frozen): writes time out unanswered, beyond 8 at once they are
	// dropped (logged), and QUERY is still answered from the cache.
	goroutines := runtime.NumGoroutine()
	for i := range 3 {
		cluster.Member(i).Stop()
	}
	for i := range 400 {
		_, _ = conn.Write(register("N1", 1012+i%10)) // refreshes
	}
	time.Sleep(50 * time.Millisecond)
	answered := 0
	for range 20 {
		if r := exchange(query); len(r) > 1 && r[0] != 0x02 {
			answered++
		}
	}
	if answered < 15 {
		t.Errorf("%d of 20 QUERYs answered while etcd hangs", answered)
	}
	if n := runtime.NumGoroutine(); n > goroutines+40 {
		t.Errorf("%d goroutines while etcd hangs, %d before: writes are not bounded", n, goroutines)
	}
	if !strings.Contains(logs.String(), "too many store writes in progress") {
		t.Error("no log line for the dropped writes")
	}
	for i := range 3 {
		cluster.Member(i).Cont()
	}
	eventually(t, 30*time.Second, "writes accepted once etcd answers again", func() bool {
		return ok(exchange(register("N1", 1012)))
	})
}

// logBuffer returns a logger writing into a buffer, shown if the test fails.
func logBuffer(t *testing.T) (*slog.Logger, *interop.Buffer) {
	b := &interop.Buffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", b.String())
		}
	})
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}
