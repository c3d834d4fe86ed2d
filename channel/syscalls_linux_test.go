package channel

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
)

// readSyscalls is the number of read system calls this process made (syscr of /proc/self/io).
func readSyscalls(t *testing.T) int {
	t.Helper()
	f, err := os.Open("/proc/self/io")
	if err != nil {
		t.Skipf("no /proc/self/io: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "syscr: "); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	t.Skip("no syscr in /proc/self/io")
	return 0
}

// TestSmallFrameReadSyscalls: taking the read buffer from a pool only while a frame is read
// costs no extra system call: a ping-pong of small frames over TCP makes at most two read calls
// per received frame (one that finds nothing and one that reads the frame, as a bufio.Reader
// does), and a few spare for the runtime's own wake-ups.
func TestSmallFrameReadSyscalls(t *testing.T) {
	ws, rs := pairs(t, 1, true)
	a := New(ws[0], Config{})
	b := New(rs[0], Config{})
	msg := bytes.Repeat([]byte("ping"), 50)
	done := make(chan error, 1)
	const rounds = 300
	go func() {
		for range rounds {
			p, err := b.Recv()
			if err == nil {
				err = b.Send(p)
			}
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	before := readSyscalls(t)
	for range rounds {
		if err := a.Send(msg); err != nil {
			t.Fatal(err)
		}
		if p, err := a.Recv(); err != nil || !bytes.Equal(p, msg) {
			t.Fatalf("Recv = %d bytes, %v", len(p), err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	per := float64(readSyscalls(t)-before) / (2 * rounds)
	t.Logf("%.2f read system calls per received frame", per)
	if per > 2.5 {
		t.Errorf("%.2f read system calls per received frame, want at most 2", per)
	}
}
