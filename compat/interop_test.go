//go:build unix

package compat_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/internal/interop"
)

// TestInteropBuiltinNetrefNames compares Features.BuiltinNetrefNames with the names for which a
// real Python client builds proxy classes without HANDLE_INSPECT.
func TestInteropBuiltinNetrefNames(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		raw, err := p.Command(ctx, "-c",
			"import json, rpyc.core.netref as n; print(json.dumps(sorted(n.builtin_classes_cache)))").Output()
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		d := compat.V5
		if strings.HasPrefix(p.Version, "6.") {
			d = compat.V6
		}
		got := slices.Sorted(slices.Values(compat.For(d).BuiltinNetrefNames))
		if !slices.Equal(got, want) {
			t.Fatalf("builtin netref names for %v:\n got %v\nwant %v (Python %s)", d, got, want, p.Version)
		}
	})
}

// TestInteropUpperTable regenerates upper_table.go with each peer's Python and compares.
func TestInteropUpperTable(t *testing.T) {
	committed, err := os.ReadFile("upper_table.go")
	if err != nil {
		t.Fatal(err)
	}
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		if got := p.Run(t, "compat_gen_upper.py"); got != string(committed) {
			t.Errorf("upper_table.go differs from what compat_gen_upper.py prints under this Python; regenerate it")
		}
	})
}
