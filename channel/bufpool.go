package channel

import (
	"math/bits"
	"sync"
)

// Buffers shared by all Channels: payload buffers, frames being built, read buffers. They are
// pooled by size class (powers of two from 512 bytes to maxRetained) rather than kept by each
// Channel, so an idle Channel holds none, and a burst's buffers go back to the runtime after two
// garbage collections (sync.Pool's rule). Pooled buffers are not cleared: whoever takes one
// overwrites what it uses.

const (
	minPooledShift = 9 // 512 bytes
	maxPooledShift = 22
)

// maxRetained is the largest buffer that goes back to a pool; larger ones are left to the
// garbage collector, so that one huge message does not pin memory.
const maxRetained = 1 << maxPooledShift

var bufPools [maxPooledShift - minPooledShift + 1]sync.Pool

// getBuf returns an empty slice with capacity at least n: pooled when n is at most maxRetained,
// else newly allocated.
func getBuf(n int) []byte {
	if n > maxRetained {
		return make([]byte, 0, n)
	}
	shift := max(minPooledShift, bits.Len(uint(n-1))) // the class whose size is >= n
	if p, ok := bufPools[shift-minPooledShift].Get().(*[]byte); ok {
		b := *p
		*p = nil
		slotPool.Put(p)
		return b[:0]
	}
	return make([]byte, 0, 1<<shift)
}

// putBuf gives b's storage back to the pool of the largest class it can serve. Storage smaller
// than the smallest class or larger than maxRetained is dropped. b must not be used afterwards.
func putBuf(b []byte) {
	c := cap(b)
	if c < 1<<minPooledShift || c > maxRetained {
		return
	}
	shift := bits.Len(uint(c)) - 1 // the largest class whose size is <= c
	p, _ := slotPool.Get().(*[]byte)
	if p == nil {
		p = new([]byte)
	}
	*p = b[:0]
	bufPools[shift-minPooledShift].Put(p)
}

// slotPool recycles the *[]byte boxes that carry slices through the pools, so that putting a
// buffer back allocates nothing.
var slotPool sync.Pool
