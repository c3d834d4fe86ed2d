package hostile

import (
	"bytes"
	"compress/zlib"
	"encoding/hex"
	"io"
	"strings"
	"testing"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/compat"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The bytes of package protocol's documented root.add(1, 2) call and of package channel's
// documented GETROOT frame.
func TestDocumentedBytes(t *testing.T) {
	root := compat.IDPack{Name: "TestService", ClassID: 7, InstanceID: 2}
	got := CallAttr(compat.V5, 1, root, "add", Value(int64(1)), Value(int64(2)))
	want := unhex(t, `12 51 51 11 58 11 52 13
		11 53 12 08 0e 0b 54 65 73 74 53 65 72 76 69 63 65 57 52
		11 51 08 0c 61 64 64
		11 51 11 51 52
		11 51 02`)
	if !bytes.Equal(got, want) {
		t.Errorf("CallAttr:\n got % x\nwant % x", got, want)
	}
	if got, want := Reply(compat.V5, 1, Value(int64(3))), unhex(t, "12 52 51 11 51 53"); !bytes.Equal(got, want) {
		t.Errorf("Reply: got % x, want % x", got, want)
	}
	getroot := Request(compat.V5, 0, compat.HandleGetRoot)
	if want := unhex(t, "12 51 50 11 53 11 51 02"); !bytes.Equal(getroot, want) {
		t.Errorf("GETROOT: got % x, want % x", getroot, want)
	}
	if got, want := RawFrame(getroot), unhex(t, "00000008 00 12 51 50 11 53 11 51 02 0a"); !bytes.Equal(got, want) {
		t.Errorf("frame: got % x, want % x", got, want)
	}
	if got, want := Frame(FlagRaw, getroot), RawFrame(getroot); !bytes.Equal(got, want) {
		t.Errorf("Frame: got % x, want % x", got, want)
	}
}

func TestArgsBoxing(t *testing.T) {
	if got, want := Args(Value(int64(1)), Value("x")), (brine.Tuple{int64(1), brine.Tuple{int64(1), "x"}}); !brine.Equal(got, want) {
		t.Errorf("values: %v", got)
	}
	ref := RemoteRef(RefID(0))
	got := Args(Value(int64(1)), ref)
	want := brine.Tuple{int64(2), brine.Tuple{Value(int64(1)), ref}}
	if !brine.Equal(got, want) {
		t.Errorf("with a ref: %v", got)
	}
}

// inflate decompresses a zlib stream, checking the checksum, and returns the first max bytes,
// the total length and the last byte.
func inflate(t *testing.T, z []byte, max int) (head []byte, total int64, last byte) {
	t.Helper()
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	for {
		n, err := zr.Read(buf)
		if n > 0 {
			if len(head) < max {
				head = append(head, buf[:min(n, max-len(head))]...)
			}
			total += int64(n)
			last = buf[n-1]
		}
		if err == io.EOF {
			return head, total, last
		}
		if err != nil {
			t.Fatalf("inflate after %d bytes: %v", total, err)
		}
	}
}

func TestZlibRepeat(t *testing.T) {
	prefix := []byte("prefix:")
	for _, n := range []int64{0, 1, 1000, 4 << 20, 10<<20 + 12345, 64 << 20} {
		z := ZlibRepeat(prefix, 'x', n)
		head, total, last := inflate(t, z, len(prefix)+10)
		if total != int64(len(prefix))+n {
			t.Fatalf("n=%d: inflated %d bytes", n, total)
		}
		if !bytes.HasPrefix(head, prefix) || (n > 0 && last != 'x') {
			t.Fatalf("n=%d: content %q ... %q", n, head, last)
		}
		if n >= 10<<20 && int64(len(z)) > n/500 {
			t.Errorf("n=%d: %d compressed bytes, expected about n/1000", n, len(z))
		}
		t.Logf("n=%d: %d bytes compressed", n, len(z))
	}
}

func TestAttackPayloadsParse(t *testing.T) {
	// Small instances of each streamed payload decode to the message they claim to be.
	cfg := channel.Config{}
	check := func(name string, frame []byte, want compat.MsgType, body func(any) bool) {
		t.Helper()
		payload, n, err := channel.ParseFrame(frame, cfg)
		if err != nil || n != len(frame) {
			t.Fatalf("%s: ParseFrame: n=%d/%d err=%v", name, n, len(frame), err)
		}
		m, seq, b, err := compat.V5.ParseMessage(payload)
		if err != nil || m != want || seq != 9 || !body(b) {
			t.Fatalf("%s: %v %d %v %v", name, m, seq, err, brine.Repr(b))
		}
	}
	check("AmplificationPing", AmplificationPing(compat.V5, 9, 1000), compat.MsgRequest, func(b any) bool {
		arg := b.(brine.Tuple)[1].(brine.Tuple)[1].(brine.Tuple)[0].(brine.Tuple)
		return len(arg) == 1000 && arg[0] == int64(0)
	})
	check("AmplificationReply", AmplificationReply(compat.V5, 9, 300), compat.MsgReply, func(b any) bool {
		return len(b.(brine.Tuple)[1].(brine.Tuple)) == 300
	})
	check("BombPing", BombPing(compat.V5, 9, 5000), compat.MsgRequest, func(b any) bool {
		arg := b.(brine.Tuple)[1].(brine.Tuple)[1].(brine.Tuple)[0].([]byte)
		return len(arg) == 5000
	})
	check("BombReply", BombReply(compat.V5, 9, 5000), compat.MsgReply, func(b any) bool {
		return len(b.(brine.Tuple)[1].([]byte)) == 5000
	})
	check("StrPing", StrPing(compat.V5, 9, 5000), compat.MsgRequest, func(b any) bool {
		arg := b.(brine.Tuple)[1].(brine.Tuple)[1].(brine.Tuple)[0].(string)
		return arg == strings.Repeat("a", 5000)
	})
	v6 := Request(compat.V6, 3, compat.HandlePing, Value("x"))
	if m, seq, _, err := compat.V6.ParseMessage(v6); err != nil || m != compat.MsgRequest || seq != 3 {
		t.Fatalf("v6: %v %d %v", m, seq, err)
	}
}

func TestAdlerRepeat(t *testing.T) {
	// The closed form against the real checksum.
	for _, n := range []int64{0, 1, 5551, 5552, 100000, 65521 * 3} {
		data := append([]byte("abc"), bytes.Repeat([]byte{0xfe}, int(n))...)
		z := ZlibRepeat([]byte("abc"), 0xfe, n)
		zr, err := zlib.NewReader(bytes.NewReader(z))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("n=%d: %v", n, err)
		}
	}
}

func TestRefPayloads(t *testing.T) {
	root := compat.IDPack{Name: "R", ClassID: 1, InstanceID: 2}
	refs := RemoteRefs(7)
	asArgs := CallAttr(compat.V5, 4, root, "add", refs...)
	if got := CallAttrRefs(compat.V5, 4, root, "add", 0, 7, false); !bytes.Equal(got, asArgs) {
		t.Errorf("positional:\n got % x\nwant % x", got, asArgs)
	}
	items := make([]any, len(refs))
	for i, r := range refs {
		items[i] = r
	}
	oneTuple := CallAttr(compat.V5, 4, root, "echo", TupleBox(items...))
	if got := CallAttrRefs(compat.V5, 4, root, "echo", 0, 7, true); !bytes.Equal(got, oneTuple) {
		t.Errorf("one tuple:\n got % x\nwant % x", got, oneTuple)
	}
	reply := Reply(compat.V6, 9, TupleBox(items...))
	if got := RemoteRefsReply(compat.V6, 9, 7); !bytes.Equal(got, reply) {
		t.Errorf("reply:\n got % x\nwant % x", got, reply)
	}
}
