package hostile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/compat"
)

// ReadLimits are the channel limits a Peer reads with: large enough for any honest answer the
// suites provoke (a 100k-reference echo), small enough that a misbehaving target cannot blow up
// the test process.
var ReadLimits = channel.Config{MaxFrameSize: 256 << 20, MaxMessageSize: 256 << 20}

// Peer is one end of a raw TCP connection that speaks exactly the bytes it is told to.
// Its methods are not safe for concurrent use, except that one goroutine may send while another
// reads, and Close/CloseRST may be called at any time.
type Peer struct {
	Conn    *net.TCPConn
	Dialect compat.Dialect // of the messages Send/Read helpers build and parse (V5 by default)
	// WriteTimeout bounds each SendRaw (0: no bound). A write that times out means the other
	// side stopped reading: SendRaw then returns an error matching os.ErrDeadlineExceeded.
	WriteTimeout time.Duration

	br   *bufio.Reader
	rbuf []byte
	seq  atomic.Int64
}

// NewPeer wraps an established connection.
func NewPeer(c *net.TCPConn) *Peer {
	return &Peer{Conn: c, Dialect: compat.V5, br: bufio.NewReaderSize(c, 64<<10)}
}

// Dial connects to addr (a loopback host:port) within 3 s.
func Dial(addr string) (*Peer, error) {
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return nil, err
	}
	tc := c.(*net.TCPConn)
	_ = tc.SetNoDelay(true)
	return NewPeer(tc), nil
}

// NextSeq returns a fresh sequence number (0, 1, 2, ...).
func (p *Peer) NextSeq() int64 { return p.seq.Add(1) - 1 }

// SendRaw writes b as is.
func (p *Peer) SendRaw(b []byte) error {
	if p.WriteTimeout > 0 {
		_ = p.Conn.SetWriteDeadline(time.Now().Add(p.WriteTimeout))
		defer p.Conn.SetWriteDeadline(time.Time{})
	}
	_, err := p.Conn.Write(b)
	return err
}

// SendFrame writes payload in a frame, as a gorpyc peer would (compressed beyond 3000 bytes).
func (p *Peer) SendFrame(payload []byte) error { return p.SendRaw(WireFrame(payload)) }

// SendMessage writes one message in the peer's dialect.
func (p *Peer) SendMessage(msg compat.MsgType, seq int64, body any) error {
	return p.SendFrame(Message(p.Dialect, msg, seq, body))
}

// SendRequest sends a request with a fresh sequence number and returns that number.
func (p *Peer) SendRequest(h compat.Handler, args ...brine.Tuple) (int64, error) {
	seq := p.NextSeq()
	return seq, p.SendFrame(Request(p.Dialect, seq, h, args...))
}

// ReadFrame reads one frame within timeout and returns its (decompressed) payload, valid until
// the next read.
func (p *Peer) ReadFrame(timeout time.Duration) ([]byte, error) {
	_ = p.Conn.SetReadDeadline(time.Now().Add(timeout))
	payload, err := channel.ReadFrame(p.br, ReadLimits, p.rbuf)
	if err == nil && cap(payload) <= 4<<20 {
		p.rbuf = payload[:0]
	}
	return payload, err
}

// Msg is one decoded message.
type Msg struct {
	Type compat.MsgType
	Seq  int64
	Body any
}

// ReadMessage reads one frame within timeout and parses it in the peer's dialect (or detects the
// dialect if it is compat.Auto).
func (p *Peer) ReadMessage(timeout time.Duration) (Msg, error) {
	payload, err := p.ReadFrame(timeout)
	if err != nil {
		return Msg{}, err
	}
	if p.Dialect == compat.Auto {
		d, ok := compat.Detect(payload)
		if !ok {
			return Msg{}, fmt.Errorf("hostile: cannot tell the dialect of % x", payload[:min(len(payload), 16)])
		}
		p.Dialect = d
	}
	m, seq, body, err := p.Dialect.ParseMessage(payload)
	if err != nil {
		return Msg{}, err
	}
	return Msg{Type: m, Seq: seq, Body: body}, nil
}

// Await reads messages until the reply or exception to seq arrives, within timeout overall.
// Requests of the other side (a DEL, say) are skipped.
func (p *Peer) Await(seq int64, timeout time.Duration) (Msg, error) {
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return Msg{}, fmt.Errorf("hostile: no answer to seq %d within %v: %w", seq, timeout, os.ErrDeadlineExceeded)
		}
		m, err := p.ReadMessage(left)
		if err != nil {
			return Msg{}, err
		}
		if m.Type != compat.MsgRequest && m.Seq == seq {
			return m, nil
		}
	}
}

// Call sends a request and waits for its answer.
func (p *Peer) Call(timeout time.Duration, h compat.Handler, args ...brine.Tuple) (Msg, error) {
	seq, err := p.SendRequest(h, args...)
	if err != nil {
		return Msg{}, err
	}
	return p.Await(seq, timeout)
}

// GetRoot asks for the other side's root object (HANDLE_GETROOT) and returns its id_pack.
func (p *Peer) GetRoot(timeout time.Duration) (compat.IDPack, error) {
	m, err := p.Call(timeout, compat.HandleGetRoot)
	if err != nil {
		return compat.IDPack{}, err
	}
	box, ok := m.Body.(brine.Tuple)
	if m.Type != compat.MsgReply || !ok || len(box) != 2 || box[0] != int64(compat.LabelRemoteRef) {
		return compat.IDPack{}, fmt.Errorf("hostile: GETROOT answered %v %v", m.Type, m.Body)
	}
	return compat.ParseIDPack(box[1])
}

// ExceptionClass returns "module.Class" of an exception message body, or a description of a
// body that has no class.
func ExceptionClass(body any) string {
	t, ok := body.(brine.Tuple)
	if !ok || len(t) != 4 {
		return fmt.Sprintf("<exception payload %v>", body)
	}
	cls, _ := t[0].(brine.Tuple)
	if len(cls) != 2 {
		return fmt.Sprintf("<exception class %v>", t[0])
	}
	return fmt.Sprintf("%v.%v", cls[0], cls[1])
}

// WaitClosed reads and discards whatever arrives until the other side closes the connection or
// timeout passes. It returns nil if the connection was closed (end of stream or reset) and an
// error matching os.ErrDeadlineExceeded if it was still open; n is the number of bytes discarded.
func (p *Peer) WaitClosed(timeout time.Duration) (n int64, err error) {
	_ = p.Conn.SetReadDeadline(time.Now().Add(timeout))
	n, err = io.Copy(io.Discard, p.br)
	if err == nil || IsReset(err) {
		return n, nil
	}
	return n, err
}

// IsReset reports whether err is a connection reset or broken pipe: the other side is gone.
func IsReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// IsTimeout reports whether err is a deadline expiring.
func IsTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// Close closes the connection (FIN).
func (p *Peer) Close() error { return p.Conn.Close() }

// CloseRST closes the connection with a reset (SO_LINGER 0): unsent data is dropped and the
// other side reads ECONNRESET.
func (p *Peer) CloseRST() error {
	_ = p.Conn.SetLinger(0)
	return p.Conn.Close()
}

// Listener accepts raw connections on a free loopback port, for scripted servers.
type Listener struct {
	*net.TCPListener
}

// Listen listens on 127.0.0.1:0.
func Listen() (*Listener, error) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	return &Listener{ln}, nil
}

// Accept waits at most timeout for the next connection.
func (l *Listener) Accept(timeout time.Duration) (*Peer, error) {
	_ = l.SetDeadline(time.Now().Add(timeout))
	c, err := l.AcceptTCP()
	if err != nil {
		return nil, err
	}
	_ = c.SetNoDelay(true)
	p := NewPeer(c)
	p.Dialect = compat.Auto // learnt from the client's first message
	return p, nil
}

// ProbeSeq is the sequence number of gorpyc's dialect probe (a GETROOT).
const ProbeSeq int64 = 1 << 62

// ServeHandshake plays an honest server until the client sends a request other than PING and
// GETROOT: it echoes PINGs and answers GETROOT (the dialect probe among them) with a REMOTE_REF
// of root. It returns that other request, whose answer is the script's business.
func (p *Peer) ServeHandshake(root compat.IDPack, timeout time.Duration) (Msg, error) {
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return Msg{}, fmt.Errorf("hostile: handshake not over within %v: %w", timeout, os.ErrDeadlineExceeded)
		}
		m, err := p.ReadMessage(left)
		if err != nil {
			return Msg{}, err
		}
		if m.Type != compat.MsgRequest {
			continue
		}
		req, _ := m.Body.(brine.Tuple)
		if len(req) != 2 {
			return m, nil
		}
		switch req[0] {
		case int64(compat.HandlePing):
			var data any
			if box, _ := req[1].(brine.Tuple); len(box) == 2 {
				if args, _ := box[1].(brine.Tuple); len(args) == 1 {
					data = args[0]
				}
			}
			if err := p.SendMessage(compat.MsgReply, m.Seq, Value(data)); err != nil {
				return Msg{}, err
			}
		case int64(compat.HandleGetRoot):
			if err := p.SendMessage(compat.MsgReply, m.Seq, RemoteRef(root)); err != nil {
				return Msg{}, err
			}
		default:
			return m, nil
		}
	}
}

// RequestHandler returns the handler number of a request message body (-1 if it has none).
func RequestHandler(body any) int64 {
	t, _ := body.(brine.Tuple)
	if len(t) != 2 {
		return -1
	}
	h, ok := t[0].(int64)
	if !ok {
		return -1
	}
	return h
}
