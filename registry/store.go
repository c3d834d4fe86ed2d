package registry

import (
	"context"
	"errors"
	"time"
)

// Entry is a registered server as a [Store] holds it: the IP address its registration came
// from and the port it announced, an int64 (a TCP port) or a string (the socket path of a
// Python server listening on a unix socket). Entries are comparable.
type Entry struct {
	IP   string
	Port any
}

// Store holds a registry's registrations: service name → endpoints. A [Server] uses an
// in-memory one of its own unless [Server.Store] names another, such as the etcd-backed store
// of package registry/etcdstore, which several Servers on several hosts share.
//
// Names are upper-cased by the Server before they reach the Store. Register and Unregister may
// block (a Server calls them with a deadline, outside its UDP reader); Query, List and Counts
// must not, and are answered from memory. All methods are safe for concurrent use.
type Store interface {
	// Register records ep under every name, refreshing the names it already has, at time now.
	// It returns how many entries are new and how many it dropped to keep names within a
	// bound of endpoints per name. An error means the registration must not be acknowledged
	// (errors.Is(err, ErrTableFull) when the store is full).
	Register(ctx context.Context, now time.Time, ep Entry, names []string) (added, replaced int, err error)
	// Unregister removes ep from every name and returns how many entries it removed.
	Unregister(ctx context.Context, ep Entry) (removed int, err error)
	// Query returns name's live endpoints ordered by last registration, oldest first.
	Query(now time.Time, name string) []Entry
	// List calls yield with each name that has a live endpoint (one whose IP is host, when
	// filter is set), in the order the names were first registered, until yield returns false.
	List(now time.Time, filter bool, host string, yield func(name string) bool)
	// Counts returns the number of names and of registrations (one per name and endpoint).
	Counts() (names, entries int)
}

// ErrTableFull is why a REGISTER that would add registrations beyond a store's bound (see
// [Server.MaxRegistrations]) gets no reply.
var ErrTableFull = errors.New("registration table full")

// errTableFull is the name the in-memory table has always used.
var errTableFull = ErrTableFull

// MemoryStore is the in-memory [Store], the one a [Server] uses by default: Python's
// registry table, with its pruning and the bounds described in [Server]. Create one with
// [NewMemoryStore].
type MemoryStore struct{ t *table }

// NewMemoryStore returns an empty in-memory store whose entries go stale when not refreshed
// within pruneTimeout (negative: at once), holding at most maxRegistrations entries and
// maxEndpointsPerName per name (0 or less: no bound).
func NewMemoryStore(pruneTimeout time.Duration, maxRegistrations, maxEndpointsPerName int) *MemoryStore {
	t := newTable(pruneTimeout)
	t.maxEntries = max(maxRegistrations, 0)
	t.maxPerName = max(maxEndpointsPerName, 0)
	return &MemoryStore{t}
}

// Register implements [Store]; it never blocks. When ep's new entries do not fit, it only
// refreshes its known ones and returns [ErrTableFull].
func (m *MemoryStore) Register(_ context.Context, now time.Time, ep Entry, names []string) (added, replaced int, err error) {
	return m.t.register(now, ep.IP, names, ep.Port)
}

// Unregister implements [Store]; it never fails.
func (m *MemoryStore) Unregister(_ context.Context, ep Entry) (int, error) {
	return m.t.unregister(ep.IP, ep.Port), nil
}

// Query implements [Store]; it drops name's stale entries first.
func (m *MemoryStore) Query(now time.Time, name string) []Entry { return m.t.queryEntries(now, name) }

// List implements [Store]; it drops the stale entries it meets.
func (m *MemoryStore) List(now time.Time, filter bool, host string, yield func(name string) bool) {
	m.t.list(now, filter, host, yield)
}

// Counts implements [Store], stale entries included until pruned.
func (m *MemoryStore) Counts() (names, entries int) { return m.t.counts() }

// Prune drops every stale entry and returns how many it dropped. A Server calls it
// periodically on the store it prunes (see [Server.Store]).
func (m *MemoryStore) Prune(now time.Time) int { return m.t.prune(now) }

// Remove removes ep from name only, and reports whether it was there.
func (m *MemoryStore) Remove(name string, ep Entry) bool {
	return m.t.remove(name, endpointKey{ep.IP, ep.Port})
}

// Names returns the names ep is registered under, in no particular order.
func (m *MemoryStore) Names(ep Entry) []string { return m.t.namesOf(endpointKey{ep.IP, ep.Port}) }

// pruner is a Store the Server sweeps of stale entries periodically.
type pruner interface{ Prune(now time.Time) int }
