// Package etcdstore is a [registry.Store] kept in etcd (v3 API), so that several registry
// servers, on several hosts, answer Python and Go clients with one view of the registrations
// and keep answering when one of them, or a minority of the etcd members, is lost.
//
// # Layout
//
// Each registration (one name, one endpoint) is a key
//
//	<prefix>/<NAME>/<ip>:<port>
//
// (NAME and a unix-socket port are path-escaped; a unix-socket port reads "unix:<path>") whose
// value is JSON, {"name":"FOO","ip":"10.0.0.7","port":18812}, attached to a lease whose TTL is
// the pruning timeout. A REGISTER puts the keys, refreshing the lease (KeepAliveOnce) when the
// endpoint's keys for those names already share one, granting a new one otherwise; a server
// that stops refreshing disappears when its lease expires, as Python's registry forgets it
// after the pruning timeout. An UNREGISTER deletes the endpoint's keys that the cache knows (a
// registration made through another server a moment before, not yet seen, expires instead).
//
// # Reads
//
// QUERY, LIST and Counts are answered from a local cache, as fast as the in-memory table: the
// store reads the prefix once (a consistent, paged Get), then watches it from the next
// revision; on a watch error (a compaction, the loss of the etcd leader) it reads it again.
// A write is acknowledged once etcd has committed it and the cache has seen it come back
// through the watch, so a client that registers through one server and queries the same
// one finds its registration; another server finds it within one watch round trip. QUERY
// orders endpoints by the revision of their last registration, oldest first, the order of
// Python's time stamps.
//
// While no etcd member can be reached, reads go on from the cache and writes fail (they are
// not acknowledged, so clients retry). The store bounds its cache (MaxRegistrations) and
// endpoints per name (MaxEndpointsPerName) as [registry.Server] bounds its table.
package etcdstore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gorpyc/rpyc/registry"
)

// DefaultPrefix is the default of [Config.Prefix].
const DefaultPrefix = "/rpyc-registry"

// Config configures a [Store]. The zero value is ready to use.
type Config struct {
	// Prefix is the key prefix of the registrations; "" means "/rpyc-registry"
	// ([DefaultPrefix]). Registries sharing a prefix share their registrations.
	Prefix string
	// PruneTimeout is the TTL of the leases, rounded up to whole seconds; 0 means 240 s
	// ([registry.DefaultPruneTimeout]). etcd raises TTLs below its minimum (about 2 s with
	// the default election timeout), and a negative value means that minimum.
	PruneTimeout time.Duration
	// MaxRegistrations bounds the registrations held, as [registry.Server.MaxRegistrations]
	// does: a REGISTER adding registrations beyond it is refused with
	// [registry.ErrTableFull], and the cache holds no more (it logs keys it leaves out). 0
	// means 131,072 ([registry.DefaultMaxRegistrations]), a negative value no bound.
	MaxRegistrations int
	// MaxEndpointsPerName bounds the endpoints of one name, as
	// [registry.Server.MaxEndpointsPerName] does: a new endpoint for a full name replaces the
	// one registered least recently. 0 means 1024, a negative value no bound.
	MaxEndpointsPerName int
	// Logger receives warnings (a lost watch, keys that do not parse) and Debug lines; nil
	// logs nothing.
	Logger *slog.Logger
}

// maxTxnOps is the most operations put in one transaction (etcd's --max-txn-ops is 128 by
// default).
const maxTxnOps = 64

// maxValueSize bounds the value of a key the store accepts.
const maxValueSize = 4096

// syncPage is how many keys one Get of a full read returns.
const syncPage = 1000

// ackWait bounds how long a committed write waits to come back through the watch before it is
// acknowledged anyway.
const ackWait = 500 * time.Millisecond

// never is the cache's pruning timeout: entries stay until etcd deletes them.
const never = time.Duration(1 << 62)

// Store is a [registry.Store] kept in etcd. Create it with [New]; it is safe for concurrent
// use. Close it after the servers using it.
type Store struct {
	c          *clientv3.Client
	prefix     string // with its trailing slash
	ttl        int64
	maxEntries int
	maxPerName int
	log        *slog.Logger

	cache atomic.Pointer[registry.MemoryStore]

	mu     sync.Mutex // guards the fields below
	keys   map[string]keyInfo
	leases map[clientv3.LeaseID]int // keys per lease
	rev    int64                    // the revision the cache reflects
	revCh  chan struct{}            // closed when rev advances

	cancel context.CancelFunc
	done   chan struct{}
}

// keyInfo is what the cache knows of one key.
type keyInfo struct {
	name  string
	entry registry.Entry
	lease clientv3.LeaseID
}

// New reads the registrations under cfg.Prefix through c and returns a Store that keeps
// following them until Close. It fails if etcd cannot be read before ctx ends. The Store does
// not close c.
func New(ctx context.Context, c *clientv3.Client, cfg Config) (*Store, error) {
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	timeout := cfg.PruneTimeout
	if timeout == 0 {
		timeout = registry.DefaultPruneTimeout
	}
	s := &Store{
		c:          c,
		prefix:     strings.TrimSuffix(prefix, "/") + "/",
		ttl:        max(int64(math.Ceil(timeout.Seconds())), 1),
		maxEntries: bound(cfg.MaxRegistrations, registry.DefaultMaxRegistrations),
		maxPerName: bound(cfg.MaxEndpointsPerName, registry.DefaultMaxEndpointsPerName),
		log:        cfg.Logger,
		revCh:      make(chan struct{}),
		done:       make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.sync(ctx); err != nil {
		return nil, fmt.Errorf("etcdstore: reading %s: %w", s.prefix, err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.run(runCtx)
	return s, nil
}

// bound reads a limit: 0 means def, a negative value no bound (0).
func bound(v, def int) int { return max(cmp.Or(v, def), 0) }

// Close stops following etcd and returns once the watch has ended. Writes in progress fail.
func (s *Store) Close() error {
	s.cancel()
	<-s.done
	return nil
}

// Key returns the key of name's registration of e.
func (s *Store) Key(name string, e registry.Entry) string {
	var port string
	switch p := e.Port.(type) {
	case int64:
		port = strconv.FormatInt(p, 10)
	case string:
		port = "unix:" + url.PathEscape(p)
	default:
		port = fmt.Sprint(p)
	}
	return s.prefix + url.PathEscape(name) + "/" + net.JoinHostPort(e.IP, port)
}

// record is the JSON value of a key.
type record struct {
	Name string `json:"name"`
	IP   string `json:"ip"`
	Port any    `json:"port"`
}

func encode(name string, e registry.Entry) string {
	b, _ := json.Marshal(record{name, e.IP, e.Port}) // strings and an int64: cannot fail
	return string(b)
}

// decode parses a key's value and checks that it belongs to that key.
func (s *Store) decode(kv *mvccpb.KeyValue) (name string, e registry.Entry, err error) {
	if len(kv.Value) > maxValueSize {
		return "", e, fmt.Errorf("value of %d bytes", len(kv.Value))
	}
	d := json.NewDecoder(bytes.NewReader(kv.Value))
	d.UseNumber()
	var r record
	if err := d.Decode(&r); err != nil {
		return "", e, err
	}
	e.IP = r.IP
	switch p := r.Port.(type) {
	case json.Number:
		n, err := p.Int64()
		if err != nil {
			return "", e, fmt.Errorf("port %s: %w", p, err)
		}
		e.Port = n
	case string:
		e.Port = p
	default:
		return "", e, fmt.Errorf("port %v is neither a number nor a string", r.Port)
	}
	if s.Key(r.Name, e) != string(kv.Key) {
		return "", e, errors.New("value does not match the key")
	}
	return r.Name, e, nil
}

// Register implements [registry.Store]: it writes ep's keys for names to etcd, with the
// pruning timeout as their lease, and returns once etcd has committed them.
func (s *Store) Register(ctx context.Context, _ time.Time, ep registry.Entry, names []string) (added, replaced int, err error) {
	names = dedupe(names)
	lease, reuse, known, victims, full := s.plan(ep, names)
	var errFull error
	if full {
		// As the in-memory table: refresh the known ones only, and refuse the rest.
		names, victims, errFull = known, nil, registry.ErrTableFull
		if len(names) == 0 {
			return 0, 0, errFull
		}
	}
	ops := func(lease clientv3.LeaseID) []clientv3.Op {
		ops := make([]clientv3.Op, 0, len(names)+len(victims))
		for _, name := range names {
			ops = append(ops, clientv3.OpPut(s.Key(name, ep), encode(name, ep), clientv3.WithLease(lease)))
		}
		for _, k := range victims {
			ops = append(ops, clientv3.OpDelete(k))
		}
		return ops
	}
	if reuse {
		// A refresh: the keep-alive and the puts at once, one round trip instead of two.
		kaErr := make(chan error, 1)
		go func() {
			_, err := s.c.KeepAliveOnce(ctx, lease)
			kaErr <- err
		}()
		rev, _, err := s.commit(ctx, ops(lease))
		if kerr := <-kaErr; err == nil && kerr == nil {
			s.awaitRev(ctx, rev)
			return 0, len(victims), errFull
		} else if !errors.Is(err, rpctypes.ErrLeaseNotFound) && !errors.Is(kerr, rpctypes.ErrLeaseNotFound) {
			return 0, 0, fmt.Errorf("etcdstore: register: %w", errors.Join(err, kerr))
		}
		// The lease expired meanwhile: grant another.
	}
	g, err := s.c.Grant(ctx, s.ttl)
	if err != nil {
		return 0, 0, fmt.Errorf("etcdstore: lease: %w", err)
	}
	rev, _, err := s.commit(ctx, ops(g.ID))
	if err != nil {
		return 0, 0, fmt.Errorf("etcdstore: register: %w", err)
	}
	s.awaitRev(ctx, rev)
	return len(names) - len(known), len(victims), errFull
}

// plan looks up ep's keys for names in the cache: the lease they share, if it holds just them
// (reuse), the names already registered, the keys to delete to keep names within maxPerName,
// and whether the new ones would overflow maxEntries.
func (s *Store) plan(ep registry.Entry, names []string) (lease clientv3.LeaseID, reuse bool, known []string, victims []string, full bool) {
	cache := s.cache.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	reuse = true
	for _, name := range names {
		info, ok := s.keys[s.Key(name, ep)]
		if !ok {
			reuse = false
			continue
		}
		known = append(known, name)
		if lease == 0 {
			lease = info.lease
		} else if info.lease != lease {
			reuse = false
		}
	}
	reuse = reuse && lease != 0 && s.leases[lease] == len(names)
	if s.maxEntries > 0 && len(s.keys)+len(names)-len(known) > s.maxEntries {
		return lease, false, known, nil, true
	}
	if s.maxPerName > 0 {
		for _, name := range names {
			if slices.Contains(known, name) {
				continue
			}
			if eps := cache.Query(time.Unix(0, 0), name); len(eps) >= s.maxPerName {
				victims = append(victims, s.Key(name, eps[0]))
			}
		}
	}
	return lease, reuse, known, victims, false
}

// Unregister implements [registry.Store]: it deletes ep's keys, as the cache knows them, and
// returns once etcd has committed that.
func (s *Store) Unregister(ctx context.Context, ep registry.Entry) (int, error) {
	names := s.cache.Load().Names(ep)
	if len(names) == 0 {
		return 0, nil
	}
	ops := make([]clientv3.Op, len(names))
	for i, name := range names {
		ops[i] = clientv3.OpDelete(s.Key(name, ep))
	}
	rev, deleted, err := s.commit(ctx, ops)
	if err != nil {
		return 0, fmt.Errorf("etcdstore: unregister: %w", err)
	}
	if deleted > 0 {
		s.awaitRev(ctx, rev)
	}
	return deleted, nil
}

// commit runs ops in transactions of at most maxTxnOps operations and returns the revision of
// the last and how many keys they deleted.
func (s *Store) commit(ctx context.Context, ops []clientv3.Op) (rev int64, deleted int, err error) {
	for len(ops) > 0 {
		n := min(len(ops), maxTxnOps)
		resp, err := s.c.Txn(ctx).Then(ops[:n]...).Commit()
		if err != nil {
			return 0, deleted, err
		}
		rev = resp.Header.Revision
		for _, r := range resp.Responses {
			if d := r.GetResponseDeleteRange(); d != nil {
				deleted += int(d.Deleted)
			}
		}
		ops = ops[n:]
	}
	return rev, deleted, nil
}

// awaitRev waits until the cache reflects revision rev, or ctx ends, or ackWait passes.
func (s *Store) awaitRev(ctx context.Context, rev int64) {
	t := time.NewTimer(ackWait)
	defer t.Stop()
	for {
		s.mu.Lock()
		cur, ch := s.rev, s.revCh
		s.mu.Unlock()
		if cur >= rev {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return
		case <-t.C:
			s.log.Debug("etcdstore: write acknowledged before the watch returned it", "revision", rev, "cache_revision", cur)
			return
		}
	}
}

// Query implements [registry.Store] from the cache.
func (s *Store) Query(_ time.Time, name string) []registry.Entry {
	return s.cache.Load().Query(time.Unix(0, 0), name)
}

// List implements [registry.Store] from the cache: names in the order of their oldest key.
func (s *Store) List(_ time.Time, filter bool, host string, yield func(name string) bool) {
	s.cache.Load().List(time.Unix(0, 0), filter, host, yield)
}

// Counts implements [registry.Store] from the cache.
func (s *Store) Counts() (names, entries int) { return s.cache.Load().Counts() }

// Revision returns the etcd revision the cache reflects.
func (s *Store) Revision() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rev
}

// run follows the prefix until ctx ends: a watch from the revision after the cache's, and a
// full read again whenever the watch fails.
func (s *Store) run(ctx context.Context) {
	defer close(s.done)
	var backoff time.Duration
	for {
		s.watch(ctx)
		for {
			if ctx.Err() != nil {
				return
			}
			backoff = min(max(2*backoff, 50*time.Millisecond), 2*time.Second)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			err := s.sync(ctx)
			if err == nil {
				backoff = 0
				break
			}
			if ctx.Err() == nil {
				s.log.Warn("etcdstore: cannot read the registrations, serving the last ones read", "err", err, "retry_in", backoff)
			}
		}
	}
}

// watch applies the changes under the prefix until the watch fails or ctx ends.
func (s *Store) watch(ctx context.Context) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := s.c.Watch(wctx, s.prefix, clientv3.WithPrefix(), clientv3.WithRev(s.Revision()+1), clientv3.WithProgressNotify())
	for wr := range wch {
		if err := wr.Err(); err != nil {
			if ctx.Err() == nil {
				s.log.Warn("etcdstore: watch failed, reading the registrations again", "err", err)
			}
			return
		}
		if wr.IsProgressNotify() {
			s.advance(wr.Header.Revision)
			continue
		}
		s.apply(wr.Events)
	}
	if ctx.Err() == nil {
		s.log.Warn("etcdstore: watch ended, reading the registrations again")
	}
}

// apply updates the cache with events, in order.
func (s *Store) apply(events []*clientv3.Event) {
	if len(events) == 0 {
		return
	}
	cache := s.cache.Load()
	bad, dropped := 0, 0
	s.mu.Lock()
	for _, ev := range events {
		switch ev.Type {
		case mvccpb.PUT:
			switch err := s.put(cache, ev.Kv); {
			case errors.Is(err, registry.ErrTableFull):
				dropped++
			case err != nil:
				bad++
			}
		case mvccpb.DELETE:
			if info, ok := s.keys[string(ev.Kv.Key)]; ok {
				cache.Remove(info.name, info.entry)
				s.forget(string(ev.Kv.Key), info)
			}
		}
	}
	s.mu.Unlock()
	s.advance(events[len(events)-1].Kv.ModRevision)
	s.logSkipped(bad, dropped)
}

// put records kv in cache and the key maps. s.mu must be held.
func (s *Store) put(cache *registry.MemoryStore, kv *mvccpb.KeyValue) error {
	name, e, err := s.decode(kv)
	if err != nil {
		return err
	}
	key := string(kv.Key)
	if _, _, err := cache.Register(context.Background(), time.Unix(0, kv.ModRevision), e, []string{name}); err != nil {
		return err
	}
	if old, ok := s.keys[key]; ok {
		s.forget(key, old)
	}
	lease := clientv3.LeaseID(kv.Lease)
	s.keys[key] = keyInfo{name, e, lease}
	s.leases[lease]++
	return nil
}

// forget removes key from the key maps. s.mu must be held.
func (s *Store) forget(key string, info keyInfo) {
	delete(s.keys, key)
	if s.leases[info.lease]--; s.leases[info.lease] <= 0 {
		delete(s.leases, info.lease)
	}
}

func (s *Store) logSkipped(bad, dropped int) {
	if bad > 0 {
		s.log.Warn("etcdstore: ignored keys that are not registrations", "prefix", s.prefix, "count", bad)
	}
	if dropped > 0 {
		s.log.Warn("etcdstore: registrations beyond MaxRegistrations left out of the cache", "count", dropped, "max_registrations", s.maxEntries)
	}
}

// advance records that the cache reflects revision rev.
func (s *Store) advance(rev int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev > s.rev {
		s.rev = rev
		close(s.revCh)
		s.revCh = make(chan struct{})
	}
}

// sync reads every key under the prefix at one revision and replaces the cache with them.
func (s *Store) sync(ctx context.Context) error {
	end := clientv3.GetPrefixRangeEnd(s.prefix)
	var kvs []*mvccpb.KeyValue
	var rev int64
	for key := s.prefix; ; {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(syncPage)}
		if rev > 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.c.Get(ctx, key, opts...)
		if err != nil {
			return err
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		kvs = append(kvs, resp.Kvs...)
		if !resp.More || len(resp.Kvs) == 0 || (s.maxEntries > 0 && len(kvs) > 2*s.maxEntries) {
			break
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	// Names in the order of their oldest key, endpoints in the order of their last write.
	slices.SortStableFunc(kvs, func(a, b *mvccpb.KeyValue) int { return cmp.Compare(a.CreateRevision, b.CreateRevision) })
	cache := registry.NewMemoryStore(never, s.maxEntries, 0)
	bad, dropped := 0, 0
	s.mu.Lock()
	s.keys = make(map[string]keyInfo, len(kvs))
	s.leases = make(map[clientv3.LeaseID]int)
	for _, kv := range kvs {
		switch err := s.put(cache, kv); {
		case errors.Is(err, registry.ErrTableFull):
			dropped++
		case err != nil:
			bad++
		}
	}
	s.cache.Store(cache)
	s.rev = 0 // the read may be older than events already applied: take its revision
	s.mu.Unlock()
	s.advance(rev)
	s.logSkipped(bad, dropped)
	s.log.Debug("etcdstore: read the registrations", "prefix", s.prefix, "keys", len(kvs), "revision", rev)
	return nil
}

// dedupe returns names without repeats, in order.
func dedupe(names []string) []string {
	out := names[:0:0]
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
