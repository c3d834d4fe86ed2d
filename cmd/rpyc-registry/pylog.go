package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// pyHandler writes log records the way Python's rpyc_registry does, so that existing parsers of
// its output keep working (--log-format python):
//
//	Nov 29 19:00:49 DEBUG REGSRV/UDP/18811[MainThread]: registering 127.0.0.1:18861 as DEMO, X
//
// The registry's own records become Python's messages (server started, registering,
// unregistering, querying for, replying with); others keep their text and attributes.
type pyHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	level slog.Leveler
	name  string // REGSRV/UDP/18811
	attrs []slog.Attr
}

func newPyHandler(w io.Writer, level slog.Leveler, mode string, port int) *pyHandler {
	return &pyHandler{mu: &sync.Mutex{}, w: w, level: level, name: fmt.Sprintf("REGSRV/%s/%d", mode, port)}
}

func (h *pyHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *pyHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *pyHandler) WithGroup(string) slog.Handler { return h }

func (h *pyHandler) Handle(_ context.Context, r slog.Record) error {
	attrs := map[string]slog.Value{}
	for _, a := range h.attrs {
		attrs[a.Key] = a.Value
	}
	r.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value
		return true
	})
	var lines []string
	level := r.Level
	switch r.Message {
	case "registry: serving":
		lines = []string{"server started on " + attrs["addr"].String()}
		level = slog.LevelDebug // Python logs it at DEBUG
	case "registry: register":
		lines = []string{fmt.Sprintf("registering %s:%s as %s", attrs["from"], attrs["port"], joinNames(attrs["names"]))}
	case "registry: unregister":
		lines = []string{fmt.Sprintf("unregistering %s:%s", attrs["from"], attrs["port"])}
	case "registry: query":
		name := attrs["name"].String()
		if !strings.HasPrefix(name, "b'") && !strings.HasPrefix(name, `b"`) {
			name = "'" + name + "'"
		}
		if reply := attrs["reply"].String(); reply != "" && reply != "[]" {
			lines = []string{"querying for " + name, "replying with " + reply}
		} else {
			lines = []string{"querying for " + name, "no such service"}
		}
	default:
		msg := strings.TrimPrefix(r.Message, "registry: ")
		var b strings.Builder
		b.WriteString(msg)
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		})
		lines = []string{b.String()}
	}
	stamp := r.Time
	if stamp.IsZero() {
		stamp = time.Now()
	}
	var out strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&out, "%s %s %s[MainThread]: %s\n", stamp.Format("Jan 02 15:04:05"), pyLevel(level), h.name, l)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, out.String())
	return err
}

// joinNames renders the registered names as Python's ", ".join(names).
func joinNames(v slog.Value) string {
	if names, ok := v.Any().([]string); ok {
		return strings.Join(names, ", ")
	}
	return v.String()
}

// pyLevel is Python's name for a level.
func pyLevel(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "DEBUG"
	case l < slog.LevelWarn:
		return "INFO"
	case l < slog.LevelError:
		return "WARNING"
	}
	return "ERROR"
}
