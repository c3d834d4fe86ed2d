package protocol_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/protocol"
	"github.com/gorpyc/rpyc/pyobj"
)

// fuzzRoot is the service the fuzzed peer talks to.
type fuzzRoot struct {
	Name  string
	Items []int
	Map   map[string]int
}

func (r *fuzzRoot) Add(a, b int) int                      { return a + b }
func (r *fuzzRoot) Echo(v any) any                        { return v }
func (r *fuzzRoot) Call(ctx context.Context, f any) any   { return f }
func (r *fuzzRoot) Opts(x int, o struct{ Scale int }) int { return x * o.Scale }
func (r *fuzzRoot) Fail() error                           { return protocol.ValueError }
func (r *fuzzRoot) Seq(n int) func(func(int) bool)        { return func(func(int) bool) {} }
func (r *fuzzRoot) Variadic(parts ...string) []string     { return parts }

func fuzzMessage(d compat.Dialect, msg compat.MsgType, seq int64, body any) []byte {
	b, err := d.AppendMessage(nil, msg, seq, body)
	if err != nil {
		panic(err)
	}
	return b
}

func box(v any) brine.Tuple { return brine.Tuple{int64(compat.LabelValue), v} }

// FuzzDispatch feeds one arbitrary message to a live connection (after GETROOT, so that the
// root is exported as ("protocol_test.fuzzRoot", <class>, 1)) and checks that nothing panics and that
// the connection either closed or still answers a PING.
func FuzzDispatch(f *testing.F) {
	rootRef := func(cid int64) brine.Tuple {
		return brine.Tuple{int64(compat.LabelLocalRef), brine.Tuple{"protocol_test.fuzzRoot", cid, int64(1)}}
	}
	cid := protocol.ClassIDFor("protocol_test.fuzzRoot")
	req := func(h compat.Handler, args ...any) []byte {
		return fuzzMessage(compat.V5, compat.MsgRequest, 1, brine.Tuple{int64(h),
			brine.Tuple{int64(compat.LabelTuple), brine.Tuple(args)}})
	}
	f.Add(req(compat.HandleCallAttr, rootRef(cid), box("add"), box(brine.Tuple{int64(1), int64(2)}), box(brine.Tuple{})))
	f.Add(req(compat.HandleCallAttr, rootRef(cid), box("opts"), box(brine.Tuple{int64(3)}),
		box(brine.Tuple{brine.Tuple{"scale", int64(2)}})))
	f.Add(req(compat.HandleGetAttr, rootRef(cid), box("items")))
	f.Add(req(compat.HandleCallAttr, rootRef(cid), box("variadic"), box(brine.Tuple{"a", "b"}), box(brine.Tuple{})))
	f.Add(req(compat.HandleDel, rootRef(cid), box(int64(1))))
	f.Add(req(compat.HandleInspect, box(brine.Tuple{"protocol_test.fuzzRoot", cid, int64(1)})))
	f.Add(req(compat.HandleSetAttr, rootRef(cid), box("name"), box("x")))
	f.Add(req(compat.HandleCmp, rootRef(cid), rootRef(cid), box("__eq__")))
	f.Add(req(compat.HandleBuffIter, rootRef(cid), box(int64(10))))
	f.Add(fuzzMessage(compat.V5, compat.MsgReply, 99, box(nil)))
	f.Add(fuzzMessage(compat.V5, compat.MsgException, 0, int64(1)))
	f.Add([]byte{0x12, 0x51})
	f.Fuzz(func(t *testing.T, payload []byte) {
		a, b := net.Pipe()
		cfg := protocol.DefaultConfig()
		cfg.Dialect = compat.V5
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		cfg.SyncRequestTimeout = time.Second
		conn := protocol.New(channel.New(a, channel.Config{MaxFrameSize: 1 << 20, MaxMessageSize: 1 << 20}),
			&fuzzRoot{Name: "n", Items: []int{1, 2}, Map: map[string]int{"a": 1}}, cfg, protocol.WithObjects(pyobj.Handler{}))
		defer conn.Close()
		peer := channel.New(b, channel.Config{})
		defer peer.Close()
		_ = b.SetDeadline(time.Now().Add(5 * time.Second))

		// Read everything the connection sends, in the background.
		replies := make(chan []byte, 64)
		go func() {
			defer close(replies)
			for {
				p, err := peer.Recv()
				if err != nil {
					return
				}
				select {
				case replies <- append([]byte(nil), p...):
				default:
				}
			}
		}()
		send := func(p []byte) bool { return peer.Send(p) == nil }
		if !send(fuzzMessage(compat.V5, compat.MsgRequest, 0,
			brine.Tuple{int64(compat.HandleGetRoot), box(brine.Tuple{})})) {
			t.Fatal("GETROOT not sent")
		}
		send(payload)
		ping := fuzzMessage(compat.V5, compat.MsgRequest, 1<<40, brine.Tuple{int64(compat.HandlePing), box(brine.Tuple{"alive"})})
		if !send(ping) {
			return // the connection closed on the fuzzed message: allowed
		}
		deadline := time.After(3 * time.Second)
		for {
			select {
			case p, ok := <-replies:
				if !ok {
					return // closed: allowed
				}
				if msg, seq, _, err := compat.V5.ParseMessage(p); err == nil && msg == compat.MsgReply && seq == 1<<40 {
					return // still serving
				}
			case <-deadline:
				if !conn.Closed() {
					t.Fatalf("connection neither answered PING nor closed after %x", payload)
				}
				return
			}
		}
	})
}
