package channel

import "testing"

// Payloads beyond maxRetained are not kept between Recv calls; compressed ones are decompressed
// twice (counted, then written into a slice of their size).
func BenchmarkSendRecv8MBCompressed(b *testing.B) {
	benchSendRecv(b, benchText(8<<20))
}

func BenchmarkSendRecv8MBRaw(b *testing.B) {
	ch := New(&loopback{}, Config{DisableCompression: true})
	payload := benchText(8 << 20)
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
