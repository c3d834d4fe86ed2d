//go:build !unix

package channel

// initRaw does nothing: the raw path is for unix file descriptors.
func (b *reader) initRaw() {}

// rawFill is never called (b.raw stays nil).
func (b *reader) rawFill() error { panic("unreachable") }
