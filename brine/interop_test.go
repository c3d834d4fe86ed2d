//go:build unix

package brine_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/internal/brinetest"
	"github.com/gorpyc/rpyc/internal/interop"
)

// interopValues is how many random values each interop test exchanges per peer.
const interopValues = 3000

// interopSeed is the seed of the random values; GORPYC_INTEROP_SEED overrides it.
func interopSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(20240611)
	if s := os.Getenv("GORPYC_INTEROP_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("GORPYC_INTEROP_SEED: %v", err)
		}
	}
	t.Logf("seed %d (set GORPYC_INTEROP_SEED to change)", seed)
	return seed
}

// startBrinePeer starts tox-interop/brine_peer.py under p and returns a channel connected to it.
// The whole exchange must finish within a minute.
func startBrinePeer(t *testing.T, p interop.Peer) *channel.Channel {
	t.Helper()
	proc := p.Start(t, "brine_peer.py")
	conn, err := proc.Dial(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	ch := channel.New(conn, channel.Config{})
	t.Cleanup(func() {
		_ = ch.Send([]byte("Q"))
		_ = ch.Close()
	})
	return ch
}

// hasMultiSet reports whether v contains a frozenset with more than one member, which Python
// re-dumps in its own hash order.
func hasMultiSet(v any) bool {
	switch x := v.(type) {
	case brine.FrozenSet:
		if len(x) > 1 {
			return true
		}
		for _, m := range x {
			if hasMultiSet(m) {
				return true
			}
		}
	case brine.Tuple:
		for _, m := range x {
			if hasMultiSet(m) {
				return true
			}
		}
	case brine.Slice:
		return hasMultiSet(x.Start) || hasMultiSet(x.Stop) || hasMultiSet(x.Step)
	}
	return false
}

// short abbreviates a hex dump for failure messages.
func short(b []byte) string {
	if len(b) > 96 {
		return fmt.Sprintf("%x... (%d bytes)", b[:96], len(b))
	}
	return fmt.Sprintf("%x", b)
}

// TestInteropGoToPython sends Go dumps to Python's brine.load and checks Python's re-dump.
func TestInteropGoToPython(t *testing.T) {
	seed := interopSeed(t)
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		ch := startBrinePeer(t, p)
		r := rand.New(rand.NewPCG(seed, 1))
		var byteCompared, setCompared int
		for i := range interopValues {
			v := brinetest.Random(r, 3)
			want, err := brine.Dump(v)
			if err != nil {
				t.Fatalf("value %d: Dump(%#v): %v", i, v, err)
			}
			if err := ch.Send(append([]byte{'E'}, want...)); err != nil {
				t.Fatalf("value %d: send: %v", i, err)
			}
			reply, err := ch.Recv()
			if err != nil {
				t.Fatalf("value %d: recv: %v", i, err)
			}
			if len(reply) == 0 || reply[0] != 'E' {
				t.Fatalf("value %d: Python could not load %s: %q", i, short(want), reply)
			}
			got := reply[1:]
			if !hasMultiSet(v) {
				byteCompared++
				if !bytes.Equal(got, want) {
					t.Errorf("value %d %#v:\n go dump     %s\n python dump %s", i, v, short(want), short(got))
				}
			} else {
				setCompared++
				back, err := brine.Load(got)
				if err != nil {
					t.Errorf("value %d: loading Python's dump %s: %v", i, short(got), err)
				} else if !brine.Equal(back, v) {
					t.Errorf("value %d: Python's re-dump %s loads as %#v, want %#v", i, short(got), back, v)
				} else if again, err := brine.Dump(back); err != nil || !bytes.Equal(again, got) {
					t.Errorf("value %d: Go re-dump of Python's %s is %s (%v)", i, short(got), short(again), err)
				}
			}
			if t.Failed() && i > 0 && i%100 == 0 {
				t.FailNow() // enough to debug
			}
		}
		t.Logf("%d values: %d compared byte for byte, %d (with multi-member frozensets) compared as values",
			interopValues, byteCompared, setCompared)
		if byteCompared == 0 || setCompared == 0 {
			t.Errorf("want both comparison kinds exercised, got %d byte / %d set", byteCompared, setCompared)
		}
	})
}

// TestInteropPythonToGo loads values dumped by Python's brine and sends Go's re-dumps back.
func TestInteropPythonToGo(t *testing.T) {
	seed := interopSeed(t)
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		ch := startBrinePeer(t, p)
		if err := ch.Send(fmt.Appendf(nil, "G%d %d", seed, interopValues)); err != nil {
			t.Fatal(err)
		}
		var redumps [][]byte
		kinds := map[string]int{}
		for {
			msg, err := ch.Recv()
			if err != nil {
				t.Fatalf("after %d values: recv: %v", len(redumps), err)
			}
			if len(msg) == 1 && msg[0] == 'D' {
				break
			}
			i := len(redumps)
			if len(msg) < 5 || msg[0] != 'V' {
				t.Fatalf("value %d: unexpected frame %q", i, short(msg))
			}
			n := int(binary.BigEndian.Uint32(msg[1:5]))
			if 5+n > len(msg) {
				t.Fatalf("value %d: JSON length %d overflows the %d-byte frame", i, n, len(msg))
			}
			var typed brinetest.Typed
			if err := json.Unmarshal(msg[5:5+n], &typed); err != nil {
				t.Fatalf("value %d: %v", i, err)
			}
			kinds[typed.T]++
			want, err := brinetest.FromTyped(typed)
			if err != nil {
				t.Fatalf("value %d: typed %s: %v", i, msg[5:5+n], err)
			}
			pyDump := msg[5+n:]
			v, err := brine.Load(pyDump)
			if err != nil {
				t.Fatalf("value %d: Load(%s) (typed %s): %v", i, short(pyDump), msg[5:5+n], err)
			}
			if !brine.Equal(v, want) {
				t.Errorf("value %d: Load(%s) = %#v, typed JSON says %#v", i, short(pyDump), v, want)
			}
			redump, err := brine.Dump(v)
			if err != nil {
				t.Fatalf("value %d: Dump(%#v): %v", i, v, err)
			}
			if !bytes.Equal(redump, pyDump) {
				t.Errorf("value %d %#v:\n python dump %s\n go re-dump  %s", i, v, short(pyDump), short(redump))
			}
			redumps = append(redumps, redump)
		}
		if len(redumps) != interopValues {
			t.Fatalf("Python sent %d values, want %d", len(redumps), interopValues)
		}
		t.Logf("top-level kinds: %v", kinds)
		for i, d := range redumps {
			if err := ch.Send(append([]byte{'C'}, d...)); err != nil {
				t.Fatalf("value %d: send: %v", i, err)
			}
		}
		if err := ch.Send([]byte("F")); err != nil {
			t.Fatal(err)
		}
		verdict, err := ch.Recv()
		if err != nil {
			t.Fatalf("verdict: %v", err)
		}
		if want := fmt.Sprintf("Rok %d", interopValues); string(verdict) != want {
			t.Errorf("Python verdict %q, want %q", verdict, want)
		}
	})
}

// TestInteropGolden re-proves the committed golden files against every peer.
func TestInteropGolden(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		out := p.Run(t, filepath.Join(interop.RepoRoot(), "testdata", "gen_golden.py"), "--check")
		t.Log(strings.TrimSpace(out))
	})
}
