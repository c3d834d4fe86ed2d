package tap

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Capture files. `rpyc tap --capture FILE` records what it forwards in this format, and
// `rpyc tap --read FILE` decodes it again (with the original timing):
//
//	"RPYCTAP1\n"                          magic, 9 bytes
//	then records, each:
//	  u8     kind: 0 bytes client→server, 1 bytes server→client, 2 open, 3 close
//	  u32be  connection number
//	  i64be  time, Unix nanoseconds
//	  u32be  length of data
//	  data   the bytes forwarded (kinds 0, 1); "client\x00server" addresses (2); empty (3)
//
// A file without the magic is taken as the raw bytes of one direction of one connection (what
// tcpflow writes per direction, or `socat -r`), decoded as a stream of frames.
const Magic = "RPYCTAP1\n"

const (
	recC2S   = 0
	recS2C   = 1
	recOpen  = 2
	recClose = 3
)

// CaptureWriter appends capture records. It is safe for concurrent use.
type CaptureWriter struct {
	mu  sync.Mutex
	w   *bufio.Writer
	err error
}

// NewCaptureWriter writes the magic and returns a writer of records to w.
func NewCaptureWriter(w io.Writer) (*CaptureWriter, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(Magic); err != nil {
		return nil, err
	}
	return &CaptureWriter{w: bw}, nil
}

func (c *CaptureWriter) record(kind byte, conn int, t time.Time, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	var h [17]byte
	h[0] = kind
	binary.BigEndian.PutUint32(h[1:], uint32(conn))
	binary.BigEndian.PutUint64(h[5:], uint64(t.UnixNano()))
	binary.BigEndian.PutUint32(h[13:], uint32(len(data)))
	if _, err := c.w.Write(h[:]); err != nil {
		c.err = err
		return
	}
	if _, err := c.w.Write(data); err != nil {
		c.err = err
	}
}

// Data records bytes forwarded in one direction.
func (c *CaptureWriter) Data(conn int, dir Dir, t time.Time, p []byte) {
	kind := byte(recC2S)
	if dir == ServerToClient {
		kind = recS2C
	}
	c.record(kind, conn, t, p)
}

// Open records a new connection.
func (c *CaptureWriter) Open(conn int, t time.Time, client, server string) {
	c.record(recOpen, conn, t, []byte(client+"\x00"+server))
}

// Close records the end of a connection.
func (c *CaptureWriter) Close(conn int, t time.Time) { c.record(recClose, conn, t, nil) }

// Flush writes buffered records out and returns the first error met.
func (c *CaptureWriter) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = c.w.Flush()
	}
	return c.err
}

// ReadCapture decodes a capture file (or a raw one-direction file) from r, emitting events as
// the live tap would. A truncated capture is decoded as far as it goes and reported.
func ReadCapture(r io.Reader, opts Options, emit func(*Event)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(len(Magic))
	if string(head) != Magic {
		return readRaw(br, opts, emit)
	}
	_, _ = br.Discard(len(Magic))
	conns := map[int]*Conn{}
	var last time.Time
	get := func(id int) *Conn {
		c := conns[id]
		if c == nil {
			c = NewConn(id, opts, emit)
			conns[id] = c
		}
		return c
	}
	var h [17]byte
	for {
		if _, err := io.ReadFull(br, h[:]); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			closeAll(conns, last)
			return fmt.Errorf("truncated capture record header: %w", err)
		}
		kind := h[0]
		id := int(binary.BigEndian.Uint32(h[1:]))
		t := time.Unix(0, int64(binary.BigEndian.Uint64(h[5:])))
		n := binary.BigEndian.Uint32(h[13:])
		if n > 1<<30 {
			closeAll(conns, last)
			return fmt.Errorf("corrupt capture: a record of %d bytes", n)
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(br, data); err != nil {
			closeAll(conns, last)
			return fmt.Errorf("truncated capture record: %w", err)
		}
		last = t
		switch kind {
		case recC2S, recS2C:
			get(id).Feed(Dir(kind), data, t)
		case recOpen:
			client, server, _ := strings.Cut(string(data), "\x00")
			get(id).Open(t, client, server)
		case recClose:
			get(id).Close(t)
			delete(conns, id)
		default:
			closeAll(conns, last)
			return fmt.Errorf("corrupt capture: record kind %d", kind)
		}
	}
	closeAll(conns, last)
	return nil
}

func closeAll(conns map[int]*Conn, t time.Time) {
	for id, c := range conns {
		c.Close(t)
		delete(conns, id)
	}
}

// readRaw decodes the bytes of one direction; times are the reading times.
func readRaw(r io.Reader, opts Options, emit func(*Event)) error {
	c := NewConn(1, opts, emit)
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			c.Feed(Raw, buf[:n], time.Now())
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			c.Close(time.Now())
			return err
		}
	}
	c.Close(time.Now())
	return nil
}

// IsCapture reports whether b starts with the capture magic.
func IsCapture(b []byte) bool { return bytes.HasPrefix(b, []byte(Magic)) }
