package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorpyc/rpyc/classic"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/internal/tap"
)

func init() { commands = append(commands, tapCmd) }

// tapFlags are the tap command's own flags.
type tapFlags struct {
	handlers   string
	slowerThan time.Duration
	object     string
	read       string
	capture    string
	maxValue   int
}

var tapCmd = &command{
	name:    "tap",
	args:    "LISTEN UPSTREAM | --read FILE",
	summary: "a transparent proxy that prints every RPyC message both ways",
	details: `
Listens on LISTEN ([HOST:]PORT; a bare port listens on 127.0.0.1) and forwards each connection
to UPSTREAM (HOST[:PORT], default port 18812), byte for byte: point any rpyc client (Python or
Go, either dialect) at LISTEN instead of the server. Every frame is decoded, both ways, into one
line: time, connection, direction (c>s client to server, s>c server to client), message type,
sequence number, handler, arguments or result (values as Python's repr, references as
<ref TYPE 0xID> for an object of the sender and <local ref TYPE 0xID> for an object of the
receiver), the reply's latency, and the frame's size on the wire (and decompressed, for zlib
frames). The dialect is recognised per message; what cannot be decoded is shown as UNDECODABLE
and forwarded all the same. Ctrl-C stops the tap.

--json prints one JSON object per line instead. --handler, --slower-than and --object filter
what is printed (not what is forwarded). --capture FILE records the traffic; --read FILE
decodes a capture, or a file holding the raw bytes of one direction.`,
	flags: func(fs *flag.FlagSet, a *app) {
		fs.StringVar(&a.tap.handlers, "handler", "", "show only requests of these `handlers` (comma-separated: getattr,callattr or HANDLE_CALL), with their replies")
		fs.DurationVar(&a.tap.slowerThan, "slower-than", 0, "show only requests answered in at least this `duration` (e.g. 10ms), with their replies")
		fs.StringVar(&a.tap.object, "object", "", "show only requests and replies whose object or values contain this `text` (e.g. builtins.list or 0x7f3a)")
		fs.StringVar(&a.tap.read, "read", "", "decode a capture `file` (from --capture, or raw bytes of one direction) instead of listening")
		fs.StringVar(&a.tap.capture, "capture", "", "also record the forwarded bytes in this `file` (read it back with --read)")
		fs.IntVar(&a.tap.maxValue, "max-value", 200, "cut str and bytes values after this many `characters` (0: never)")
	},
	minArgs: 0, maxArgs: 2,
	run: runTap,
}

func runTap(ctx context.Context, a *app, args []string) error {
	t := a.tap
	filter := tap.Filter{SlowerThan: t.slowerThan, Object: t.object}
	if t.handlers != "" {
		filter.Handlers = map[compat.Handler]bool{}
		for _, name := range strings.Split(t.handlers, ",") {
			h, err := tap.ParseHandler(name)
			if err != nil {
				return usagef("--handler: %v", err)
			}
			filter.Handlers[h] = true
		}
	}
	d, _ := compat.ParseDialect(a.dialect)
	maxValue := t.maxValue
	if maxValue == 0 {
		maxValue = -1
	}
	opts := tap.Options{Dialect: d, MaxValue: maxValue}
	pr := &tap.Printer{W: a.stdout, JSON: a.json, Filter: filter}
	if t.read != "" {
		if len(args) != 0 {
			return usagef("tap --read FILE takes no other argument")
		}
		f, err := os.Open(t.read)
		if err != nil {
			return &localError{err}
		}
		defer f.Close()
		if err := tap.ReadCapture(f, opts, pr.Emit); err != nil {
			return &localError{fmt.Errorf("%s: %w", t.read, err)}
		}
		return nil
	}
	if len(args) != 2 {
		return usagef("usage: rpyc tap LISTEN UPSTREAM, or rpyc tap --read FILE (see rpyc help tap)")
	}
	listen := args[0]
	if _, err := strconv.Atoi(listen); err == nil {
		listen = net.JoinHostPort("127.0.0.1", listen)
	}
	upstream := classic.Address(args[1], a.defaultPort())
	var capture *tap.CaptureWriter
	if t.capture != "" {
		f, err := os.Create(t.capture)
		if err != nil {
			return &localError{err}
		}
		defer f.Close()
		if capture, err = tap.NewCaptureWriter(f); err != nil {
			return &localError{err}
		}
		defer func() {
			if err := capture.Flush(); err != nil {
				fmt.Fprintf(a.stderr, "rpyc: tap: writing %s: %v\n", t.capture, err)
			}
		}()
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return &connError{fmt.Errorf("tap: cannot listen on %s: %s", listen, innermost(err))}
	}
	defer ln.Close()
	fmt.Fprintf(a.stderr, "rpyc tap: listening on %s, forwarding to %s (Ctrl-C stops)\n", ln.Addr(), upstream)
	p := &tapProxy{a: a, upstream: upstream, opts: opts, printer: pr, capture: capture, conns: map[int]net.Conn{}}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for id := 1; ; id++ {
		c, err := ln.Accept()
		if err != nil {
			p.shutdown()
			if ctx.Err() != nil {
				fmt.Fprintf(a.stderr, "rpyc tap: stopped after %d connection(s)\n", id-1)
				return nil
			}
			return &connError{fmt.Errorf("tap: accept: %w", err)}
		}
		p.wg.Add(1)
		go p.serve(ctx, id, c)
	}
}

// tapProxy forwards and decodes the connections of one tap.
type tapProxy struct {
	a        *app
	upstream string
	opts     tap.Options
	printer  *tap.Printer
	capture  *tap.CaptureWriter
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[int]net.Conn // open client and upstream connections, to close on shutdown
	closing  bool
}

func (p *tapProxy) track(id int, c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing {
		return false
	}
	p.conns[id] = c
	return true
}

func (p *tapProxy) untrack(id int) {
	p.mu.Lock()
	delete(p.conns, id)
	p.mu.Unlock()
}

// shutdown closes every forwarded connection and waits for their decoders.
func (p *tapProxy) shutdown() {
	p.mu.Lock()
	p.closing = true
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *tapProxy) serve(ctx context.Context, id int, client net.Conn) {
	defer p.wg.Done()
	defer client.Close()
	dc := tap.NewConn(id, p.opts, p.printer.Emit)
	d := net.Dialer{Timeout: p.a.timeout}
	server, err := d.DialContext(ctx, "tcp", p.upstream)
	if err != nil {
		p.printer.Emit(&tap.Event{Time: time.Now(), Conn: id, Kind: tap.KindError,
			Error: fmt.Sprintf("cannot connect to %s: %s (closing the client's connection)", p.upstream, innermost(err))})
		return
	}
	defer server.Close()
	// Client and server side are tracked under two keys (id and -id).
	if !p.track(id, client) || !p.track(-id, server) {
		return
	}
	defer p.untrack(id)
	defer p.untrack(-id)
	now := time.Now()
	dc.Open(now, client.RemoteAddr().String(), server.RemoteAddr().String())
	if p.capture != nil {
		p.capture.Open(id, now, client.RemoteAddr().String(), server.RemoteAddr().String())
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pump(id, dc, tap.ClientToServer, client, server) }()
	go func() { defer wg.Done(); p.pump(id, dc, tap.ServerToClient, server, client) }()
	wg.Wait()
	now = time.Now()
	dc.Close(now)
	if p.capture != nil {
		p.capture.Close(id, now)
	}
}

// pump copies src to dst unchanged. Each chunk is handed to the decoder just before it is
// written on, so that a request is always decoded before the reply it causes (the latency is
// measured between those two moments). At src's EOF it half-closes dst, as the peer did; on an
// error it closes both.
func (p *tapProxy) pump(id int, dc *tap.Conn, dir tap.Dir, src, dst net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			now := time.Now()
			if p.capture != nil {
				p.capture.Data(id, dir, now, buf[:n])
			}
			dc.Feed(dir, buf[:n], now)
			if _, werr := dst.Write(buf[:n]); werr != nil {
				src.Close()
				dst.Close()
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if tc, ok := dst.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
					return
				}
			}
			src.Close()
			dst.Close()
			return
		}
	}
}
