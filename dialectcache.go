package rpyc

import (
	"cmp"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/gorpyc/rpyc/compat"
)

// MaxDialectCacheEntries bounds the dialect cache file: beyond it, the entries learned longest
// ago are dropped.
const MaxDialectCacheEntries = 1000

// SetDialectCacheFile makes the dialect memory of Connect, ConnectSubproc and ConnectVia
// outlive the process: the dialect each address (or command) answered in is kept in the JSON file at path,
// so that a new process probes a 6.x server in v6 at once and the server logs no refused v5
// probe (see [Connect]). "" turns the file off (the default: the memory is then per process).
//
// The file is read when an address is not yet known to this process, and rewritten (to a
// temporary file in the same directory, renamed over it) each time an address's dialect is
// learned or changes: never on a connect that confirms what was known. It holds at most
// [MaxDialectCacheEntries] entries, the oldest learned dropped. A file that cannot be read or
// parsed is ignored, and replaced at the next write. Processes sharing the file may write it at
// the same time: each write is whole, and the last writer wins (an entry another process added
// meanwhile may be lost, and is learned again, with one more probe, next time). Its directory
// is created (mode 0700) if needed; the file has mode 0600.
//
// A typical path is filepath.Join(os.UserCacheDir(), "gorpyc", "dialects.json").
func SetDialectCacheFile(path string) {
	dcache.mu.Lock()
	dcache.path = path
	dcache.mu.Unlock()
}

// dialects remembers, per address, the dialect each server answered in (for this process), so
// that only the first Connect to a 6.x server costs a refused probe. The cache file, if set,
// extends it across processes.
var dialects sync.Map // address -> compat.Dialect

var dcache struct {
	mu   sync.Mutex // serialises this process's reads and writes of the file
	path string
}

// cacheFile is the cache file's content.
type cacheFile struct {
	Format  string                `json:"format"` // "gorpyc dialect cache 1"
	Entries map[string]cacheEntry `json:"entries"`
}

type cacheEntry struct {
	Dialect string `json:"dialect"` // "v5" or "v6"
	Learned int64  `json:"learned"` // Unix seconds
}

const cacheFormat = "gorpyc dialect cache 1"

// lookupDialect returns the dialect address answered in before: from this process's memory, or
// from the cache file.
func lookupDialect(address string) (compat.Dialect, bool) {
	if d, ok := dialects.Load(address); ok {
		return d.(compat.Dialect), true
	}
	dcache.mu.Lock()
	defer dcache.mu.Unlock()
	if dcache.path == "" {
		return compat.Auto, false
	}
	e, ok := readCache(dcache.path).Entries[address]
	if !ok {
		return compat.Auto, false
	}
	d, err := compat.ParseDialect(e.Dialect)
	if err != nil || d == compat.Auto {
		return compat.Auto, false
	}
	dialects.Store(address, d)
	return d, true
}

// rememberDialect records that address answered in d, in memory and, when it is news, in the
// cache file.
func rememberDialect(address string, d compat.Dialect) {
	if d == compat.Auto {
		return
	}
	if old, ok := dialects.Swap(address, d); ok && old == d {
		return
	}
	dcache.mu.Lock()
	defer dcache.mu.Unlock()
	if dcache.path == "" {
		return
	}
	f := readCache(dcache.path)
	f.Entries[address] = cacheEntry{Dialect: d.String(), Learned: time.Now().Unix()}
	if len(f.Entries) > MaxDialectCacheEntries {
		keys := slices.SortedFunc(maps.Keys(f.Entries), func(a, b string) int {
			return cmp.Compare(f.Entries[b].Learned, f.Entries[a].Learned) // newest first
		})
		for _, k := range keys[MaxDialectCacheEntries:] {
			delete(f.Entries, k)
		}
	}
	_ = writeCache(dcache.path, f) // the memory still works without the file
}

// readCache reads the cache file; a missing, unreadable or corrupt file reads as empty.
func readCache(path string) cacheFile {
	var f cacheFile
	if b, err := os.ReadFile(path); err == nil && len(b) <= 1<<20 {
		if json.Unmarshal(b, &f) != nil || f.Format != cacheFormat {
			f = cacheFile{}
		}
	}
	f.Format = cacheFormat
	if f.Entries == nil {
		f.Entries = map[string]cacheEntry{}
	}
	return f
}

// writeCache replaces the cache file atomically: readers see the old file or the new one.
func writeCache(path string, f cacheFile) error {
	b, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(b, '\n'))
	if e := tmp.Close(); err == nil {
		err = e
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
