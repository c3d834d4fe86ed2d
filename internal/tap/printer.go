package tap

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/gorpyc/rpyc/compat"
)

// Filter selects the requests shown (with their replies). The zero Filter shows everything.
// Connection events (open, dialect, close) and undecodable data are always shown.
type Filter struct {
	// Handlers, when not empty, keeps only requests of these handlers and their replies.
	Handlers map[compat.Handler]bool
	// SlowerThan, when positive, keeps only requests answered in at least this long (or not
	// answered when the connection ends), each printed with its reply once the reply comes.
	SlowerThan time.Duration
	// Object, when not empty, keeps the requests whose object or arguments contain it, with
	// their replies, and the replies whose value contains it, with their requests.
	Object string
}

func (f Filter) active() bool {
	return len(f.Handlers) > 0 || f.SlowerThan > 0 || f.Object != ""
}

// ParseHandler accepts a handler's name as rpyc spells it (HANDLE_CALLATTR), without the prefix,
// in any case (callattr), or its number.
func ParseHandler(s string) (compat.Handler, error) {
	want := strings.ToUpper(strings.TrimSpace(s))
	want = strings.TrimPrefix(want, "HANDLE_")
	for h := compat.HandlePing; h <= compat.HandleInstanceCheck; h++ {
		if strings.TrimPrefix(h.String(), "HANDLE_") == want || fmt.Sprint(uint8(h)) == want {
			return h, nil
		}
	}
	return 0, fmt.Errorf("unknown handler %q (one of PING, CLOSE, GETROOT, GETATTR, DELATTR, SETATTR, CALL, CALLATTR, REPR, STR, CMP, HASH, DIR, PICKLE, DEL, INSPECT, BUFFITER, OLDSLICING, CTXEXIT, INSTANCECHECK)", s)
}

type heldKey struct {
	conn int
	dir  Dir
	seq  int64
}

// Printer writes events as text lines or JSON lines, applying a Filter. It is safe for
// concurrent use by the decoders of several connections.
type Printer struct {
	W      io.Writer
	JSON   bool
	Filter Filter

	mu    sync.Mutex
	held  map[heldKey]*Event // requests not printed yet: their reply decides
	shown map[heldKey]bool   // requests printed: their reply is printed too
}

// Emit handles one event (the func to give NewConn).
func (p *Printer) Emit(e *Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held == nil {
		p.held, p.shown = map[heldKey]*Event{}, map[heldKey]bool{}
	}
	f := p.Filter
	if e.Kind != KindMessage || !f.active() || e.Seq == nil || e.dir == Raw {
		if e.Kind == KindClose {
			p.flushConn(e)
		}
		p.write(e)
		return
	}
	handlerOK := len(f.Handlers) == 0 || f.Handlers[e.handler]
	switch e.Msg {
	case "REQUEST":
		if !handlerOK {
			return
		}
		key := heldKey{e.Conn, e.dir, *e.Seq}
		if f.SlowerThan <= 0 && (f.Object == "" || contains(e, f.Object)) {
			p.shown[key] = true
			p.write(e)
			return
		}
		held := *e
		p.held[key] = &held
	case "REPLY", "EXCEPTION":
		key := heldKey{e.Conn, e.dir.other(), *e.Seq}
		req, wasHeld := p.held[key]
		wasShown := p.shown[key]
		delete(p.held, key)
		delete(p.shown, key)
		if !handlerOK || (e.request == nil && len(f.Handlers) > 0) {
			return
		}
		if f.SlowerThan > 0 && e.latency < f.SlowerThan {
			return
		}
		if f.Object != "" && !wasShown && !contains(e, f.Object) && !(wasHeld && contains(req, f.Object)) {
			return
		}
		if wasHeld {
			p.write(req)
		}
		p.write(e)
	default:
		if f.Object == "" || contains(e, f.Object) {
			p.write(e)
		}
	}
}

// flushConn prints the held requests of a closing connection that waited longer than
// SlowerThan without a reply, and forgets the others.
func (p *Printer) flushConn(closing *Event) {
	for k, req := range p.held {
		if k.conn != closing.Conn {
			continue
		}
		delete(p.held, k)
		if p.Filter.SlowerThan > 0 && closing.Time.Sub(req.Time) >= p.Filter.SlowerThan &&
			(p.Filter.Object == "" || contains(req, p.Filter.Object)) {
			r := *req
			r.Error = "no reply before the connection ended"
			p.write(&r)
		}
	}
	for k := range p.shown {
		if k.conn == closing.Conn {
			delete(p.shown, k)
		}
	}
}

func contains(e *Event, s string) bool {
	return strings.Contains(e.Object, s) || strings.Contains(e.Text, s)
}

func (p *Printer) write(e *Event) {
	if p.JSON {
		enc := json.NewEncoder(p.W)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(e); err != nil {
			fmt.Fprintf(p.W, "{\"kind\":\"error\",\"error\":%q}\n", err.Error())
		}
		return
	}
	io.WriteString(p.W, Format(e)+"\n")
}

// Format renders an event as one line of text:
//
//	15:04:05.000123 #1 c>s REQUEST   seq=1 HANDLE_CALLATTR <local ref SlaveService 0x7f..>.getmodule('os') [78 B]
//	15:04:05.000456 #1 s>c REPLY     seq=1 HANDLE_CALLATTR <ref builtins.module 0x7f..> 0.33 ms [70 B]
func Format(e *Event) string {
	var b strings.Builder
	b.WriteString(e.Time.Format("15:04:05.000000"))
	fmt.Fprintf(&b, " #%d ", e.Conn)
	switch e.Kind {
	case KindOpen:
		fmt.Fprintf(&b, "open %s -> %s", e.Client, e.Server)
	case KindDialect:
		fmt.Fprintf(&b, "dialect %s (%s)", e.Dialect, e.Text)
	case KindClose:
		b.WriteString("close")
		if e.DurationSec != nil {
			fmt.Fprintf(&b, " after %.3f s", *e.DurationSec)
		}
		if e.Dialect != "" {
			fmt.Fprintf(&b, " (dialect %s)", e.Dialect)
		}
		for i := range e.Frames {
			fmt.Fprintf(&b, ", %s %d frames %s", Dir(i), e.Frames[i], humanBytes(e.Bytes[i]))
		}
	case KindError:
		fmt.Fprintf(&b, "error: %s", e.Error)
	case KindUndecodable:
		fmt.Fprintf(&b, "%s UNDECODABLE %s", e.Dir, e.Error)
		if e.Head != "" {
			fmt.Fprintf(&b, " first bytes %s", e.Head)
		}
		if e.WireBytes > 0 {
			b.WriteString(" " + sizeText(e))
		}
	default:
		fmt.Fprintf(&b, "%s %-9s", e.Dir, e.Msg)
		if e.Seq != nil {
			fmt.Fprintf(&b, " seq=%d", *e.Seq)
		}
		if e.Handler != "" {
			b.WriteString(" " + e.Handler)
		}
		if e.Text != "" {
			b.WriteString(" " + e.Text)
		}
		if e.LatencyMS != nil {
			fmt.Fprintf(&b, " %.2f ms", *e.LatencyMS)
		}
		if e.Error != "" {
			b.WriteString(" (" + e.Error + ")")
		}
		b.WriteString(" " + sizeText(e))
	}
	return b.String()
}

func sizeText(e *Event) string {
	if e.Compressed {
		return fmt.Sprintf("[%d B, zlib %d B]", e.WireBytes, e.DecodedBytes)
	}
	return fmt.Sprintf("[%d B]", e.WireBytes)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
