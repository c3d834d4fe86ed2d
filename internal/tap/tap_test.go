package tap

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/compat"
)

func frame(t *testing.T, d compat.Dialect, msg compat.MsgType, seq int64, body any, cfg channel.Config) []byte {
	t.Helper()
	p, err := d.AppendMessage(nil, msg, seq, body)
	if err != nil {
		t.Fatal(err)
	}
	f, err := channel.AppendFrame(nil, p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func val(v any) brine.Tuple { return brine.Tuple{int64(compat.LabelValue), v} }

func ref(label compat.Label, name string, id int64) brine.Tuple {
	return brine.Tuple{int64(label), brine.Tuple{name, int64(7), id}}
}

// conversation is a client's stream and a server's: GETROOT, CALLATTR with a reference, kwargs
// and a big str (compressed), a reply with a reference, an exception, then a frame that is not
// a message.
func conversation(t *testing.T, d compat.Dialect) (c2s, s2c []byte) {
	root := ref(compat.LabelRemoteRef, "TestService", 0x10)
	big := strings.Repeat("x", 5000)
	c2s = append(c2s, frame(t, d, compat.MsgRequest, 0, brine.Tuple{int64(compat.HandleGetRoot), val(brine.Tuple{})}, channel.Config{})...)
	args := brine.Tuple{int64(compat.LabelTuple), brine.Tuple{
		ref(compat.LabelLocalRef, "TestService", 0x10), val("greet"),
		val(brine.Tuple{big}), val(brine.Tuple{brine.Tuple{"punct", "?"}}),
	}}
	c2s = append(c2s, frame(t, d, compat.MsgRequest, 1, brine.Tuple{int64(compat.HandleCallAttr), args}, channel.Config{})...)
	c2s = append(c2s, frame(t, d, compat.MsgRequest, 2, brine.Tuple{int64(compat.HandleGetAttr),
		val(brine.Tuple{brine.Tuple{"x"}, "y"})}, channel.Config{})...)
	s2c = append(s2c, frame(t, d, compat.MsgReply, 0, root, channel.Config{})...)
	s2c = append(s2c, frame(t, d, compat.MsgReply, 1, ref(compat.LabelRemoteRef, "builtins.list", 0xabc), channel.Config{})...)
	exc := brine.Tuple{brine.Tuple{"builtins", "KeyError"}, brine.Tuple{"k"}, brine.Tuple{}, "Traceback...\nKeyError: 'k'\n"}
	s2c = append(s2c, frame(t, d, compat.MsgException, 2, exc, channel.Config{})...)
	s2c = append(s2c, 0, 0, 0, 2, 0, 'h', 'i', '\n')
	return c2s, s2c
}

func decodeAll(t *testing.T, d compat.Dialect, chunk int, f Filter) string {
	c2s, s2c := conversation(t, d)
	var out bytes.Buffer
	p := &Printer{W: &out, Filter: f}
	c := NewConn(1, Options{MaxValue: 40}, p.Emit)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c.Open(now, "client", "server")
	feed := func(dir Dir, b []byte) {
		for len(b) > 0 {
			n := min(chunk, len(b))
			now = now.Add(time.Millisecond)
			c.Feed(dir, b[:n], now)
			b = b[n:]
		}
	}
	// Request, reply, request, reply...: split each stream at its frames.
	cf, sf := splitFrames(t, c2s), splitFrames(t, s2c)
	for i := range max(len(cf), len(sf)) {
		if i < len(cf) {
			feed(ClientToServer, cf[i])
		}
		if i < len(sf) {
			feed(ServerToClient, sf[i])
		}
	}
	c.Close(now)
	return out.String()
}

func splitFrames(t *testing.T, b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		n := channel.HeaderSize + (int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])) + 1
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// stripTimes drops the time and latency columns, which depend on the chunking.
func stripTimes(s string) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if i := strings.IndexByte(l, ' '); i > 0 {
			l = l[i+1:]
		}
		if i := strings.Index(l, " ms ["); i > 0 {
			j := strings.LastIndexByte(l[:i], ' ')
			l = l[:j] + l[i+3:]
		}
		if i := strings.Index(l, "close after "); i >= 0 {
			j := strings.Index(l[i:], " s")
			l = l[:i] + "close" + l[i+j+2:]
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n")
}

func TestDecode(t *testing.T) {
	for _, d := range []compat.Dialect{compat.V5, compat.V6} {
		whole := decodeAll(t, d, 1<<20, Filter{})
		for _, want := range []string{
			"#1 open client -> server",
			"#1 dialect " + d.String(),
			"c>s REQUEST   seq=0 HANDLE_GETROOT () [14 B]",
			"s>c REPLY     seq=0 HANDLE_GETROOT <ref TestService 0x10> 1.00 ms [28 B]",
			"c>s REQUEST   seq=1 HANDLE_CALLATTR <local ref TestService 0x10>.greet('xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'...(5000 chars), punct='?') [",
			", zlib 50",
			"s>c REPLY     seq=1 HANDLE_CALLATTR <ref builtins.list 0xabc>",
			"c>s REQUEST   seq=2 HANDLE_GETATTR ('x',).y [",
			"s>c EXCEPTION seq=2 HANDLE_GETATTR KeyError: 'k' (remote traceback, 2 lines)",
			"s>c UNDECODABLE not an RPyC message of either dialect first bytes \"hi\" [8 B]",
			"close after",
		} {
			if !strings.Contains(whole, want) {
				t.Errorf("%v: output lacks %q:\n%s", d, want, whole)
			}
		}
		// Any chunking of the streams gives the same lines.
		for _, chunk := range []int{1, 3, 7} {
			if got := decodeAll(t, d, chunk, Filter{}); stripTimes(got) != stripTimes(whole) {
				t.Errorf("%v, %d-byte chunks:\n%s\nwant\n%s", d, chunk, stripTimes(got), stripTimes(whole))
			}
		}
		// Filters.
		got := decodeAll(t, d, 1<<20, Filter{Handlers: map[compat.Handler]bool{compat.HandleGetAttr: true}})
		if strings.Count(got, "HANDLE_GETATTR") != 2 || strings.Contains(got, "GETROOT") || strings.Contains(got, "CALLATTR") {
			t.Errorf("--handler getattr:\n%s", got)
		}
		got = decodeAll(t, d, 1<<20, Filter{Object: "builtins.list"})
		if strings.Count(got, "CALLATTR") != 2 || strings.Contains(got, "GETROOT") {
			t.Errorf("--object builtins.list:\n%s", got)
		}
	}
}

func TestOpaque(t *testing.T) {
	var out bytes.Buffer
	p := &Printer{W: &out}
	c := NewConn(3, Options{}, p.Emit)
	c.Feed(ClientToServer, []byte("\x16\x03\x01\x02\x00\x01"), time.Now())
	c.Feed(ClientToServer, bytes.Repeat([]byte{1}, 1000), time.Now())
	c.Close(time.Now())
	s := out.String()
	if !strings.Contains(s, "UNDECODABLE frame header declares 369295618 bytes: not RPyC (a TLS handshake") ||
		!strings.Contains(s, "c>s 0 frames 1006 B") {
		t.Errorf("TLS bytes:\n%s", s)
	}
	for _, h := range []string{"getattr", "HANDLE_CALLATTR", "CallAttr", "8"} {
		if _, err := ParseHandler(h); err != nil {
			t.Errorf("ParseHandler(%q): %v", h, err)
		}
	}
	if _, err := ParseHandler("nope"); err == nil {
		t.Error("ParseHandler accepted nope")
	}
}
