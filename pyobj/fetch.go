package pyobj

import (
	"context"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/netref"
)

// Python callers pass lists and dicts where Go wants []T, map[K]V or a struct; they arrive as
// references to the caller's objects. An argument that does not convert as received and holds
// such references is copied by value with netref.Copy (the copy netref.As makes of results: a
// constant number of requests for a list or dict of literals, through repr(), which every
// Python configuration allows; BUFFITER and pipelined __getitem__ for other items; nested
// containers alike) and converted again, so that the copy fills the Go parameter like a
// received tuple or dict would. Other objects stay references.

// holdsRef reports whether v is, or is a tuple holding, a reference to a peer object.
func holdsRef(v any, depth int) bool {
	switch x := v.(type) {
	case *netref.Ref:
		return x != nil
	case brine.Tuple:
		if depth < brine.MaxDepth {
			for _, it := range x {
				if holdsRef(it, depth+1) {
					return true
				}
			}
		}
	}
	return false
}

// copyRemote returns v with the peer's containers in it copied by value (netref.Copy).
func copyRemote(ctx context.Context, v any) (any, error) {
	return netref.Copy(ctx, v)
}
