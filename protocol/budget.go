package protocol

import (
	"fmt"
	"sync/atomic"

	"github.com/gorpyc/rpyc/channel"
)

// Budget is memory that connections share: a server gives one Budget to all its connections
// (Config.Budget, and channel.Config.Budget for their channels), so that N hostile connections
// together cannot make the process hold more than its limit. A channel charges the large frames
// it reads (as their bytes arrive, and decompressed output before it is allocated) until the next
// frame; a connection charges what each message decoded into until it has been handled: a reply
// or an answered request at once, a request run by a handler when the handler returned. A message
// that does not fit closes its connection with an error matching [ErrLimit]. A Budget is safe for
// concurrent use.
type Budget struct {
	limit int64
	used  atomic.Int64
	peak  atomic.Int64
}

// NewBudget returns a budget of limit bytes.
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

// Limit returns the budget's size in bytes.
func (b *Budget) Limit() int64 { return b.limit }

// Used returns the bytes currently charged.
func (b *Budget) Used() int64 { return b.used.Load() }

// Peak returns the most bytes charged at once so far.
func (b *Budget) Peak() int64 { return b.peak.Load() }

var _ channel.Budget = (*Budget)(nil)

// Reserve charges n bytes if they fit, and reports whether they did. Channels call it for the
// frames they read (channel.Config.Budget); connections, for what messages decode into.
func (b *Budget) Reserve(n int64) bool {
	for {
		u := b.used.Load()
		if u+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			for {
				p := b.peak.Load()
				if u+n <= p || b.peak.CompareAndSwap(p, u+n) {
					return true
				}
			}
		}
	}
}

// Release gives n bytes back.
func (b *Budget) Release(n int64) { b.used.Add(-n) }

// charge reserves n bytes of the connection's Budget, if it has one; a message that does not fit
// is an ErrLimit error.
func (c *Conn) charge(n int64) error {
	if c.cfg.Budget == nil || n == 0 {
		return nil
	}
	if !c.cfg.Budget.Reserve(n) {
		return fmt.Errorf("%w: a message of %d bytes does not fit the shared memory budget (%d of %d bytes in use)",
			ErrLimit, n, c.cfg.Budget.Used(), c.cfg.Budget.Limit())
	}
	return nil
}

func (c *Conn) uncharge(n int64) {
	if c.cfg.Budget != nil && n != 0 {
		c.cfg.Budget.Release(n)
	}
}
