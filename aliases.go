package rpyc

import (
	"context"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/netref"
	"github.com/gorpyc/rpyc/protocol"
)

// What a client program needs from the lower packages, re-exported so that everyday code
// imports this package alone: values (Tuple, Slice, FrozenSet, Ellipsis, NotImplemented),
// errors (ErrClosed, ErrStopIteration, the Python exception classes, ConvertError), the
// configuration and the comparison operators. Each is the same type or value as in its own
// package (an alias, not a copy), so errors.Is and type switches work with either name.

// Values of brine's model (see package brine).
type (
	// Tuple is a Python tuple; see [brine.Tuple].
	Tuple = brine.Tuple
	// Slice is a Python slice, for GetItem(ctx, rpyc.Slice{Start: 1, Stop: 3}); see [brine.Slice].
	Slice = brine.Slice
	// FrozenSet is a Python frozenset; see [brine.FrozenSet].
	FrozenSet = brine.FrozenSet
	// Singleton is the type of Ellipsis and NotImplemented.
	Singleton = brine.Singleton
)

// Copied containers (see [Copy]): the value model shared with classic.Obtain.
type (
	// Dict is a copied Python dict: its items in order; see [netref.Dict].
	Dict = netref.Dict
	// Item is one key/value pair of a [Dict].
	Item = netref.Item
	// Set is a copied Python set.
	Set = netref.Set
	// ByteArray is a copied Python bytearray.
	ByteArray = netref.ByteArray
)

// Copy copies the proxied containers in v (lists, dicts, sets...) into Go by value; see
// [netref.Copy].
func Copy(ctx context.Context, v any) (any, error) { return netref.Copy(ctx, v) }

// AsContext is [As] with the context under which a proxied container is copied; see
// [netref.AsContext].
func AsContext[T any](ctx context.Context, v any, err error) (T, error) {
	return netref.AsContext[T](ctx, v, err)
}

// Python's Ellipsis and NotImplemented.
var (
	Ellipsis       = brine.Ellipsis
	NotImplemented = brine.NotImplemented
)

type (
	// Dialect is a wire dialect (DialectV5, DialectV6, or DialectAuto to probe); see
	// [compat.Dialect].
	Dialect = compat.Dialect
	// Config is the protocol configuration for [WithConfig] (Python's DEFAULT_CONFIG); start
	// from [DefaultConfig].
	Config = protocol.Config
	// AsyncResult is the pending result of CallAsync/CallMethodAsync; see [netref.AsyncResult].
	AsyncResult = netref.AsyncResult
	// CmpOp is a rich comparison operator for [netref.Ref.Compare].
	CmpOp = netref.CmpOp
	// ExceptionType names a Python exception class (KeyError, ...); see [protocol.ExceptionType].
	ExceptionType = protocol.ExceptionType
	// ConvertError is the error of [As] for a value that does not convert; see
	// [netref.ConvertError].
	ConvertError = netref.ConvertError
	// ByRef sends a value by reference where it would go by value; see [protocol.ByRef].
	ByRef = protocol.ByRef
)

// DefaultConfig returns Python's DEFAULT_CONFIG in Go names; see [protocol.DefaultConfig].
func DefaultConfig() Config { return protocol.DefaultConfig() }

// Comparison operators for [netref.Ref.Compare].
const (
	OpEq = netref.OpEq
	OpNe = netref.OpNe
	OpLt = netref.OpLt
	OpLe = netref.OpLe
	OpGt = netref.OpGt
	OpGe = netref.OpGe
)

// Errors, to test with errors.Is.
var (
	// ErrClosed: the connection is closed (requests pending when it closed fail with it too).
	ErrClosed = protocol.ErrClosed
	// ErrPeerClosed: the peer closed the connection; it wraps ErrClosed.
	ErrPeerClosed = protocol.ErrPeerClosed
	// ErrProtocol: the peer broke the protocol; the connection is closed.
	ErrProtocol = protocol.ErrProtocol
	// ErrLimit: the peer made the connection exceed a limit; the connection is closed.
	ErrLimit = protocol.ErrLimit
	// ErrStopIteration: the end of a remote iterator (Next).
	ErrStopIteration = protocol.ErrStopIteration
	// ErrReleased: an operation on a released Ref.
	ErrReleased = netref.ErrReleased
	// ErrConvert is matched by every conversion error of [As].
	ErrConvert = netref.ErrConvert
	// ErrKwargs: a Kwargs that is not the last argument of a call.
	ErrKwargs = netref.ErrKwargs
	// ErrRecursive: Copy of a container that contains itself.
	ErrRecursive = netref.ErrRecursive
)

// Python's builtin exception classes: errors.Is(err, rpyc.KeyError) holds for a remote KeyError
// (and its subclasses), and a Go error wrapping one reaches Python as that class. See
// [protocol.ExceptionType] and [protocol.RemoteError.Is].
var (
	BaseException             = protocol.BaseException
	Exception                 = protocol.Exception
	StopIteration             = protocol.StopIteration
	ArithmeticError           = protocol.ArithmeticError
	ZeroDivisionError         = protocol.ZeroDivisionError
	OverflowError             = protocol.OverflowError
	AssertionError            = protocol.AssertionError
	AttributeError            = protocol.AttributeError
	BufferError               = protocol.BufferError
	EOFError                  = protocol.EOFError
	ImportError               = protocol.ImportError
	ModuleNotFoundError       = protocol.ModuleNotFoundError
	LookupError               = protocol.LookupError
	IndexError                = protocol.IndexError
	KeyError                  = protocol.KeyError
	MemoryError               = protocol.MemoryError
	NameError                 = protocol.NameError
	OSError                   = protocol.OSError
	ConnectionError           = protocol.ConnectionError
	FileExistsError           = protocol.FileExistsError
	FileNotFoundError         = protocol.FileNotFoundError
	IsADirectoryError         = protocol.IsADirectoryError
	NotADirectoryError        = protocol.NotADirectoryError
	PermissionError           = protocol.PermissionError
	TimeoutError              = protocol.TimeoutError
	RuntimeError              = protocol.RuntimeError
	NotImplementedError       = protocol.NotImplementedError
	RecursionError            = protocol.RecursionError
	SyntaxError               = protocol.SyntaxError
	SystemError               = protocol.SystemError
	TypeError                 = protocol.TypeError
	ValueError                = protocol.ValueError
	UnicodeError              = protocol.UnicodeError
	KeyboardInterrupt         = protocol.KeyboardInterrupt
	SystemExit                = protocol.SystemExit
	GeneratorExit             = protocol.GeneratorExit
	StopAsyncIteration        = protocol.StopAsyncIteration
	FloatingPointError        = protocol.FloatingPointError
	ReferenceError            = protocol.ReferenceError
	UnboundLocalError         = protocol.UnboundLocalError
	IndentationError          = protocol.IndentationError
	TabError                  = protocol.TabError
	UnicodeDecodeError        = protocol.UnicodeDecodeError
	UnicodeEncodeError        = protocol.UnicodeEncodeError
	UnicodeTranslateError     = protocol.UnicodeTranslateError
	BlockingIOError           = protocol.BlockingIOError
	ChildProcessError         = protocol.ChildProcessError
	InterruptedError          = protocol.InterruptedError
	ProcessLookupError        = protocol.ProcessLookupError
	BrokenPipeError           = protocol.BrokenPipeError
	ConnectionAbortedError    = protocol.ConnectionAbortedError
	ConnectionRefusedError    = protocol.ConnectionRefusedError
	ConnectionResetError      = protocol.ConnectionResetError
	Warning                   = protocol.Warning
	UserWarning               = protocol.UserWarning
	DeprecationWarning        = protocol.DeprecationWarning
	RuntimeWarning            = protocol.RuntimeWarning
	PendingDeprecationWarning = protocol.PendingDeprecationWarning
	SyntaxWarning             = protocol.SyntaxWarning
	FutureWarning             = protocol.FutureWarning
	ImportWarning             = protocol.ImportWarning
	UnicodeWarning            = protocol.UnicodeWarning
	BytesWarning              = protocol.BytesWarning
	ResourceWarning           = protocol.ResourceWarning
	EncodingWarning           = protocol.EncodingWarning
)
