package registry

import (
	"testing"

	"github.com/gorpyc/rpyc/brine"
)

// FuzzHandleDatagram feeds arbitrary datagrams to the server's request handler, with a table
// that already holds entries. It must never panic, and every reply must decode as one brine
// value and fit the limit of the command's client.
func FuzzHandleDatagram(f *testing.F) {
	for _, h := range []string{goldenRegister, goldenQuery, goldenList, goldenUnregister,
		"12 080d52505943 080d4c495354 02", // LIST () (rpyc 5.1)
		"12 080d52505943 080c6c6973 10 10 080c313237",
	} {
		f.Add(unhex(f, h))
	}
	f.Add([]byte{})
	f.Add([]byte{0x12, 0x08, 0x0d})
	s := &Server{AllowListing: true}
	s.Logger, _ = testLogger(f)
	s.init()
	for i := range 100 {
		req, _ := appendRequest(nil, CmdRegister, registerArgs([]string{"FOO", "BAR", string(rune('A' + i%26))}, 1000+i))
		s.handle(nil, req, "127.0.0.1", udpLimits)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > MaxDatagramSize {
			return // dropped before the handler
		}
		for _, limits := range []replyLimits{udpLimits, tcpLimits} {
			reply, ok := s.handle(nil, data, "127.0.0.1", limits)
			if !ok {
				continue
			}
			if len(reply) > max(limits.query, limits.list) {
				t.Fatalf("reply of %d bytes exceeds the limits %+v", len(reply), limits)
			}
			if _, err := brine.Load(reply); err != nil {
				t.Fatalf("reply %x does not decode: %v", reply, err)
			}
		}
	})
}
