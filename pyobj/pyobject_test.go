//go:build unix

package pyobj

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/internal/interop"
)

// TestSliceBoundsMatchPython compares the slice semantics used for Go slices with Python's own
// list slicing, on every combination of a grid of bounds.
func TestSliceBoundsMatchPython(t *testing.T) {
	peers := interop.Peers(t)
	const script = `
import json
vals = [None, -7, -3, -1, 0, 1, 2, 5, 9]
steps = [None, -3, -1, 1, 2]
out = []
for n in (0, 1, 5):
    for a in vals:
        for b in vals:
            for c in steps:
                out.append([n, a, b, c, list(range(n))[slice(a, b, c)]])
print(json.dumps(out))
`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	raw, err := peers[0].Command(ctx, "-c", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	var cases [][5]json.RawMessage
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	conv := func(m json.RawMessage) any {
		var v *int64
		_ = json.Unmarshal(m, &v)
		if v == nil {
			return nil
		}
		return *v
	}
	for _, c := range cases {
		var n int
		var want []int
		_ = json.Unmarshal(c[0], &n)
		_ = json.Unmarshal(c[4], &want)
		s := brine.Slice{Start: conv(c[1]), Stop: conv(c[2]), Step: conv(c[3])}
		got, err := sliceBounds(s, n)
		if err != nil {
			t.Fatalf("len %d, slice %v: %v", n, s, err)
		}
		if len(got) != len(want) {
			t.Fatalf("len %d, slice(%v, %v, %v): got %v, Python %v", n, s.Start, s.Stop, s.Step, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("len %d, slice(%v, %v, %v): got %v, Python %v", n, s.Start, s.Stop, s.Step, got, want)
			}
		}
	}
	t.Logf("%d slices agree with Python", len(cases))
	if _, err := sliceBounds(brine.Slice{Step: int64(0)}, 3); err == nil {
		t.Fatal("step 0 accepted")
	}
}

func TestPyName(t *testing.T) {
	for in, want := range map[string]string{
		"GetStatus": "get_status", "HTTPServer": "http_server", "UserID": "user_id", "V2": "v2",
		"Add": "add", "ID": "id", "GetURLs": "get_urls", "X": "x", "ParseHTTPRequest": "parse_http_request",
	} {
		if got := PyName(in); got != want {
			t.Errorf("PyName(%q) = %q, want %q", in, got, want)
		}
	}
}
