package protocol

import (
	"fmt"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/compat"
)

// QuickObjects is implemented by an [Objects] that can answer some requests without running
// user code and without blocking: a plain attribute lookup, dir(), a built-in method without
// arguments (the root's get_service_name). The reader answers those itself, with no goroutine
// switch (a Python client's root.add(1, 2) starts with such a GETATTR) and, for a client that
// connects, asks the service's name and leaves, no handler goroutine at all. ServeQuick reports handled == false (err then ignored) for a request it cannot
// answer that way; the request then goes to a handler goroutine as usual. It must not call the
// peer, block or run code a user wrote (a custom RPyCGetAttr, a String method).
type QuickObjects interface {
	ServeQuick(c *Conn, req Request) (v any, handled bool, err error)
}

// quickRequest decodes the requests a QuickObjects may answer in the reader.
func quickRequest(c *Conn, h compat.Handler, args brine.Tuple) (Request, error) {
	if _, remote := args[0].(*Ref); remote {
		return nil, nil // another connection's object: answering it means a request there
	}
	switch h {
	case compat.HandleGetAttr:
		name, err := c.attrName(args[0], args[1], AccessGet)
		if err != nil {
			return nil, err
		}
		return &GetAttr{Obj: args[0], Name: name}, nil
	case compat.HandleDir:
		return &Dir{Obj: args[0]}, nil
	case compat.HandleCallAttr:
		if !noArgs(args[2:]) {
			return nil, nil // a call with arguments runs user code: never quick
		}
		name, err := c.attrName(args[0], args[1], AccessGet)
		if err != nil {
			return nil, err
		}
		return &CallAttr{Obj: args[0], Name: name}, nil
	}
	return nil, nil
}

// noArgs reports whether CALLATTR's (args, kwargs) tail passes no argument.
func noArgs(rest brine.Tuple) bool {
	for _, a := range rest {
		if t, ok := a.(brine.Tuple); a != nil && (!ok || len(t) > 0) {
			return false
		}
	}
	return true
}

// serveQuick answers a request in the reader if the connection's Objects can; handled reports
// whether it did (v, err being the answer).
func (c *Conn) serveQuick(h compat.Handler, args brine.Tuple) (v any, handled bool, err error) {
	q, ok := c.objs.(QuickObjects)
	if !ok || (h != compat.HandleGetAttr && h != compat.HandleDir && h != compat.HandleCallAttr) {
		return nil, false, nil
	}
	if c.cfg.Observer != nil {
		defer func() {
			if handled { // one the reader answered: observed here, not by serve
				_, done := c.cfg.Observer.Request(c.ctx, c, h, true)
				done(err)
			}
		}()
	}
	defer func() { // runs before the observer's: a panic is an answer too
		if r := recover(); r != nil {
			c.log.Error("rpyc: panic in handler", "handler", h, "panic", r)
			v, handled, err = nil, true, fmt.Errorf("%w: %w", RuntimeError, newPanicError(r))
		}
	}()
	req, err := quickRequest(c, h, args)
	if err != nil {
		return nil, true, err
	}
	if req == nil {
		return nil, false, nil
	}
	return q.ServeQuick(c, req)
}
