package channel

import (
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
)

// pairs returns n connected transports (writer side, reader side): loopback TCP connections
// (read through the raw file descriptor) or net.Pipe pairs (no file descriptor).
func pairs(t *testing.T, n int, tcp bool) (ws, rs []net.Conn) {
	t.Helper()
	if !tcp {
		for range n {
			w, r := net.Pipe()
			ws, rs = append(ws, w), append(rs, r)
		}
	} else {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		for range n {
			w, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			r, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			ws, rs = append(ws, w), append(rs, r)
		}
	}
	t.Cleanup(func() {
		for i := range ws {
			ws[i].Close()
			rs[i].Close()
		}
	})
	return ws, rs
}

// heapAfterGC is the live heap once the pools have been emptied (two collections).
func heapAfterGC() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestIdleChannelMemory: 1,000 Channels waiting in Recv hold no read or payload buffer, also
// after each received a 100 KB frame (the buffers went back to the pools, which the garbage
// collector empties): what an idle Channel costs is its own small state (the old bufio reader
// alone was 32 KiB).
func TestIdleChannelMemory(t *testing.T) {
	const n = 1000
	for _, tcp := range []bool{true, false} {
		name := map[bool]string{true: "tcp", false: "net.Pipe"}[tcp]
		t.Run(name, func(t *testing.T) {
			ws, rs := pairs(t, n, tcp)
			frame := mustAppend(t, benchText(100_000), Config{DisableCompression: true})
			base := heapAfterGC()
			got := make(chan int, n)
			var wg sync.WaitGroup
			for _, r := range rs {
				ch := New(r, Config{})
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						p, err := ch.Recv()
						if err != nil {
							if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.ErrClosedPipe) {
								t.Errorf("Recv: %v", err)
							}
							return
						}
						got <- len(p)
					}
				}()
			}
			defer wg.Wait()
			defer func() {
				for _, w := range ws {
					w.Close()
				}
			}()
			for _, w := range ws {
				go w.Write(frame) //nolint:errcheck // checked by the reader
			}
			for range n {
				if l := <-got; l != 100_000 {
					t.Fatalf("received %d bytes", l)
				}
			}
			per := (int64(heapAfterGC()) - int64(base)) / n
			t.Logf("%s: %d bytes of heap per idle Channel (goroutine included), after a burst of 100 KB frames", name, per)
			if per > 4<<10 {
				t.Errorf("an idle Channel holds %d bytes of heap", per)
			}
		})
	}
}
