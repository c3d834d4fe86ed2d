// Package tap decodes the two byte streams of RPyC connections into readable events, for the
// `rpyc tap` command: it reassembles frames from whatever chunks the transport delivers,
// decompresses them, recognises the dialect of each message (compat.Detect), decodes requests,
// replies and exceptions, renders boxed values readably and pairs each reply with its request
// to time it. It never fails: what it cannot decode becomes an "undecodable" event, and a stream
// whose framing is lost is only counted from then on.
//
// Rendering. Values travelling by value are shown with Python's repr (brine.Repr), long str and
// bytes cut after Options.MaxValue characters. References are shown as the id_pack's type name
// and object id in hex, from the sender's point of view as rpyc names the labels:
//
//	<ref builtins.list 0x7f3a5c1e2b40>        LABEL_REMOTE_REF: an object of the sender
//	<local ref builtins.list 0x7f3a5c1e2b40>  LABEL_LOCAL_REF: an object of the receiver
//	<ref class builtins.type 0x55d0c1a0>      a class (instance id 0: the class id is shown)
//
// Requests are shown in the shape of what they do: GETATTR as obj.name, CALLATTR as
// obj.name(args, k=v), CALL as obj(args), SETATTR as obj.name = value, DEL as del obj (count);
// other handlers as their argument tuple. An exception is its class and message, as Python's
// last traceback line, with the number of lines of the remote traceback.
package tap

import (
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/compat"
)

// Dir is the direction of a stream.
type Dir uint8

// Directions. Raw is a stream of unknown direction (a capture of one side).
const (
	ClientToServer Dir = 0
	ServerToClient Dir = 1
	Raw            Dir = 2
)

// String names the direction as the tap prints it.
func (d Dir) String() string {
	switch d {
	case ClientToServer:
		return "c>s"
	case ServerToClient:
		return "s>c"
	}
	return "raw"
}

func (d Dir) other() Dir {
	switch d {
	case ClientToServer:
		return ServerToClient
	case ServerToClient:
		return ClientToServer
	}
	return Raw
}

// Event kinds.
const (
	KindOpen        = "open"        // a connection was accepted (Client, Server)
	KindDialect     = "dialect"     // the first message of a connection told its dialect
	KindMessage     = "message"     // a decoded message
	KindUndecodable = "undecodable" // a frame or stream that could not be decoded (Error, Head)
	KindClose       = "close"       // the connection ended (Frames, Bytes per direction)
	KindError       = "error"       // the tap could not forward (Error), e.g. upstream unreachable
)

// Event is one line of tap output.
type Event struct {
	Time time.Time `json:"time"`
	Conn int       `json:"conn"`
	Kind string    `json:"kind"`
	Dir  string    `json:"dir,omitempty"` // "c>s", "s>c" or "raw"

	// Messages.
	Dialect   string   `json:"dialect,omitempty"`
	Msg       string   `json:"msg,omitempty"` // REQUEST, REPLY, EXCEPTION
	Seq       *int64   `json:"seq,omitempty"`
	Handler   string   `json:"handler,omitempty"` // a request's, or for a reply its request's
	Object    string   `json:"object,omitempty"`  // the object a request is about, rendered
	Text      string   `json:"text,omitempty"`    // arguments, value or exception, rendered
	Exception string   `json:"exception,omitempty"`
	Traceback string   `json:"traceback,omitempty"`
	LatencyMS *float64 `json:"latency_ms,omitempty"` // request to reply, as seen by the tap

	// Sizes: the whole frame on the wire, its payload as sent, and decoded (decompressed).
	WireBytes    int  `json:"wire_bytes,omitempty"`
	PayloadBytes int  `json:"payload_bytes,omitempty"`
	DecodedBytes int  `json:"decoded_bytes,omitempty"`
	Compressed   bool `json:"compressed,omitempty"`

	// Undecodable data and errors.
	Error string `json:"error,omitempty"`
	Head  string `json:"head,omitempty"` // the first bytes, quoted

	// Open and close.
	Client      string   `json:"client,omitempty"`
	Server      string   `json:"server,omitempty"`
	Frames      []int    `json:"frames,omitempty"`     // per direction, c>s then s>c
	Bytes       []int64  `json:"bytes,omitempty"`      // per direction
	DurationSec *float64 `json:"duration_s,omitempty"` // of the connection

	handler compat.Handler
	dir     Dir
	latency time.Duration
	request *Event // a reply's request
}

// Latency is a reply's time since its request (0 for other events).
func (e *Event) Latency() time.Duration { return e.latency }

// Options tune decoding.
type Options struct {
	// Dialect forces the envelope; compat.Auto (the zero value) recognises it per message.
	Dialect compat.Dialect
	// MaxValue cuts str and bytes values longer than this many characters (0: 200; negative:
	// never).
	MaxValue int
	// MaxFrame is the largest frame decoded (0: 64 MiB); a larger declared
	// length means the stream is not RPyC, or no longer in step.
	MaxFrame int
}

func (o Options) maxValue() int {
	switch {
	case o.MaxValue == 0:
		return 200
	case o.MaxValue < 0:
		return 0
	}
	return o.MaxValue
}

type pendingKey struct {
	dir Dir
	seq int64
}

type stream struct {
	buf    []byte
	opaque bool
	frames int
	bytes  int64
}

// Conn decodes the two streams of one connection. Feed may be called from two goroutines (one
// per direction); events are emitted in the order Feed saw the bytes.
type Conn struct {
	id      int
	opts    Options
	emit    func(*Event)
	mu      sync.Mutex
	start   time.Time
	streams [3]stream
	pending map[pendingKey]*Event
	dialect compat.Dialect
	closed  bool
}

// NewConn starts decoding connection id; emit receives every event (it must not keep the
// Event's pointer fields beyond the call unless it copies them).
func NewConn(id int, opts Options, emit func(*Event)) *Conn {
	return &Conn{id: id, opts: opts, emit: emit, pending: map[pendingKey]*Event{}}
}

// Open reports the connection's endpoints.
func (c *Conn) Open(now time.Time, client, server string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.start = now
	c.emit(&Event{Time: now, Conn: c.id, Kind: KindOpen, Client: client, Server: server})
}

// Feed decodes the next bytes of one direction. It does not keep p. It never panics: a bug in
// decoding marks the stream undecodable instead.
func (c *Conn) Feed(dir Dir, p []byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.start.IsZero() {
		c.start = now
	}
	s := &c.streams[dir]
	defer func() {
		if v := recover(); v != nil {
			s.opaque, s.buf = true, nil
			c.emit(&Event{Time: now, Conn: c.id, Kind: KindUndecodable, Dir: dir.String(), dir: dir,
				Error: fmt.Sprintf("decoder failure (%v); forwarding without decoding from here", v)})
		}
	}()
	s.bytes += int64(len(p))
	if s.opaque {
		return
	}
	s.buf = append(s.buf, p...)
	used := 0
	maxFrame := c.opts.MaxFrame
	if maxFrame <= 0 {
		maxFrame = 64 << 20
	}
	for {
		rest := s.buf[used:]
		if len(rest) < channel.HeaderSize {
			break
		}
		size := int(binary.BigEndian.Uint32(rest))
		if size > maxFrame {
			s.opaque = true
			c.emit(&Event{Time: now, Conn: c.id, Kind: KindUndecodable, Dir: dir.String(), dir: dir,
				Error: fmt.Sprintf("frame header declares %d bytes: not RPyC%s; forwarding without decoding from here", size, guess(rest)),
				Head:  quote(rest, 32)})
			s.buf = nil
			return
		}
		n := channel.HeaderSize + size + 1
		if len(rest) < n {
			break
		}
		c.frame(dir, rest[:n], now)
		used += n
	}
	if used > 0 {
		s.buf = append(s.buf[:0], s.buf[used:]...)
	}
}

// Close reports the end of the connection, with what was left undecoded.
func (c *Conn) Close(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	for d := range c.streams {
		if s := &c.streams[d]; len(s.buf) > 0 && !s.opaque {
			c.emit(&Event{Time: now, Conn: c.id, Kind: KindUndecodable, Dir: Dir(d).String(), dir: Dir(d),
				Error: fmt.Sprintf("stream ended inside a frame (%d bytes left)", len(s.buf)), Head: quote(s.buf, 32)})
		}
	}
	e := &Event{Time: now, Conn: c.id, Kind: KindClose,
		Frames: []int{c.streams[0].frames, c.streams[1].frames},
		Bytes:  []int64{c.streams[0].bytes, c.streams[1].bytes}}
	if c.streams[Raw].bytes > 0 {
		e.Frames = append(e.Frames, c.streams[Raw].frames)
		e.Bytes = append(e.Bytes, c.streams[Raw].bytes)
	}
	if c.dialect != compat.Auto {
		e.Dialect = c.dialect.String()
	}
	if !c.start.IsZero() {
		d := now.Sub(c.start).Seconds()
		e.DurationSec = &d
	}
	c.emit(e)
}

// frame decodes one whole frame.
func (c *Conn) frame(dir Dir, frame []byte, now time.Time) {
	s := &c.streams[dir]
	s.frames++
	e := &Event{Time: now, Conn: c.id, Kind: KindMessage, Dir: dir.String(), dir: dir,
		WireBytes: len(frame), PayloadBytes: len(frame) - channel.HeaderSize - 1, Compressed: frame[4] != 0}
	payload, _, err := channel.ParseFrame(frame, channel.Config{MaxFrameSize: len(frame)})
	if err != nil {
		c.undecodable(e, fmt.Sprintf("frame: %v", err), frame[channel.HeaderSize:])
		return
	}
	e.DecodedBytes = len(payload)
	d := c.opts.Dialect
	if d == compat.Auto {
		var ok bool
		if d, ok = compat.Detect(payload); !ok {
			c.undecodable(e, "not an RPyC message of either dialect", payload)
			return
		}
	}
	if c.dialect == compat.Auto {
		c.dialect = d
		c.emit(&Event{Time: now, Conn: c.id, Kind: KindDialect, Dir: dir.String(), dir: dir, Dialect: d.String(),
			Text: dialectPeers(d)})
	}
	e.Dialect = d.String()
	msg, seq, body, _, err := d.DecodeMessage(brine.Decoder{}, payload)
	if err != nil {
		c.undecodable(e, fmt.Sprintf("message (%s): %v", d, err), payload)
		return
	}
	e.Msg = strings.TrimPrefix(msg.String(), "MSG_")
	e.Seq = &seq
	r := renderer{max: c.opts.maxValue()}
	switch msg {
	case compat.MsgRequest:
		t, ok := body.(brine.Tuple)
		h, hok := int64(0), false
		if ok && len(t) == 2 {
			h, hok = t[0].(int64)
		}
		if !hok {
			e.Text = r.value(body)
			e.Error = "request body is not (handler, args)"
			break
		}
		e.handler = compat.Handler(h)
		e.Handler = e.handler.String()
		e.Object, e.Text = r.request(e.handler, t[1])
		c.pending[pendingKey{dir, seq}] = e
	case compat.MsgReply, compat.MsgException:
		if req, ok := c.pending[pendingKey{dir.other(), seq}]; ok && dir != Raw {
			delete(c.pending, pendingKey{dir.other(), seq})
			e.request = req
			e.handler, e.Handler = req.handler, req.Handler
			e.latency = now.Sub(req.Time)
			ms := float64(e.latency.Microseconds()) / 1000
			e.LatencyMS = &ms
		}
		if msg == compat.MsgReply {
			e.Text = r.box(body)
		} else {
			e.Exception, e.Text, e.Traceback = r.exception(body)
		}
	default:
		e.Text = r.value(body)
	}
	e.Text = r.cut(e.Text)
	c.emit(e)
}

func (c *Conn) undecodable(e *Event, why string, data []byte) {
	e.Kind = KindUndecodable
	e.Error = why
	e.Head = quote(data, 32)
	c.emit(e)
}

// Request returns a reply's request event (nil if the tap did not see it).
func (e *Event) Request() *Event { return e.request }

// HandlerCode returns a request's handler (or a reply's request's), 0 if none.
func (e *Event) HandlerCode() compat.Handler { return e.handler }

func dialectPeers(d compat.Dialect) string {
	if d == compat.V6 {
		return "Python rpyc 6.x"
	}
	return "Python rpyc 4.1-5.3"
}

// guess names what a stream that is not RPyC looks like.
func guess(b []byte) string {
	s := string(b[:min(len(b), 8)])
	switch {
	case len(b) >= 2 && b[0] == 0x16 && b[1] == 0x03:
		return " (a TLS handshake: the tap cannot decode encrypted traffic)"
	case strings.HasPrefix(s, "HTTP/"), strings.HasPrefix(s, "GET "), strings.HasPrefix(s, "POST "),
		strings.HasPrefix(s, "<!DO"), strings.HasPrefix(s, "<htm"), strings.HasPrefix(s, "<HTM"):
		return " (HTTP)"
	case strings.HasPrefix(s, "SSH-"):
		return " (SSH)"
	}
	return ""
}

// quote shows up to n bytes as a Go-quoted string.
func quote(b []byte, n int) string {
	if len(b) > n {
		return fmt.Sprintf("%q...", b[:n])
	}
	return fmt.Sprintf("%q", b)
}

// renderer renders boxes and values.
type renderer struct{ max int }

func (r renderer) value(v any) string {
	switch x := v.(type) {
	case string:
		if r.max > 0 && utf8.RuneCountInString(x) > r.max {
			cut := x
			for i := range x {
				if utf8.RuneCountInString(x[:i]) >= r.max {
					cut = x[:i]
					break
				}
			}
			return brine.Repr(cut) + fmt.Sprintf("...(%d chars)", utf8.RuneCountInString(x))
		}
	case []byte:
		if r.max > 0 && len(x) > r.max {
			return brine.Repr(x[:r.max]) + fmt.Sprintf("...(%d bytes)", len(x))
		}
	case brine.Tuple:
		parts := make([]string, len(x))
		for i, it := range x {
			parts[i] = r.value(it)
		}
		return tupleText(parts)
	case brine.FrozenSet:
		if len(x) == 0 {
			return "frozenset()"
		}
		parts := make([]string, len(x))
		for i, it := range x {
			parts[i] = r.value(it)
		}
		return "frozenset({" + strings.Join(parts, ", ") + "})"
	}
	return brine.Repr(v)
}

func tupleText(parts []string) string {
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// cut bounds a whole rendered message at 4 times the value limit.
func (r renderer) cut(s string) string {
	if r.max <= 0 || len(s) <= 4*r.max {
		return s
	}
	i := 4 * r.max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + fmt.Sprintf("...(%d chars)", utf8.RuneCountInString(s))
}

// box renders one box: (label, payload).
func (r renderer) box(v any) string {
	t, ok := v.(brine.Tuple)
	if !ok || len(t) != 2 {
		return "<malformed box " + r.value(v) + ">"
	}
	label, _ := t[0].(int64)
	switch compat.Label(label) {
	case compat.LabelValue:
		return r.value(t[1])
	case compat.LabelTuple:
		items, ok := t[1].(brine.Tuple)
		if !ok {
			return "<malformed tuple box " + r.value(t[1]) + ">"
		}
		parts := make([]string, len(items))
		for i, it := range items {
			parts[i] = r.box(it)
		}
		return tupleText(parts)
	case compat.LabelLocalRef:
		return refText("local ref", t[1])
	case compat.LabelRemoteRef:
		return refText("ref", t[1])
	}
	return "<malformed box " + r.value(v) + ">"
}

func refText(kind string, idPack any) string {
	id, err := compat.ParseIDPack(idPack)
	if err != nil {
		return fmt.Sprintf("<%s (bad id_pack %s)>", kind, brine.Repr(idPack))
	}
	if id.InstanceID == 0 {
		return fmt.Sprintf("<%s class %s 0x%x>", kind, id.Name, id.ClassID)
	}
	return fmt.Sprintf("<%s %s 0x%x>", kind, id.Name, id.InstanceID)
}

// items returns the boxes of a boxed tuple (a LABEL_TUPLE's boxes, or a LABEL_VALUE tuple's
// items boxed as values).
func items(box any) ([]any, bool) {
	t, ok := box.(brine.Tuple)
	if !ok || len(t) != 2 {
		return nil, false
	}
	label, _ := t[0].(int64)
	inner, ok := t[1].(brine.Tuple)
	if !ok {
		return nil, false
	}
	switch compat.Label(label) {
	case compat.LabelTuple:
		return inner, true
	case compat.LabelValue:
		out := make([]any, len(inner))
		for i, it := range inner {
			out[i] = brine.Tuple{int64(compat.LabelValue), it}
		}
		return out, true
	}
	return nil, false
}

// str returns a box holding a str value.
func str(box any) (string, bool) {
	t, ok := box.(brine.Tuple)
	if !ok || len(t) != 2 || t[0] != int64(compat.LabelValue) {
		return "", false
	}
	s, ok := t[1].(string)
	return s, ok
}

// call renders (args box, kwargs box) as "a, b, k=v".
func (r renderer) call(args, kwargs any) (string, bool) {
	pos, ok := items(args)
	if !ok {
		return "", false
	}
	var parts []string
	for _, a := range pos {
		parts = append(parts, r.box(a))
	}
	kw, ok := items(kwargs)
	if !ok {
		return "", false
	}
	for _, pair := range kw {
		kv, ok := items(pair)
		if !ok || len(kv) != 2 {
			return "", false
		}
		name, ok := str(kv[0])
		if !ok {
			return "", false
		}
		parts = append(parts, name+"="+r.box(kv[1]))
	}
	return strings.Join(parts, ", "), true
}

// request renders a request's arguments in the shape of what it does, and the object it is
// about.
func (r renderer) request(h compat.Handler, argsBox any) (object, text string) {
	args, ok := items(argsBox)
	if !ok {
		return "", r.box(argsBox)
	}
	generic := func() (string, string) {
		obj := ""
		if len(args) > 0 {
			obj = r.box(args[0])
		}
		parts := make([]string, len(args))
		for i, a := range args {
			parts[i] = r.box(a)
		}
		return obj, tupleText(parts)
	}
	if len(args) == 0 {
		return generic()
	}
	obj := r.box(args[0])
	switch h {
	case compat.HandleGetAttr, compat.HandleDelAttr:
		if name, ok := str(args[min(1, len(args)-1)]); ok && len(args) == 2 {
			if h == compat.HandleDelAttr {
				return obj, "del " + obj + "." + name
			}
			return obj, obj + "." + name
		}
	case compat.HandleSetAttr:
		if name, ok := str(args[min(1, len(args)-1)]); ok && len(args) == 3 {
			return obj, obj + "." + name + " = " + r.box(args[2])
		}
	case compat.HandleCall:
		if len(args) == 3 {
			if a, ok := r.call(args[1], args[2]); ok {
				return obj, obj + "(" + a + ")"
			}
		}
	case compat.HandleCallAttr:
		if len(args) == 4 {
			name, nok := str(args[1])
			if a, ok := r.call(args[2], args[3]); ok && nok {
				return obj, obj + "." + name + "(" + a + ")"
			}
		}
	case compat.HandleRepr, compat.HandleStr, compat.HandleHash, compat.HandleDir:
		if len(args) == 1 {
			fn := strings.ToLower(strings.TrimPrefix(h.String(), "HANDLE_"))
			return obj, fn + "(" + obj + ")"
		}
	case compat.HandleDel:
		if len(args) == 2 {
			return obj, "del " + obj + " (count " + r.box(args[1]) + ")"
		}
		if len(args) == 1 {
			return obj, "del " + obj
		}
	case compat.HandleCmp:
		if len(args) == 3 {
			if op, ok := str(args[2]); ok {
				return obj, obj + " " + op + " " + r.box(args[1])
			}
		}
	}
	return generic()
}

// exception renders a MSG_EXCEPTION body: its class, its last traceback line and the traceback.
func (r renderer) exception(body any) (class, text, traceback string) {
	if i, ok := body.(int64); ok && i == compat.ExcStopIteration {
		return "StopIteration", "StopIteration", ""
	}
	t, ok := body.(brine.Tuple)
	if !ok || len(t) != 4 {
		return "", "<malformed exception " + r.value(body) + ">", ""
	}
	cls, _ := t[0].(brine.Tuple)
	var module, name string
	if len(cls) == 2 {
		module, _ = cls[0].(string)
		name, _ = cls[1].(string)
	}
	class = name
	if module != "" && module != "builtins" {
		class = module + "." + name
	}
	args, _ := t[1].(brine.Tuple)
	msg := ""
	switch {
	case len(args) == 1 && name != "KeyError":
		if s, ok := args[0].(string); ok {
			msg = s
			if r.max > 0 && len(msg) > r.max {
				msg = msg[:r.max] + "..."
			}
		} else {
			msg = r.value(args[0])
		}
	case len(args) == 1:
		msg = r.value(args[0])
	case len(args) > 1:
		msg = r.value(args)
	}
	text = class
	if msg != "" {
		text += ": " + msg
	}
	traceback, _ = t[3].(string)
	if n := strings.Count(strings.TrimRight(traceback, "\n"), "\n"); traceback != "" {
		text += fmt.Sprintf(" (remote traceback, %d lines)", n+1)
	}
	return class, text, traceback
}
