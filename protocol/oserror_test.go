//go:build linux

package protocol

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"testing"

	"github.com/gorpyc/rpyc/brine"
)

type coded struct{ code any }

func (c *coded) Error() string     { return "coded failure" }
func (c *coded) Unwrap() error     { return ValueError }
func (c *coded) RPyCAttrs() []Attr { return []Attr{{Name: "code", Value: c.code}} }

// TestDumpOSError (errno values of Linux) checks that Go errors with an errno reach Python as its OSError does:
// the subclass Python picks for the errno, args (errno, strerror), and the errno, strerror,
// filename and filename2 attributes; and that attributes Go errors carry travel with them.
func TestDumpOSError(t *testing.T) {
	_, openErr := os.Open("/nonexistent/gorpyc-oserror-test")
	linkErr := os.Link("/nonexistent/a", "/nonexistent/b")
	for _, tc := range []struct {
		err   error
		cls   string
		args  brine.Tuple
		attrs brine.Tuple
	}{
		{openErr, "FileNotFoundError", brine.Tuple{int64(2), "No such file or directory"}, brine.Tuple{
			brine.Tuple{"errno", int64(2)}, brine.Tuple{"filename", "/nonexistent/gorpyc-oserror-test"},
			brine.Tuple{"filename2", nil}, brine.Tuple{"strerror", "No such file or directory"}}},
		{fmt.Errorf("loading config: %w", openErr), "FileNotFoundError", brine.Tuple{int64(2), "No such file or directory"}, nil},
		{linkErr, "FileNotFoundError", brine.Tuple{int64(2), "No such file or directory"}, brine.Tuple{
			brine.Tuple{"errno", int64(2)}, brine.Tuple{"filename", "/nonexistent/a"},
			brine.Tuple{"filename2", "/nonexistent/b"}, brine.Tuple{"strerror", "No such file or directory"}}},
		{&fs.PathError{Op: "read", Path: "/tmp", Err: syscall.EISDIR}, "IsADirectoryError", brine.Tuple{int64(21), "Is a directory"}, nil},
		{os.NewSyscallError("connect", syscall.ECONNREFUSED), "ConnectionRefusedError", brine.Tuple{int64(111), "Connection refused"}, brine.Tuple{
			brine.Tuple{"errno", int64(111)}, brine.Tuple{"filename", nil},
			brine.Tuple{"filename2", nil}, brine.Tuple{"strerror", "Connection refused"}}},
		{syscall.EPERM, "PermissionError", brine.Tuple{int64(1), "Operation not permitted"}, nil},
		{syscall.ENOSPC, "OSError", brine.Tuple{int64(28), "No space left on device"}, nil},
		// An fs.FS's own error, without an errno: Python's errno for it.
		{&fs.PathError{Op: "open", Path: "x.txt", Err: fs.ErrNotExist}, "FileNotFoundError", brine.Tuple{int64(2), "No such file or directory"}, nil},
		// Without a path error around it, a bare sentinel keeps its message.
		{fmt.Errorf("no such thing: %w", fs.ErrNotExist), "FileNotFoundError", brine.Tuple{"no such thing: file does not exist"}, brine.Tuple{}},
		// An explicit class wins over the errno.
		{fmt.Errorf("%w: %w", ValueError, openErr), "ValueError", nil, brine.Tuple{}},
		// Attributes of a relayed exception (its _remote_version left out) and of ExceptionAttrs.
		{&RemoteError{Module: "builtins", Name: "ValueError", Args: brine.Tuple{"bad", int64(7)},
			Attrs: []Attr{{"code", int64(7)}, {"_remote_version", "5.3.0"}}}, "ValueError", brine.Tuple{"bad", int64(7)},
			brine.Tuple{brine.Tuple{"code", int64(7)}}},
		{&coded{code: 7}, "ValueError", brine.Tuple{"coded failure"}, brine.Tuple{brine.Tuple{"code", int64(7)}}},
		{&coded{code: []int{1}}, "ValueError", brine.Tuple{"coded failure"}, brine.Tuple{brine.Tuple{"code", "[1]"}}},
	} {
		p, ok := dumpException(tc.err, false, "").(brine.Tuple)
		if !ok || len(p) != 4 {
			t.Fatalf("%v: payload %v", tc.err, p)
		}
		if cls := p[0].(brine.Tuple)[1]; cls != tc.cls {
			t.Errorf("%v: class %v, want %s", tc.err, cls, tc.cls)
		}
		if tc.args != nil && !brine.Equal(p[1], tc.args) {
			t.Errorf("%v: args %v, want %v", tc.err, p[1], tc.args)
		}
		attrs := p[2].(brine.Tuple)
		last := attrs[len(attrs)-1].(brine.Tuple)
		if last[0] != "_remote_version" {
			t.Errorf("%v: last attribute %v, want _remote_version", tc.err, last)
		}
		if tc.attrs != nil && !brine.Equal(attrs[:len(attrs)-1], tc.attrs) {
			t.Errorf("%v: attrs %v, want %v", tc.err, attrs[:len(attrs)-1], tc.attrs)
		}
		if got := ErrorClass(tc.err).Name; got != tc.cls {
			t.Errorf("ErrorClass(%v) = %s, want %s", tc.err, got, tc.cls)
		}
	}
	// The class of a plain error without errno is unchanged.
	if cls := ErrorClass(errors.New("x")); cls != Exception {
		t.Errorf("ErrorClass(plain) = %v", cls)
	}
}
