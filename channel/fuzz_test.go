package channel

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// fuzzConfig keeps the fuzzer's allocations small.
var fuzzConfig = Config{MaxFrameSize: 1 << 20, MaxMessageSize: 1 << 20}

func FuzzFrame(f *testing.F) {
	for _, p := range [][]byte{
		nil,
		getRoot,
		bytes.Repeat([]byte{'a'}, 3001),
		bytes.Repeat([]byte("fuzz me "), 500),
	} {
		fr, err := AppendFrame(nil, p, Config{})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fr)
	}
	f.Add([]byte{})
	f.Add([]byte{0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0})
	f.Add([]byte{0, 0, 0, 4, 1, 0x78, 0x01, 0x03, 0x00, 0x0a})
	f.Add([]byte{0, 0, 0, 2, 7, 0x78, 0x9c, 0x0a})
	f.Add([]byte("garbage that is not a frame"))

	f.Fuzz(func(t *testing.T, data []byte) {
		p1, n, err1 := ParseFrame(data, fuzzConfig)
		p2, err2 := ReadFrame(bytes.NewReader(data), fuzzConfig, nil)
		p4, err4 := New(&readOnly{oneByteReader{bytes.NewReader(data)}}, fuzzConfig).Recv()

		if (err1 == nil) != (err2 == nil) || (err1 == nil) != (err4 == nil) {
			t.Fatalf("ParseFrame err %v, ReadFrame err %v, Recv err %v", err1, err2, err4)
		}
		if err1 == nil && !bytes.Equal(p1, p4) {
			t.Fatalf("ParseFrame and Recv disagree: %q vs %q", p1, p4)
		}
		for _, p := range [][]byte{p1, p2, p4} {
			if err1 == nil && Flag(data[4]).Compressed() && cap(p) > fuzzConfig.MaxMessageSize {
				t.Fatalf("decompressed into a buffer of %d bytes, beyond the limit", cap(p))
			}
		}
		if err1 != nil {
			if n != 0 {
				t.Fatalf("ParseFrame consumed %d bytes on error", n)
			}
			if len(data) == 0 && err2 != io.EOF {
				t.Fatalf("ReadFrame(empty) = %v, want io.EOF", err2)
			}
			return
		}
		if !bytes.Equal(p1, p2) {
			t.Fatalf("ParseFrame and ReadFrame disagree: %q vs %q", p1, p2)
		}
		if n < HeaderSize+1 || n > len(data) {
			t.Fatalf("ParseFrame consumed %d of %d bytes", n, len(data))
		}
		if len(p1) > fuzzConfig.MaxMessageSize {
			t.Fatalf("payload of %d bytes beyond the limit", len(p1))
		}

		// Re-encoding the payload gives a frame that parses to the same
		// payload, with and without compression.
		for _, cfg := range []Config{fuzzConfig, {DisableCompression: true, MaxFrameSize: 1 << 20, MaxMessageSize: 1 << 20}} {
			fr, err := AppendFrame(nil, p1, cfg)
			if err != nil {
				t.Fatalf("AppendFrame: %v", err)
			}
			p3, n3, err := ParseFrame(fr, cfg)
			if errors.Is(err, ErrFrameTooLarge) {
				continue // incompressible payload grew past MaxFrameSize
			}
			if err != nil {
				t.Fatalf("re-encoded frame: %v", err)
			}
			if n3 != len(fr) || !bytes.Equal(p3, p1) {
				t.Fatalf("re-encoded frame parses to %q, want %q", p3, p1)
			}
		}
	})
}
