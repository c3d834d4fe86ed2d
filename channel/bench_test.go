package channel

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// loopback is an in-memory duplex: what is written is read back.
type loopback struct{ bytes.Buffer }

func benchSendRecv(b *testing.B, payload []byte) {
	ch := New(&loopback{}, Config{})
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if err := ch.Send(payload); err != nil {
			b.Fatal(err)
		}
		if _, err := ch.Recv(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSendRecv64B(b *testing.B) {
	benchSendRecv(b, bytes.Repeat([]byte{0x42}, 64))
}

// benchText is 1 MiB of word-like data, compressible like typical pickled
// or brined payloads.
func benchText(n int) []byte {
	words := []string{"rpyc ", "netref ", "handle ", "getattr ", "12345 ", "None ", "True ", "self ", "__class__ "}
	rng := rand.New(rand.NewPCG(3, 4))
	var b []byte
	for len(b) < n {
		b = append(b, words[rng.IntN(len(words))]...)
	}
	return b[:n]
}

func BenchmarkSendRecv1MBCompressed(b *testing.B) {
	benchSendRecv(b, benchText(1<<20))
}

func BenchmarkAppendFrameSmall(b *testing.B) {
	buf := make([]byte, 0, 256)
	payload := bytes.Repeat([]byte{0x42}, 64)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		buf, _ = AppendFrame(buf[:0], payload, Config{})
	}
}

func BenchmarkAppendFrameCompressed4KB(b *testing.B) {
	var buf []byte
	payload := benchText(4 << 10)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		buf, _ = AppendFrame(buf[:0], payload, Config{})
	}
}

func BenchmarkParseFrameSmall(b *testing.B) {
	fr, _ := AppendFrame(nil, bytes.Repeat([]byte{0x42}, 64), Config{})
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseFrame(fr, Config{}); err != nil {
			b.Fatal(err)
		}
	}
}
