//go:build unix

package rpyc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/internal/interop"
)

// useCacheFile points the dialect cache at a new file and empties the process's memory, as if
// this were a new process; both are restored when the test ends.
func useCacheFile(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "cache", "dialects.json")
	SetDialectCacheFile(path)
	dialects.Clear()
	t.Cleanup(func() { SetDialectCacheFile(""); dialects.Clear() })
	return path
}

// TestDialectCacheFile: entries survive the process's memory; a corrupt file is ignored and
// replaced; the file keeps the newest MaxDialectCacheEntries; no temporary file stays behind.
func TestDialectCacheFile(t *testing.T) {
	path := useCacheFile(t)
	rememberDialect("10.0.0.1:18861", compat.V6)
	dialects.Clear() // a new process
	if d, ok := lookupDialect("10.0.0.1:18861"); !ok || d != compat.V6 {
		t.Fatalf("after the memory was cleared: %v, %v; want v6 from the file", d, ok)
	}
	if _, ok := lookupDialect("10.0.0.2:18861"); ok {
		t.Fatal("an unknown address was found")
	}

	if err := os.WriteFile(path, []byte(`{"format": "gorpyc dialect cache 1", "entries": {`), 0o600); err != nil {
		t.Fatal(err)
	}
	dialects.Clear()
	if _, ok := lookupDialect("10.0.0.1:18861"); ok {
		t.Fatal("an entry was read from a corrupt file")
	}
	rememberDialect("10.0.0.3:18861", compat.V5)
	if f := readCache(path); len(f.Entries) != 1 || f.Entries["10.0.0.3:18861"].Dialect != "v5" {
		t.Fatalf("the corrupt file was not replaced: %+v", f)
	}

	f := readCache(path)
	for i := range MaxDialectCacheEntries + 10 {
		f.Entries[fmt.Sprintf("old%d:1", i)] = cacheEntry{Dialect: "v5", Learned: int64(i)}
	}
	if err := writeCache(path, f); err != nil {
		t.Fatal(err)
	}
	rememberDialect("10.0.0.4:18861", compat.V6)
	f = readCache(path)
	if len(f.Entries) != MaxDialectCacheEntries {
		t.Fatalf("the file holds %d entries, want %d", len(f.Entries), MaxDialectCacheEntries)
	}
	for _, k := range []string{"10.0.0.4:18861", "10.0.0.3:18861", fmt.Sprintf("old%d:1", MaxDialectCacheEntries+9)} {
		if _, ok := f.Entries[k]; !ok {
			t.Errorf("a recent entry %s was dropped", k)
		}
	}
	if _, ok := f.Entries["old0:1"]; ok {
		t.Error("the oldest entry was kept")
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the cache file: %v, %v; want mode 0600", fi, err)
	}
	if names, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*")); len(names) != 1 {
		t.Errorf("the cache directory holds %v, want the file alone", names)
	}
}

// TestInteropDialectCacheFile: with the cache file, a new process (here: the memory cleared)
// probes a server in the dialect learned before. The first connect to a 6.x server leaves
// exactly one ValueError traceback in its log (the refused v5 probe); connects from "new
// processes" after it leave none. A 5.x server logs nothing either way.
func TestInteropDialectCacheFile(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		path := useCacheFile(t)
		proc := p.Start(t, "transport_server.py", "--port", "0")
		addr, err := proc.WaitListening(20 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		six := strings.HasPrefix(p.Version, "6.")
		for i := range 3 {
			dialects.Clear() // a new process
			conn, err := Connect(ctx, addr)
			if err != nil {
				t.Fatalf("connect %d: %v", i, err)
			}
			root, err := conn.Root(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n, err := As[int](root.CallMethod(ctx, "add", 1, 2)); err != nil || n != 3 {
				t.Fatalf("add = %v, %v", n, err)
			}
			conn.Close()
			// Python logs the refused probe from the server thread of that connection: wait for
			// it to end (a new connection is served, and logs, only after the earlier ones).
			time.Sleep(200 * time.Millisecond)
			// A refused probe is logged twice by a 6.x ThreadedServer: its logger's "client
			// connection terminated abruptly" with the traceback, then the thread's uncaught
			// exception ("Exception in thread ..."), both ending in the ValueError.
			want := 0
			if six {
				want = 1 // the first connect's, and no more
			}
			e := proc.Stderr()
			if n, m := strings.Count(e, "terminated abruptly"), strings.Count(e, "ValueError: invalid message type"); n != want || m != 2*want {
				t.Fatalf("after connect %d the server logged %d refused connections and %d ValueErrors, want %d and %d:\n%s",
					i, n, m, want, 2*want, e)
			}
		}
		if f := readCache(path); f.Entries[addr].Dialect != map[bool]string{false: "v5", true: "v6"}[six] {
			t.Errorf("the cache file holds %+v for %s", f.Entries[addr], addr)
		}
		if six {
			t.Logf("what a 6.x server logs for the refused v5 probe:\n%s", proc.Stderr())
		}
	})
}
