package protocol

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"runtime/debug"
	"strings"

	"github.com/gorpyc/rpyc/brine"
)

// Connection-level errors.
var (
	// ErrClosed is returned by requests on a closed connection and by requests pending when it
	// closed. Test with errors.Is.
	ErrClosed = errors.New("rpyc: connection closed")
	// ErrPeerClosed means the peer sent HANDLE_CLOSE or ended the stream. It wraps ErrClosed.
	ErrPeerClosed = fmt.Errorf("rpyc: peer closed the connection: %w", ErrClosed)
	// ErrProtocol means the peer sent something the protocol does not allow; the connection is
	// closed.
	ErrProtocol = errors.New("rpyc: protocol error")
	// ErrLimit means the peer made the connection exceed one of its limits (Config.MaxQueuedOutput,
	// MaxPendingDels, MaxDecodedSize, a shared Budget, ...); the connection is closed, and the
	// error and the log name the limit.
	ErrLimit = errors.New("rpyc: limit exceeded")
	// ErrStopIteration is what a request returns when the peer raised StopIteration
	// (exception payload 1). errors.Is(err, StopIteration) holds too (and so does
	// errors.Is(err, Exception), StopIteration's base class).
	ErrStopIteration error = stopIteration{}
)

// stopIteration is the type of ErrStopIteration: it matches the StopIteration class and its
// bases with errors.Is, like a *RemoteError of that class would.
type stopIteration struct{}

func (stopIteration) Error() string { return "rpyc: StopIteration" }

func (stopIteration) Is(target error) bool {
	t, ok := target.(*ExceptionType)
	return ok && t.Module == "builtins" && isSubclass("StopIteration", t.Name)
}

// ExceptionType names a Python exception class. The predeclared values (KeyError, ValueError, ...)
// are sentinels: errors.Is(err, protocol.KeyError) holds for a *RemoteError whose class is
// KeyError or a subclass of it among the builtins, and a Go error that wraps one of them (for
// example fmt.Errorf("no %q: %w", k, protocol.KeyError)) reaches a Python peer as that exception.
type ExceptionType struct {
	Module string // "builtins" for the built-in exceptions
	Name   string
}

// Error returns the class name ("KeyError", or "module.Name" outside builtins).
func (e *ExceptionType) Error() string {
	if e.Module == "builtins" {
		return e.Name
	}
	return e.Module + "." + e.Name
}

// Built-in Python exception classes, usable with errors.Is and as wrapped errors.
var (
	BaseException       = builtin("BaseException", "")
	Exception           = builtin("Exception", "BaseException")
	StopIteration       = builtin("StopIteration", "Exception")
	ArithmeticError     = builtin("ArithmeticError", "Exception")
	ZeroDivisionError   = builtin("ZeroDivisionError", "ArithmeticError")
	OverflowError       = builtin("OverflowError", "ArithmeticError")
	AssertionError      = builtin("AssertionError", "Exception")
	AttributeError      = builtin("AttributeError", "Exception")
	BufferError         = builtin("BufferError", "Exception")
	EOFError            = builtin("EOFError", "Exception")
	ImportError         = builtin("ImportError", "Exception")
	ModuleNotFoundError = builtin("ModuleNotFoundError", "ImportError")
	LookupError         = builtin("LookupError", "Exception")
	IndexError          = builtin("IndexError", "LookupError")
	KeyError            = builtin("KeyError", "LookupError")
	MemoryError         = builtin("MemoryError", "Exception")
	NameError           = builtin("NameError", "Exception")
	OSError             = builtin("OSError", "Exception")
	ConnectionError     = builtin("ConnectionError", "OSError")
	FileExistsError     = builtin("FileExistsError", "OSError")
	FileNotFoundError   = builtin("FileNotFoundError", "OSError")
	IsADirectoryError   = builtin("IsADirectoryError", "OSError")
	NotADirectoryError  = builtin("NotADirectoryError", "OSError")
	PermissionError     = builtin("PermissionError", "OSError")
	TimeoutError        = builtin("TimeoutError", "OSError")
	RuntimeError        = builtin("RuntimeError", "Exception")
	NotImplementedError = builtin("NotImplementedError", "RuntimeError")
	RecursionError      = builtin("RecursionError", "RuntimeError")
	SyntaxError         = builtin("SyntaxError", "Exception")
	SystemError         = builtin("SystemError", "Exception")
	TypeError           = builtin("TypeError", "Exception")
	ValueError          = builtin("ValueError", "Exception")
	UnicodeError        = builtin("UnicodeError", "ValueError")
	KeyboardInterrupt   = builtin("KeyboardInterrupt", "BaseException")
	SystemExit          = builtin("SystemExit", "BaseException")
	GeneratorExit       = builtin("GeneratorExit", "BaseException")

	StopAsyncIteration     = builtin("StopAsyncIteration", "Exception")
	FloatingPointError     = builtin("FloatingPointError", "ArithmeticError")
	ReferenceError         = builtin("ReferenceError", "Exception")
	UnboundLocalError      = builtin("UnboundLocalError", "NameError")
	IndentationError       = builtin("IndentationError", "SyntaxError")
	TabError               = builtin("TabError", "IndentationError")
	UnicodeDecodeError     = builtin("UnicodeDecodeError", "UnicodeError")
	UnicodeEncodeError     = builtin("UnicodeEncodeError", "UnicodeError")
	UnicodeTranslateError  = builtin("UnicodeTranslateError", "UnicodeError")
	BlockingIOError        = builtin("BlockingIOError", "OSError")
	ChildProcessError      = builtin("ChildProcessError", "OSError")
	InterruptedError       = builtin("InterruptedError", "OSError")
	ProcessLookupError     = builtin("ProcessLookupError", "OSError")
	BrokenPipeError        = builtin("BrokenPipeError", "ConnectionError")
	ConnectionAbortedError = builtin("ConnectionAbortedError", "ConnectionError")
	ConnectionRefusedError = builtin("ConnectionRefusedError", "ConnectionError")
	ConnectionResetError   = builtin("ConnectionResetError", "ConnectionError")
	Warning                = builtin("Warning", "Exception")
	UserWarning            = builtin("UserWarning", "Warning")
	DeprecationWarning     = builtin("DeprecationWarning", "Warning")
	RuntimeWarning         = builtin("RuntimeWarning", "Warning")

	PendingDeprecationWarning = builtin("PendingDeprecationWarning", "Warning")
	SyntaxWarning             = builtin("SyntaxWarning", "Warning")
	FutureWarning             = builtin("FutureWarning", "Warning")
	ImportWarning             = builtin("ImportWarning", "Warning")
	UnicodeWarning            = builtin("UnicodeWarning", "Warning")
	BytesWarning              = builtin("BytesWarning", "Warning")
	ResourceWarning           = builtin("ResourceWarning", "Warning")
	EncodingWarning           = builtin("EncodingWarning", "Warning")
)

var (
	builtinParent = map[string]string{}
	builtinTypes  = map[string]*ExceptionType{}
)

func builtin(name, parent string) *ExceptionType {
	t := &ExceptionType{Module: "builtins", Name: name}
	builtinParent[name] = parent
	builtinTypes[name] = t
	return t
}

// isSubclass reports whether builtin exception class name is cls or derives from it.
func isSubclass(name, cls string) bool {
	for n := name; n != ""; n = builtinParent[n] {
		if n == cls {
			return true
		}
	}
	return false
}

// RemoteError is an exception raised by the peer, as a Go error. Match it with errors.As, or its
// class with errors.Is(err, protocol.KeyError): subclasses among the builtins match their bases,
// and a class outside builtins (a service's own exception) matches Exception and BaseException,
// which is what a Python client can tell of it too (see [RemoteError.Is]). FileNotFoundError,
// PermissionError and FileExistsError also match fs.ErrNotExist, fs.ErrPermission and
// fs.ErrExist, and NotImplementedError errors.ErrUnsupported: the reverse of [ErrorClass].
type RemoteError struct {
	Module    string      // exception class module, e.g. "builtins" or "myservice"
	Name      string      // exception class name, e.g. "KeyError"
	Args      brine.Tuple // the exception's args (non-dumpable ones arrive as repr strings)
	Attrs     []Attr      // public attributes, in the order sent ("_remote_version" included)
	Traceback string      // the remote traceback text ("<traceback denied>" if withheld)
}

// Attr is a (name, value) pair of an exception's attributes or of keyword arguments.
type Attr struct {
	Name  string
	Value any
}

// Error returns "rpyc: remote module.Name: message", the class without its module for builtins
// ("rpyc: remote KeyError: 'k'") and without ": message" when the exception has no args: the
// text of Python's last traceback line, prefixed.
func (e *RemoteError) Error() string {
	cls := e.Name
	if e.Module != "builtins" && e.Module != "" {
		cls = e.Module + "." + e.Name
	}
	msg := e.Message()
	if msg == "" {
		return "rpyc: remote " + cls
	}
	return "rpyc: remote " + cls + ": " + msg
}

// Message renders the exception's args like Python's str(exc).
func (e *RemoteError) Message() string {
	switch len(e.Args) {
	case 0:
		return ""
	case 1:
		if e.Name == "KeyError" {
			return pyRepr(e.Args[0])
		}
		return pyStr(e.Args[0])
	}
	return pyRepr(e.Args)
}

// ExceptionName returns the exception's class name ("KeyError").
func (e *RemoteError) ExceptionName() string { return e.Name }

// Attr returns the value of the attribute name and whether it was sent.
func (e *RemoteError) Attr(name string) (any, bool) {
	for _, a := range e.Attrs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return nil, false
}

// Is reports whether target is the exception's class or one of its base classes, as far as they
// can be known. The payload names the class only (module and name), not its bases:
//
//   - a builtin class matches itself and its builtin bases (KeyError is a LookupError, an
//     Exception and a BaseException); a builtin this package does not list (a newer Python's)
//     matches Exception and BaseException;
//   - any other class (class MyError(ValueError) in the service) matches its own
//     ExceptionType{Module, Name}, Exception and BaseException, but not the builtin it derives
//     from: Python's client cannot tell either, since it rebuilds such an exception as a
//     subclass of Exception (vinegar's GenericException) unless it may import the module;
//   - FileNotFoundError, PermissionError and FileExistsError (and their subclasses) match
//     fs.ErrNotExist, fs.ErrPermission and fs.ErrExist, NotImplementedError
//     errors.ErrUnsupported, so that code written for local errors works with remote ones.
func (e *RemoteError) Is(target error) bool {
	switch target {
	case fs.ErrNotExist:
		return e.isBuiltin("FileNotFoundError")
	case fs.ErrPermission:
		return e.isBuiltin("PermissionError")
	case fs.ErrExist:
		return e.isBuiltin("FileExistsError")
	case errors.ErrUnsupported:
		return e.isBuiltin("NotImplementedError")
	}
	t, ok := target.(*ExceptionType)
	if !ok {
		return false
	}
	if e.Module == t.Module && e.Name == t.Name {
		return true
	}
	if t.Module != "builtins" {
		return false
	}
	if _, known := builtinParent[e.Name]; known && e.Module == "builtins" {
		return isSubclass(e.Name, t.Name)
	}
	if e.Module == "builtins" && e.Name == "BaseExceptionGroup" {
		return t.Name == "BaseException"
	}
	return t.Name == "Exception" || t.Name == "BaseException"
}

// isBuiltin reports whether the exception is the builtin class cls or a builtin subclass of it.
func (e *RemoteError) isBuiltin(cls string) bool {
	return e.Module == "builtins" && isSubclass(e.Name, cls)
}

var (
	_ error = (*RemoteError)(nil)
	_ error = (*ExceptionType)(nil)
)

// versionDenied is the _remote_version gorpyc sends: a Python peer adds a version-mismatch
// warning for any other value whose major number differs from its own.
const versionDenied = "<version denied>"

// loadException decodes a MSG_EXCEPTION body (vinegar).
func loadException(body any) error {
	if i, ok := body.(int64); ok && i == 1 {
		return ErrStopIteration
	}
	if b, ok := body.(bool); ok && b {
		return ErrStopIteration // Python compares the payload with 1, and True == 1
	}
	t, ok := body.(brine.Tuple)
	if !ok || len(t) != 4 {
		if s, ok := body.(string); ok { // ancient string exceptions
			return &RemoteError{Module: "builtins", Name: "Exception", Args: brine.Tuple{s}}
		}
		return fmt.Errorf("%w: malformed exception payload %v", ErrProtocol, body)
	}
	cls, _ := t[0].(brine.Tuple)
	e := &RemoteError{}
	if len(cls) == 2 {
		e.Module, _ = cls[0].(string)
		e.Name, _ = cls[1].(string)
	}
	e.Args, _ = t[1].(brine.Tuple)
	if attrs, ok := t[2].(brine.Tuple); ok {
		for _, a := range attrs {
			if kv, ok := a.(brine.Tuple); ok && len(kv) == 2 {
				if name, ok := kv[0].(string); ok {
					e.Attrs = append(e.Attrs, Attr{Name: name, Value: kv[1]})
				}
			}
		}
	}
	e.Traceback, _ = t[3].(string)
	if e.Module == "builtins" && e.Name == "StopIteration" {
		return errors.Join(ErrStopIteration, e)
	}
	return e
}

// ErrorClass maps a Go error to the Python exception class a peer should see:
//   - a *RemoteError keeps its class (errors relayed from another peer);
//   - an error wrapping an *ExceptionType (protocol.KeyError, ...) takes that class;
//   - an errno (a syscall.Errno, as *fs.PathError and *os.SyscallError wrap) takes the OSError
//     subclass Python gives it (ENOENT FileNotFoundError, EISDIR IsADirectoryError,
//     ECONNREFUSED ConnectionRefusedError...; OSError for others), and the exception is
//     OSError(errno, strerror) with errno, strerror, filename and filename2 set, as Python's;
//   - fs.ErrNotExist, fs.ErrPermission, fs.ErrExist, context.DeadlineExceeded and
//     errors.ErrUnsupported become FileNotFoundError, PermissionError, FileExistsError,
//     TimeoutError and NotImplementedError;
//   - ErrStopIteration is StopIteration;
//   - anything else is Exception.
func ErrorClass(err error) *ExceptionType {
	var re *RemoteError
	if errors.As(err, &re) {
		return &ExceptionType{Module: re.Module, Name: re.Name}
	}
	var et *ExceptionType
	if errors.As(err, &et) {
		return et
	}
	if cls := osErrorClass(err); cls != nil {
		return cls // an errno: the OSError subclass Python picks for it (oserror.go)
	}
	switch {
	case errors.Is(err, ErrStopIteration):
		return StopIteration
	case errors.Is(err, fs.ErrNotExist):
		return FileNotFoundError
	case errors.Is(err, fs.ErrPermission):
		return PermissionError
	case errors.Is(err, fs.ErrExist):
		return FileExistsError
	case errors.Is(err, context.DeadlineExceeded):
		return TimeoutError
	case errors.Is(err, errors.ErrUnsupported):
		return NotImplementedError
	}
	return Exception
}

// dumpException encodes a Go error as a vinegar payload. stack is the Go stack text to include
// when the config allows tracebacks ("" to omit).
func dumpException(err error, includeTraceback bool, stack string) any {
	cls := ErrorClass(err)
	if cls == StopIteration {
		return int64(1)
	}
	var args brine.Tuple
	var re *RemoteError
	if errors.As(err, &re) && brine.Dumpable(re.Args) {
		args = re.Args
	} else {
		msg := trimClass(err.Error(), cls.Name)
		if et, ok := err.(*ExceptionType); ok && et == cls {
			msg = "" // a bare sentinel: no message, like `raise KeyError`
		}
		if msg == "" {
			args = brine.Tuple{}
		} else {
			args = brine.Tuple{msg}
		}
	}
	tb := "<traceback denied>"
	if includeTraceback {
		var sb strings.Builder
		sb.WriteString("Traceback (most recent call last, Go):\n")
		fmt.Fprintf(&sb, "  Go error of type %T\n", err)
		if stack != "" {
			for _, line := range strings.Split(strings.TrimRight(stack, "\n"), "\n") {
				sb.WriteString("  " + line + "\n")
			}
		}
		fmt.Fprintf(&sb, "%s: %s\n", cls.Name, trimClass(err.Error(), cls.Name))
		tb = sb.String()
	}
	args, attrs := exceptionDetails(err, cls, args) // OSError fields, carried attributes (oserror.go)
	attrs = append(attrs, brine.Tuple{"_remote_version", versionDenied})
	return brine.Tuple{brine.Tuple{cls.Module, cls.Name}, args, attrs, tb}
}

// panicError turns a recovered panic into an error that carries the Go stack.
type panicError struct {
	value any
	stack string
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

func newPanicError(v any) *panicError {
	return &panicError{value: v, stack: string(debug.Stack())}
}

// pyStr and pyRepr render brine values roughly as Python would, for messages.
func pyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return pyRepr(v)
}

func pyRepr(v any) string { return brine.Repr(v) }

// trimClass drops the class name that wrapping a sentinel adds to a message: "ValueError: bad"
// and "bad: ValueError" both become "bad", since Python prints the class itself.
func trimClass(msg, cls string) string {
	msg = strings.TrimPrefix(msg, cls+": ")
	return strings.TrimSuffix(msg, ": "+cls)
}
