package protocol

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/gorpyc/rpyc/brine"
)

// ExceptionAttrs is implemented by Go errors that carry attributes of the Python exception they
// become (Python's e.code = 7 before raise e): the peer's exception has them, after its class
// and args. A *RemoteError carries its Attrs the same way. Values that cannot travel by value
// are sent as text, as Python sends their repr().
type ExceptionAttrs interface {
	RPyCAttrs() []Attr
}

// errnoClasses are the OSError subclasses Python's OSError picks by errno (PEP 3151).
var errnoClasses = map[syscall.Errno]*ExceptionType{
	syscall.EAGAIN:       BlockingIOError,
	syscall.EALREADY:     BlockingIOError,
	syscall.EINPROGRESS:  BlockingIOError,
	syscall.ECHILD:       ChildProcessError,
	syscall.EPIPE:        BrokenPipeError,
	syscall.ESHUTDOWN:    BrokenPipeError,
	syscall.ECONNABORTED: ConnectionAbortedError,
	syscall.ECONNREFUSED: ConnectionRefusedError,
	syscall.ECONNRESET:   ConnectionResetError,
	syscall.EEXIST:       FileExistsError,
	syscall.ENOENT:       FileNotFoundError,
	syscall.EISDIR:       IsADirectoryError,
	syscall.ENOTDIR:      NotADirectoryError,
	syscall.EINTR:        InterruptedError,
	syscall.EACCES:       PermissionError,
	syscall.EPERM:        PermissionError,
	syscall.ESRCH:        ProcessLookupError,
	syscall.ETIMEDOUT:    TimeoutError,
}

// osErrno returns the errno a Go error stands for: a syscall.Errno it wraps, or, for a
// *fs.PathError or *os.LinkError wrapping fs.ErrNotExist, fs.ErrPermission or fs.ErrExist
// without an errno (an fs.FS of its own), ENOENT, EACCES or EEXIST.
func osErrno(err error) (syscall.Errno, bool) {
	var errno syscall.Errno
	if errors.As(err, &errno) && errno != 0 {
		return errno, true
	}
	var pe *fs.PathError
	var le *os.LinkError
	if !errors.As(err, &pe) && !errors.As(err, &le) {
		return 0, false
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return syscall.ENOENT, true
	case errors.Is(err, fs.ErrPermission):
		return syscall.EACCES, true
	case errors.Is(err, fs.ErrExist):
		return syscall.EEXIST, true
	}
	return 0, false
}

// osErrorClass returns the OSError class of an error with an errno (see osErrno), or nil.
func osErrorClass(err error) *ExceptionType {
	errno, ok := osErrno(err)
	if !ok {
		return nil
	}
	if cls, ok := errnoClasses[errno]; ok {
		return cls
	}
	return OSError
}

// strerror is the C library's text for errno, as Python's os.strerror gives it: Go's text with
// a capital letter ("No such file or directory").
func strerror(errno syscall.Errno) string {
	s := errno.Error()
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// exceptionDetails completes a Go error's exception payload: args (already made from the
// message) and the attributes to send before _remote_version. An error with an errno of the
// OSError class cls becomes Python's OSError(errno, strerror) with the errno, strerror,
// filename and filename2 attributes (the path of an *fs.PathError, the two of an *os.LinkError);
// a *RemoteError's Attrs and an [ExceptionAttrs]'s attributes are added.
func exceptionDetails(err error, cls *ExceptionType, args brine.Tuple) (brine.Tuple, brine.Tuple) {
	attrs := brine.Tuple{}
	if isOSErrorClass(cls) {
		if errno, ok := osErrno(err); ok {
			text := strerror(errno)
			args = brine.Tuple{int64(errno), text}
			var filename, filename2 any
			var pe *fs.PathError
			var le *os.LinkError
			if errors.As(err, &pe) {
				filename = pe.Path
			} else if errors.As(err, &le) {
				filename, filename2 = le.Old, le.New
			}
			attrs = append(attrs,
				brine.Tuple{"errno", int64(errno)},
				brine.Tuple{"filename", filename},
				brine.Tuple{"filename2", filename2},
				brine.Tuple{"strerror", text})
		}
	}
	var re *RemoteError
	if errors.As(err, &re) {
		attrs = appendAttrs(attrs, re.Attrs)
	}
	var ea ExceptionAttrs
	if errors.As(err, &ea) {
		attrs = appendAttrs(attrs, ea.RPyCAttrs())
	}
	return args, attrs
}

func isOSErrorClass(cls *ExceptionType) bool {
	return cls != nil && cls.Module == "builtins" && isSubclass(cls.Name, "OSError")
}

// appendAttrs appends (name, value) pairs, values that cannot travel by value as text; the
// _remote_version of a relayed exception is left out (the sender adds its own).
func appendAttrs(dst brine.Tuple, attrs []Attr) brine.Tuple {
	for _, a := range attrs {
		if a.Name == "_remote_version" || a.Name == "" {
			continue
		}
		v := a.Value
		if !brine.Dumpable(v) {
			v = fmt.Sprint(v)
		}
		dst = append(dst, brine.Tuple{a.Name, v})
	}
	return dst
}
