//go:build unix

package protocol

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/internal/interop"
)

// TestBuiltinHierarchyMatchesPython checks every predeclared exception class against Python's
// own class tree: the same parent chain, and the class exists in builtins.
func TestBuiltinHierarchyMatchesPython(t *testing.T) {
	peers := interop.Peers(t)
	names := make([]string, 0, len(builtinTypes))
	for n := range builtinTypes {
		names = append(names, n)
	}
	script := `
import builtins, json, sys
out = {}
for n in sys.argv[1:]:
    c = getattr(builtins, n)
    out[n] = [k.__name__ for k in c.__mro__ if k is not object]
print(json.dumps(out))
`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	raw, err := peers[0].Command(ctx, append([]string{"-c", script}, names...)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	var mro map[string][]string
	if err := json.Unmarshal(raw, &mro); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		var chain []string
		for c := n; c != ""; c = builtinParent[c] {
			chain = append(chain, c)
		}
		if strings.Join(chain, ">") != strings.Join(mro[n], ">") {
			t.Errorf("%s: gorpyc %v, Python %v", n, chain, mro[n])
		}
	}
	t.Logf("%d builtin exception classes agree with Python", len(names))
}
