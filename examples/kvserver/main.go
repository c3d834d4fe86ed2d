// Command kvserver is a Go RPyC service that plain Python rpyc clients use: a key-value store
// with subscriptions (Python callbacks called by Go on every change). See client.py.
//
//	go run ./examples/kvserver -addr 127.0.0.1:18861
//	/usr/bin/python3 examples/kvserver/client.py 127.0.0.1:18861
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/netref"
	"github.com/gorpyc/rpyc/protocol"
	"github.com/gorpyc/rpyc/registry"
	"github.com/gorpyc/rpyc/server"
)

// KVService is the service. Python sees its exported methods as root.get, root.set, ...; the
// service name is "KV" (the type name without "Service").
type KVService struct {
	mu   sync.Mutex
	data map[string]string
	subs map[*netref.Ref]struct{}
}

// Get returns the value of key; a missing key raises KeyError in Python.
func (s *KVService) Get(key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.data[key]
	if !ok {
		return "", &protocol.RemoteError{Module: "builtins", Name: "KeyError", Args: brine.Tuple{key}}
	}
	return v, nil
}

// Set stores value under key and calls every subscriber with (key, value).
func (s *KVService) Set(ctx context.Context, key, value string) (int, error) {
	if key == "" {
		return 0, fmt.Errorf("empty key: %w", protocol.ValueError)
	}
	s.mu.Lock()
	s.data[key] = value
	subs := make([]*netref.Ref, 0, len(s.subs))
	for r := range s.subs {
		subs = append(subs, r)
	}
	s.mu.Unlock()
	notified := 0
	for _, cb := range subs {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := cb.Call(cctx, key, value)
		cancel()
		if err != nil {
			s.unsubscribe(cb) // a subscriber that fails is dropped
			continue
		}
		notified++
	}
	return notified, nil
}

// Delete removes key.
func (s *KVService) Delete(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.data[key]
	delete(s.data, key)
	return ok
}

// Keys returns the keys, sorted (a tuple in Python).
func (s *KVService) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.data))
	for k := range s.data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Snapshot returns a copy of the store; Python gets a live proxy that behaves like a dict.
func (s *KVService) Snapshot() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.data))
	for k, v := range s.data {
		out[k] = v
	}
	return out
}

// Subscribe registers a Python callable, called as callback(key, value) on every Set.
func (s *KVService) Subscribe(callback *netref.Ref) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs[callback] = struct{}{}
	return len(s.subs)
}

// Unsubscribe removes a callback registered by the same connection.
func (s *KVService) Unsubscribe(callback *netref.Ref) bool { return s.unsubscribe(callback) }

func (s *KVService) unsubscribe(cb *netref.Ref) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.subs[cb]
	delete(s.subs, cb)
	return ok
}

// OnDisconnect drops the subscriptions of a client that went away.
func (s *KVService) OnDisconnect(c *protocol.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for r := range s.subs {
		if r.Conn() == c {
			delete(s.subs, r)
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18861", "listen address")
	reg := flag.String("registry", "", "register with the TCP registry at host:port (empty: don't)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Error("listen", "err", err)
		os.Exit(1)
	}
	fmt.Printf("LISTENING %s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	svc := &KVService{data: map[string]string{}, subs: map[*netref.Ref]struct{}{}}
	srv := &server.Server{Service: svc, Logger: log}
	if *reg != "" {
		host, _, _ := net.SplitHostPort(ln.Addr().String())
		srv.Registrar = &registry.TCPClient{Addr: *reg, Interface: host}
	}
	if err := srv.Serve(ctx, ln); err != nil && err != server.ErrServerClosed {
		log.Error("serve", "err", err)
		os.Exit(1)
	}
}
