package registry

import (
	"fmt"
	"log/slog"
	"net"
	"testing"

	"github.com/gorpyc/rpyc/brine"
)

// scaleName is the i-th service name of the benchmarks and the scale test.
func scaleName(i int) string { return fmt.Sprintf("SVC%07d", i) }

// benchServer returns a handler-ready server holding n registrations (names SVC0000000...).
func benchServer(b *testing.B, n int) *Server {
	s := &Server{Logger: slog.New(slog.DiscardHandler)} // Info level: Debug lines cost nothing
	s.init()
	for i := range n {
		req, _ := appendRequest(nil, CmdRegister, registerArgs([]string{scaleName(i)}, 18812))
		if _, ok := s.handle(nil, req, "127.0.0.1", udpLimits); !ok {
			b.Fatal("REGISTER refused")
		}
	}
	return s
}

// BenchmarkHandleQuery prices the server's work per QUERY, without the network.
func BenchmarkHandleQuery(b *testing.B) {
	s := benchServer(b, 100_000)
	req, _ := appendRequest(nil, CmdQuery, brine.Tuple{scaleName(4242)})
	out := make([]byte, 0, MaxListReplySize)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := s.handle(out[:0], req, "127.0.0.1", udpLimits); !ok {
			b.Fatal("no reply")
		}
	}
}

// BenchmarkHandleRegister prices a re-registration (the 60 s refresh of every server).
func BenchmarkHandleRegister(b *testing.B) {
	s := benchServer(b, 100_000)
	req, _ := appendRequest(nil, CmdRegister, registerArgs([]string{scaleName(4242)}, 18812))
	out := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		s.handle(out[:0], req, "127.0.0.1", udpLimits)
	}
}

// BenchmarkUDPQuery prices one QUERY round trip over UDP loopback (client and server in this
// process).
func BenchmarkUDPQuery(b *testing.B) {
	s := &Server{Logger: slog.New(slog.DiscardHandler)}
	addr := serve(b, s, "udp")
	reg, _ := appendRequest(nil, CmdRegister, registerArgs([]string{"bench"}, 18812))
	c, err := net.Dial("udp4", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 2048)
	if _, err := c.Write(reg); err != nil {
		b.Fatal(err)
	}
	if _, err := c.Read(buf); err != nil {
		b.Fatal(err)
	}
	q, _ := appendRequest(nil, CmdQuery, brine.Tuple{"bench"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(q); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			b.Fatal(fmt.Errorf("no reply: %w", err))
		}
	}
}
