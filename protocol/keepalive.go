package protocol

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorpyc/rpyc/compat"
)

// ErrPeerUnresponsive means the peer stopped answering: nothing was received from it for
// Config.PingInterval, and it did not answer the keepalive PING sent then within
// Config.PingTimeout. The connection is closed; its Err and every request that was pending
// return an error matching both ErrPeerUnresponsive and ErrClosed.
var ErrPeerUnresponsive = errors.New("rpyc: peer unresponsive")

// unresponsive is the cause of a connection closed by the keepalive.
type unresponsive struct {
	timeout, silent time.Duration
}

func (e *unresponsive) Error() string {
	return fmt.Sprintf("rpyc: connection gone: the peer did not answer a keepalive ping within %v (nothing received for %v)",
		e.timeout, e.silent.Round(time.Millisecond))
}

func (e *unresponsive) Is(target error) bool {
	return target == ErrPeerUnresponsive || target == ErrClosed
}

// keepaliveToken is the data of keepalive PINGs.
const keepaliveToken = "gorpyc keepalive"

// keepalive pings a quiet peer (Config.PingInterval). It costs no goroutine: one timer, whose
// function runs only when it fires. The reader tells it of every message that arrives (heard),
// and the connection's end stops it.
type keepalive struct {
	c                 *Conn
	interval, timeout time.Duration
	base              time.Time
	last              atomic.Int64 // when the last message arrived, in nanoseconds since base

	mu      sync.Mutex // guards t and stopped; a leaf
	t       *time.Timer
	stopped bool
	running sync.WaitGroup // the timer's function, while it runs

	pingAt int64 // when the unanswered ping was sent (since base); -1 if none. Only tick uses it.
}

// startKeepAlive starts the keepalive if Config.PingInterval asks for it. It runs in newConn
// before the reader starts.
func (c *Conn) startKeepAlive() {
	if c.cfg.PingInterval <= 0 {
		return
	}
	k := &keepalive{c: c, interval: c.cfg.PingInterval, timeout: c.cfg.PingTimeout,
		base: time.Now(), pingAt: -1}
	if k.timeout <= 0 {
		k.timeout = k.interval
	}
	c.ka = k
	k.mu.Lock()
	k.t = time.AfterFunc(k.interval, k.tick)
	k.mu.Unlock()
}

func (k *keepalive) now() int64 { return int64(time.Since(k.base)) }

// tick runs when the timer fires: it pings a peer that was quiet for the interval, closes the
// connection if the ping went unanswered for the timeout, and sets the timer for the next check.
func (k *keepalive) tick() {
	k.mu.Lock()
	if k.stopped {
		k.mu.Unlock()
		return
	}
	k.running.Add(1)
	k.mu.Unlock()
	defer k.running.Done()

	now, last := k.now(), k.last.Load()
	if k.pingAt >= 0 && last >= k.pingAt {
		k.pingAt = -1 // answered, or something else arrived since
	}
	var next time.Duration
	switch {
	case k.pingAt >= 0:
		if waited := time.Duration(now - k.pingAt); waited < k.timeout {
			next = k.timeout - waited
			break
		}
		err := &unresponsive{timeout: k.timeout, silent: time.Duration(now - last)}
		k.c.log.Warn("rpyc: closing connection: the peer does not answer", "err", err)
		k.c.shutdown(err)
		return
	case time.Duration(now-last) < k.interval:
		next = k.interval - time.Duration(now-last)
	case k.c.Dialect() == compat.Auto:
		next = k.interval // a serving side cannot send before the peer's first message
	default:
		k.pingAt = now
		next = min(k.interval, k.timeout) // an early answer lets the next check come on time
		// The reply is not waited for: its arrival is what counts (heard). A ping that could
		// not be sent is not answered either.
		k.c.RequestAsync(compat.HandlePing, keepaliveToken)
	}
	k.mu.Lock()
	if !k.stopped {
		k.t.Reset(next)
	}
	k.mu.Unlock()
}

// stop stops the timer and waits for its function if it runs.
func (k *keepalive) stop() {
	k.mu.Lock()
	k.stopped = true
	k.t.Stop()
	k.mu.Unlock()
	k.running.Wait()
}

// heard notes that a message arrived; the reader calls it for each one.
func (k *keepalive) heard() { k.last.Store(k.now()) }
