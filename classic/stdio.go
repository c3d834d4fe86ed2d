package classic

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorpyc/rpyc/netref"
	"github.com/gorpyc/rpyc/protocol"
)

// RedirectStdio runs fn while the server's sys.stdout and sys.stderr write into stdout and
// stderr (Python's rpyc.classic.redirected_stdio): whatever the server prints during fn —
// print(), tracebacks, logging to a stream handler — arrives here. A nil writer leaves that
// stream alone. The original streams are restored afterwards, even when fn fails or ctx is
// canceled (the restore gets 10 s of its own); a failed restore is joined to fn's error.
//
// The redirection is process-wide on the server: every thread, and every other client of a
// threaded server, prints here while it lasts. Writes from the server are serialised and passed
// to the writers as UTF-8 text.
func (c *Client) RedirectStdio(ctx context.Context, stdout, stderr io.Writer, fn func(ctx context.Context) error) (err error) {
	sys, err := c.Module(ctx, "sys")
	if err != nil {
		return fmt.Errorf("classic: redirect stdio: %w", err)
	}
	type saved struct {
		name string
		orig any
	}
	var restore []saved
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		for i := len(restore) - 1; i >= 0; i-- {
			s := restore[i]
			if rerr := sys.SetAttr(rctx, s.name, s.orig); rerr != nil {
				err = errors.Join(err, fmt.Errorf("classic: restore sys.%s: %w", s.name, rerr))
			}
			if r, ok := s.orig.(*netref.Ref); ok {
				r.Release()
			}
		}
	}()
	for _, s := range []struct {
		name string
		w    io.Writer
	}{{"stdout", stdout}, {"stderr", stderr}} {
		if s.w == nil {
			continue
		}
		orig, err := sys.GetAttr(ctx, s.name)
		if err != nil {
			return fmt.Errorf("classic: redirect stdio: %w", err)
		}
		if err := sys.SetAttr(ctx, s.name, &remoteWriter{w: s.w, Encoding: "utf-8", Errors: "strict"}); err != nil {
			if r, ok := orig.(*netref.Ref); ok {
				r.Release()
			}
			return fmt.Errorf("classic: redirect sys.%s: %w", s.name, err)
		}
		restore = append(restore, saved{s.name, orig})
	}
	return fn(ctx)
}

// remoteWriter is what the server's sys.stdout/sys.stderr become during RedirectStdio: enough
// of a text stream for print(), traceback and logging (write, flush, isatty, writable, encoding).
type remoteWriter struct {
	mu sync.Mutex
	w  io.Writer
	// Encoding and Errors are read by code that inspects its stream (sys.stdout.encoding).
	Encoding string
	Errors   string
}

// Write is the stream's write(s): it returns the number of characters written, as Python's
// text streams do.
func (rw *remoteWriter) Write(s string) (int, error) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if _, err := io.WriteString(rw.w, s); err != nil {
		return 0, fmt.Errorf("%w: %w", protocol.OSError, err)
	}
	return utf8.RuneCountInString(s), nil
}

// Flush is the stream's flush(): it flushes the writer if it can be flushed.
func (rw *remoteWriter) Flush() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	switch f := rw.w.(type) {
	case interface{ Flush() error }:
		return f.Flush()
	case interface{ Sync() error }:
		_ = f.Sync() // terminals and pipes refuse fsync; nothing to report
	}
	return nil
}

// Isatty is the stream's isatty(): false, so that the server does not emit terminal escapes.
func (rw *remoteWriter) Isatty() bool { return false }

// Writable is the stream's writable().
func (rw *remoteWriter) Writable() bool { return true }

// Readable is the stream's readable().
func (rw *remoteWriter) Readable() bool { return false }
