package registry

import (
	"slices"
	"sync"
	"time"
)

// portKey is a registered port as sent: an int64 (TCP servers) or a string (the socket path of
// a Python server listening on a unix socket). Both are comparable, so endpoint keys can be map
// keys.
type portKey = any

// endpointKey identifies a registered server: the sender's IP and its announced port.
type endpointKey struct {
	ip   string
	port portKey
}

// entry is one endpoint of a service name with the time it last registered.
type entry struct {
	key  endpointKey
	seen time.Time
}

// service is a name and its endpoints, linked in the order names were first added (Python's
// dict order, which LIST follows).
type service struct {
	name       string
	entries    []entry // unordered; usually one or a few
	prev, next *service
}

// table is a registry's state: service name → endpoints. It is safe for concurrent use.
//
// Pruning: an entry whose last registration is older than timeout is stale. Like Python, QUERY
// drops the queried name's stale entries. Unlike Python, LIST leaves out (and drops) names
// whose entries are all stale, and prune sweeps the whole table, so the table does not keep
// services that died long ago (clients cannot tell the difference).
//
// Bounds: the table holds at most maxEntries entries (0: no bound), and a name at most
// maxPerName endpoints (0: no bound; when a name is full, a new endpoint replaces its least
// recently registered one, which a QUERY reply would have been the last to include).
type table struct {
	timeout    time.Duration // see stale
	maxEntries int
	maxPerName int

	mu         sync.Mutex
	services   map[string]*service                   // guarded by mu
	head, tail *service                              // insertion order; guarded by mu
	byEndpoint map[endpointKey]map[*service]struct{} // reverse index for UNREGISTER; guarded by mu
	entries    int                                   // guarded by mu
}

func newTable(timeout time.Duration) *table {
	return &table{
		timeout:    timeout,
		services:   make(map[string]*service),
		byEndpoint: make(map[endpointKey]map[*service]struct{}),
	}
}

// stale reports whether an entry last seen at seen has expired at now. As in Python, an entry
// whose age equals the timeout exactly is kept; a zero timeout expires every entry as soon as
// time moves on, a negative one at once.
func (t *table) stale(seen, now time.Time) bool {
	return seen.Before(now.Add(-t.timeout))
}

// register records (ip, port) for every name (already upper-cased), refreshing the time stamp
// of known entries. It returns how many entries are new, and how many it dropped to keep names
// within maxPerName. If the new entries do not fit within maxEntries, it only refreshes the
// known ones and returns errTableFull.
func (t *table) register(now time.Time, ip string, names []string, port portKey) (added, replaced int, err error) {
	k := endpointKey{ip, port}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.maxEntries > 0 {
		known := 0
		for _, name := range names {
			if s := t.services[name]; s != nil && s.find(k) >= 0 {
				known++
			}
		}
		// Names may repeat: len(names)-known over-counts then, which errs on the safe side.
		if t.entries+len(names)-known > t.maxEntries {
			for _, name := range names {
				if s := t.services[name]; s != nil {
					if i := s.find(k); i >= 0 {
						s.entries[i].seen = now
					}
				}
			}
			return 0, 0, errTableFull
		}
	}
	for _, name := range names {
		s := t.services[name]
		if s == nil {
			s = t.addService(name)
		}
		if i := s.find(k); i >= 0 {
			s.entries[i].seen = now
			continue
		}
		if t.maxPerName > 0 && len(s.entries) >= t.maxPerName {
			if t.removeEntry(s, s.leastRecent()) {
				s = t.addService(name) // it was the only one (maxPerName is 1)
			}
			replaced++
		}
		s.entries = append(s.entries, entry{k, now})
		t.entries++
		set := t.byEndpoint[k]
		if set == nil {
			set = make(map[*service]struct{}, 1)
			t.byEndpoint[k] = set
		}
		set[s] = struct{}{}
		added++
	}
	return added, replaced, nil
}

// addService appends a service without entries. t.mu must be held.
func (t *table) addService(name string) *service {
	s := &service{name: name, prev: t.tail}
	if t.tail != nil {
		t.tail.next = s
	} else {
		t.head = s
	}
	t.tail = s
	t.services[name] = s
	return s
}

// unregister removes (ip, port) from every name and returns how many entries it removed.
func (t *table) unregister(ip string, port portKey) (removed int) {
	k := endpointKey{ip, port}
	t.mu.Lock()
	defer t.mu.Unlock()
	for s := range t.byEndpoint[k] {
		if i := s.find(k); i >= 0 {
			t.removeEntry(s, i)
			removed++
		}
	}
	return removed
}

// remove removes k from name only, and reports whether it was there.
func (t *table) remove(name string, k endpointKey) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.services[name]
	if s == nil {
		return false
	}
	i := s.find(k)
	if i < 0 {
		return false
	}
	t.removeEntry(s, i)
	return true
}

// namesOf returns the names k is registered under.
func (t *table) namesOf(k endpointKey) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	names := make([]string, 0, len(t.byEndpoint[k]))
	for s := range t.byEndpoint[k] {
		names = append(names, s.name)
	}
	return names
}

// live returns name's live entries ordered by last registration, oldest first (as Python sorts
// them), after dropping its stale ones. It sorts the service's own slice in place (the order of
// entries is otherwise free; a stable sort keeps registrations of the same instant in order);
// the result is valid while t.mu is held.
func (t *table) live(now time.Time, name string) []entry {
	s := t.services[name]
	if s == nil {
		return nil
	}
	t.pruneService(s, now)
	if t.services[name] == nil {
		return nil
	}
	if len(s.entries) > 1 {
		slices.SortStableFunc(s.entries, func(a, b entry) int { return a.seen.Compare(b.seen) })
	}
	return s.entries
}

// queryEntries returns name's live endpoints as the Store interface does, in one allocation.
func (t *table) queryEntries(now time.Time, name string) []Entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	live := t.live(now, name)
	if live == nil {
		return nil
	}
	out := make([]Entry, len(live))
	for i, e := range live {
		out[i] = Entry{e.key.ip, e.key.port}
	}
	return out
}

// list calls yield with each name in insertion order that has a live entry (whose IP is host,
// when filter is set), until yield returns false. Names whose entries are all stale are
// dropped on the way.
func (t *table) list(now time.Time, filter bool, host string, yield func(name string) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for s := t.head; s != nil; {
		next := s.next
		t.pruneService(s, now)
		if t.services[s.name] == s && (!filter || s.hasIP(host)) {
			if !yield(s.name) {
				return
			}
		}
		s = next
	}
}

// prune drops every stale entry and returns how many it dropped.
func (t *table) prune(now time.Time) (dropped int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for s := t.head; s != nil; {
		next := s.next
		dropped += t.pruneService(s, now)
		s = next
	}
	return dropped
}

// counts returns the number of names and of entries.
func (t *table) counts() (names, entries int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for s := t.head; s != nil; s = s.next {
		entries += len(s.entries)
	}
	return len(t.services), entries
}

// pruneService drops s's stale entries (and s itself when none is left). t.mu must be held.
func (t *table) pruneService(s *service, now time.Time) (dropped int) {
	for i := 0; i < len(s.entries); {
		if t.stale(s.entries[i].seen, now) {
			if t.removeEntry(s, i) {
				return dropped + 1
			}
			dropped++
			continue
		}
		i++
	}
	return dropped
}

// removeEntry removes s.entries[i], and s from the table if it was the last; it reports whether
// s was removed. t.mu must be held.
func (t *table) removeEntry(s *service, i int) (gone bool) {
	k := s.entries[i].key
	t.entries--
	last := len(s.entries) - 1
	s.entries[i] = s.entries[last]
	s.entries[last] = entry{}
	s.entries = s.entries[:last]
	if set := t.byEndpoint[k]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(t.byEndpoint, k)
		}
	}
	if len(s.entries) > 0 {
		return false
	}
	delete(t.services, s.name)
	if s.prev != nil {
		s.prev.next = s.next
	} else {
		t.head = s.next
	}
	if s.next != nil {
		s.next.prev = s.prev
	} else {
		t.tail = s.prev
	}
	s.prev, s.next = nil, nil
	return true
}

func (s *service) find(k endpointKey) int {
	for i := range s.entries {
		if s.entries[i].key == k {
			return i
		}
	}
	return -1
}

// leastRecent returns the index of the entry registered least recently; s has entries.
func (s *service) leastRecent() int {
	j := 0
	for i := range s.entries {
		if s.entries[i].seen.Before(s.entries[j].seen) {
			j = i
		}
	}
	return j
}

func (s *service) hasIP(ip string) bool {
	for i := range s.entries {
		if s.entries[i].key.ip == ip {
			return true
		}
	}
	return false
}
