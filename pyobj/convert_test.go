package pyobj

import (
	"context"
	"errors"
	"math/big"
	"reflect"
	"testing"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/internal/convert"
	"github.com/gorpyc/rpyc/netref"
	"github.com/gorpyc/rpyc/protocol"
)

type convPoint struct{ X, Y int }

type convOpts struct {
	Flag  bool
	Limit *big.Int
}

// TestBuildArgsConversions checks that call arguments go through the shared converter: the
// same acceptances as netref.As, and TypeErrors that wrap its *convert.Error.
func TestBuildArgsConversions(t *testing.T) {
	fn := func(n int, b bool, big *big.Int, names []string, p *convPoint, opts convOpts) {}
	ft := reflect.TypeOf(fn)
	args := brine.Tuple{true, int64(1), int64(5), brine.FrozenSet{"a"}, brine.Tuple{int64(1), int64(2)}}
	in, err := bindArgs(context.Background(), ft, "fn", 0, args, []protocol.Attr{{Name: "flag", Value: int64(0)}, {Name: "limit", Value: false}})
	if err != nil {
		t.Fatal(err)
	}
	got := []any{in[0].Interface(), in[1].Interface(), in[2].Interface().(*big.Int).Int64(), in[3].Interface(),
		*in[4].Interface().(*convPoint), in[5].Interface().(convOpts).Flag, in[5].Interface().(convOpts).Limit.Int64()}
	want := []any{1, true, int64(5), []string{"a"}, convPoint{1, 2}, false, int64(0)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("converted %v, want %v", got, want)
	}

	for _, tc := range []struct {
		args   brine.Tuple
		kwargs []protocol.Attr
		reason error
		msg    string
	}{
		{brine.Tuple{int64(1) << 40, true, int64(1), nil, nil}, nil, nil, ""}, // fits int on 64-bit
		{brine.Tuple{new(big.Int).Lsh(big.NewInt(1), 70), true, int64(1), nil, nil}, nil, convert.ErrOverflow,
			"OverflowError: argument 1: cannot convert Python int 1180591620717411303424 to int: overflow"},
		{brine.Tuple{int64(1), int64(2), int64(1), nil, nil}, nil, nil,
			"TypeError: argument 2: cannot convert Python int 2 to bool: only 0 and 1 convert to bool"},
		{brine.Tuple{int64(1), true, 1.5, nil, nil}, nil, nil,
			"TypeError: argument 3: cannot convert Python float 1.5 to *big.Int"},
		{brine.Tuple{int64(1), true, int64(1), brine.Tuple{"a", int64(2)}, nil}, nil, nil,
			"TypeError: argument 4: cannot convert Python int 2 to string at [1]"},
		{brine.Tuple{int64(1), true, int64(1), nil, brine.Tuple{int64(1)}}, nil, convert.ErrLength, ""},
		{brine.Tuple{int64(1), true, int64(1), nil, nil}, []protocol.Attr{{Name: "flag", Value: "yes"}}, nil,
			`TypeError: argument 'flag': cannot convert Python str 'yes' to bool`},
	} {
		_, err := bindArgs(context.Background(), ft, "fn", 0, tc.args, tc.kwargs)
		if tc.msg == "" && tc.reason == nil {
			if err != nil {
				t.Errorf("bindArgs(%v): %v", tc.args, err)
			}
			continue
		}
		wantClass := protocol.TypeError
		if errors.Is(tc.reason, convert.ErrOverflow) {
			wantClass = protocol.OverflowError // as CPython's int conversions raise
		}
		if !errors.Is(err, wantClass) || !errors.Is(err, netref.ErrConvert) {
			t.Errorf("bindArgs(%v) = %v, want a protocol.%v wrapping ErrConvert", tc.args, err, wantClass)
			continue
		}
		if tc.reason != nil && !errors.Is(err, tc.reason) {
			t.Errorf("bindArgs(%v) = %v, want it to wrap %v", tc.args, err, tc.reason)
		}
		if tc.msg != "" && err.Error() != tc.msg {
			t.Errorf("bindArgs(%v):\n got %q\nwant %q", tc.args, err.Error(), tc.msg)
		}
		if protocol.ErrorClass(err) != wantClass {
			t.Errorf("bindArgs(%v) reaches Python as %v, want %v", tc.args, protocol.ErrorClass(err), wantClass)
		}
	}
}

// TestLooseEqual checks membership tests use Python's equality through the converter:
// True == 1 and 1 == True, but 1 != "1".
func TestLooseEqual(t *testing.T) {
	for _, tc := range []struct {
		goVal, pyVal any
		want         bool
	}{
		{1, true, true},
		{true, int64(1), true},
		{2, true, false},
		{1, "1", false},
		{"a", "a", true},
	} {
		if got := looseEqual(tc.goVal, tc.pyVal); got != tc.want {
			t.Errorf("looseEqual(%#v, %#v) = %v, want %v", tc.goVal, tc.pyVal, got, tc.want)
		}
	}
}

// TestFieldNamesShared checks that attribute access and keyword arguments name struct fields
// like the converter fills them from dicts (convert.FieldNameRenamed): the tag's name, an empty
// tag name keeping the default, "-" hiding, RPyCNames renaming untagged fields.
func TestFieldNamesShared(t *testing.T) {
	type s struct {
		UserID int
		Tagged int `rpyc:"t"`
		Opt    int `rpyc:",opt"`
		Hidden int `rpyc:"-"`
	}
	ti := infoFor(reflect.TypeFor[s]())
	if got, want := ti.names, []string{"opt", "t", "user_id"}; !reflect.DeepEqual(got, want) {
		t.Errorf("fields exposed as %q, want %q", got, want)
	}
}
