package registry

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeRegistrar records calls and fails Register while failing is set.
type fakeRegistrar struct {
	mu        sync.Mutex
	calls     []string
	times     []time.Time
	failing   bool
	unregCtxt error // ctx.Err() seen by Unregister
	unregErr  error
}

func (f *fakeRegistrar) record(call string) {
	f.calls = append(f.calls, call)
	f.times = append(f.times, time.Now())
}

func (f *fakeRegistrar) Register(ctx context.Context, aliases []string, port int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("register")
	if f.failing {
		return ErrNoRegistry
	}
	return nil
}

func (f *fakeRegistrar) Unregister(ctx context.Context, port int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("unregister")
	f.unregCtxt = ctx.Err()
	return f.unregErr
}

func (f *fakeRegistrar) Discover(ctx context.Context, name string) ([]Endpoint, error) {
	return nil, ErrServiceNotFound
}

func (f *fakeRegistrar) List(ctx context.Context, filterHost string) ([]string, error) {
	return nil, ErrListingDisabled
}

func (f *fakeRegistrar) snapshot() ([]string, []time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls), slices.Clone(f.times)
}

func (f *fakeRegistrar) setFailing(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = v
}

func TestRegistryAutoRegisterSchedule(t *testing.T) {
	f := &fakeRegistrar{}
	log, _ := testLogger(t)
	a := &AutoRegistration{Registrar: f, Aliases: []string{"X"}, Port: 1, Logger: log,
		Interval: 200 * time.Millisecond, RetryInterval: 20 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- a.Run(ctx) }()

	waitCalls := func(n int) []time.Time {
		t.Helper()
		deadline := time.Now().Add(ioTimeout)
		for {
			calls, times := f.snapshot()
			if len(calls) >= n {
				return times
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d calls (%v), want %d", len(calls), calls, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	times := waitCalls(1)
	if d := times[0].Sub(start); d > 100*time.Millisecond {
		t.Errorf("first registration after %v, want at once", d)
	}
	times = waitCalls(2)
	if d := times[1].Sub(times[0]); d < 150*time.Millisecond {
		t.Errorf("re-registration after %v, want the interval (200ms)", d)
	}
	// Failures are retried at RetryInterval.
	f.setFailing(true)
	times = waitCalls(6)
	for i := 3; i < 6; i++ {
		if d := times[i].Sub(times[i-1]); d > 150*time.Millisecond {
			t.Errorf("retry %d after %v, want about 20ms", i, d)
		}
	}
	f.setFailing(false)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(ioTimeout):
		t.Fatal("Run did not return after cancel")
	}
	calls, _ := f.snapshot()
	if calls[len(calls)-1] != "unregister" || f.unregCtxt != nil {
		t.Fatalf("calls %v, unregister ctx err %v: want a final unregister with a live context", calls, f.unregCtxt)
	}
	checkNoLeaks(t)

	// Run returns the UNREGISTER error.
	f2 := &fakeRegistrar{unregErr: errors.New("boom")}
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := (&AutoRegistration{Registrar: f2, Logger: log}).Run(ctx2); err == nil || err.Error() != "boom" {
		t.Fatalf("Run = %v, want boom", err)
	}
	if err := (&AutoRegistration{}).Run(ctx2); err == nil {
		t.Fatal("Run without Registrar: no error")
	}
}

// TestRegistryAutoRegisterLive registers with a real UDP registry and disappears after cancel.
func TestRegistryAutoRegisterLive(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			addr := serve(t, &Server{}, network)
			var reg Registrar = &UDPClient{Addr: addr, Interface: "127.0.0.1", Timeout: time.Second}
			if network == "tcp" {
				reg = &TCPClient{Addr: addr, Interface: "127.0.0.1", Timeout: time.Second}
			}
			log, _ := testLogger(t)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- AutoRegister(ctx, reg, ServiceAliases("EchoService", nil), 4242, log) }()
			q := ctxTimeout(t, ioTimeout)
			var eps []Endpoint
			deadline := time.Now().Add(ioTimeout)
			for {
				var err error
				eps, err = reg.Discover(q, "echo")
				if err == nil || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if !slices.Equal(eps, []Endpoint{{"127.0.0.1", 4242}}) {
				t.Fatalf("Discover = %v", eps)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("AutoRegister = %v", err)
			}
			deadline = time.Now().Add(ioTimeout)
			for {
				_, err := reg.Discover(q, "echo")
				if errors.Is(err, ErrServiceNotFound) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after AutoRegister ended, Discover error = %v", err)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// TestRegistryLeakChecker makes sure checkNoLeaks would notice a server left running.
func TestRegistryLeakChecker(t *testing.T) {
	s := &Server{}
	s.Logger, _ = testLogger(t)
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	s.NotifyStarted = func(net.Addr) { close(started) }
	errc := make(chan error, 1)
	go func() { errc <- s.ServePacket(pc) }()
	<-started
	if len(leakedGoroutines()) == 0 {
		t.Error("a running server's janitor is not reported as a leak")
	}
	_ = s.Close()
	<-errc
	checkNoLeaks(t)
}
