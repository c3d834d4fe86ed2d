package convert_test

import (
	"context"
	"net"

	"errors"
	"fmt"
	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/protocol"
	"github.com/gorpyc/rpyc/pyobj"
	"io"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/internal/convert"
	"github.com/gorpyc/rpyc/internal/pickle"
	"github.com/gorpyc/rpyc/netref"
)

type (
	myString string
	myBytes  []byte
	point    struct{ X, Y int }
	inner    struct{ Deep string }
	Inner    struct{ Deep string }
	record   struct {
		Name   string
		UserID int
		Tags   []string `rpyc:"labels"`
		Secret string   `rpyc:"-"`
		Next   *record
		*Inner
	}
	renamed struct {
		Hidden  int
		Visible int
	}
	spaced struct {
		Full string `rpyc:"full name"`
	}
	unexportedEmbed struct {
		*inner
		N int
	}
)

func (renamed) RPyCNames() map[string]string {
	return map[string]string{"Hidden": "", "Visible": "shown"}
}

// list is a remote list, as a connection hands it over: the root of a gorpyc peer over a pipe,
// named builtins.list (the peer lives as long as the test binary).
var list = remoteList()

type fakeList struct{}

func (fakeList) RPyCNamePack() string { return "builtins.list" }

func remoteList() *netref.Ref {
	a, b := net.Pipe()
	protocol.New(channel.New(a, channel.Config{}), fakeList{}, protocol.DefaultConfig(), protocol.WithObjects(pyobj.Handler{}))
	c, err := protocol.NewClient(context.Background(), channel.New(b, channel.Config{}), nil, protocol.DefaultConfig())
	if err != nil {
		panic(err)
	}
	r, err := netref.Root(context.Background(), c)
	if err != nil {
		panic(err)
	}
	return r
}

func huge() *big.Int {
	n, _ := new(big.Int).SetString("100000000000000000000", 10)
	return n
}

func dict(kv ...any) pickle.Dict {
	var d pickle.Dict
	for i := 0; i < len(kv); i += 2 {
		d = append(d, pickle.Item{Key: kv[i], Value: kv[i+1]})
	}
	return d
}

// TestAssign covers every target kind with the values that convert to it.
func TestAssign(t *testing.T) {
	raw := []byte("raw")
	tests := []struct {
		name string
		dst  any // pointer to the target
		v    any
		want any
	}{
		// integers
		{"int from int", new(int), int64(42), 42},
		{"int8 max", new(int8), int64(127), int8(127)},
		{"uint8 from big", new(uint8), big.NewInt(200), uint8(200)},
		{"int64 from negative big", new(int64), big.NewInt(-5), int64(-5)},
		{"int from True", new(int), true, 1},
		{"uint from False", new(uint), false, uint(0)},
		{"uintptr", new(uintptr), int64(7), uintptr(7)},
		{"int from Go int", new(int16), 9, int16(9)},
		// floats and complex numbers
		{"float64 from int", new(float64), int64(3), 3.0},
		{"float64 from True", new(float64), true, 1.0},
		{"float64 from big", new(float64), huge(), 1e20},
		{"float32 from float", new(float32), 1.5, float32(1.5)},
		{"complex128 from int", new(complex128), int64(2), complex(2, 0)},
		{"complex128 from float", new(complex128), 1.5, complex(1.5, 0)},
		{"complex128 from big", new(complex128), huge(), complex(1e20, 0)},
		{"complex64 from complex", new(complex64), complex(1, 2), complex64(complex(1, 2))},
		// big integers
		{"*big.Int from int", new(*big.Int), int64(5), big.NewInt(5)},
		{"*big.Int from True", new(*big.Int), true, big.NewInt(1)},
		{"*big.Int from big", new(*big.Int), huge(), huge()},
		{"big.Int from int", new(big.Int), int64(-3), *big.NewInt(-3)},
		// bool
		{"bool from bool", new(bool), true, true},
		{"bool from 0", new(bool), int64(0), false},
		{"bool from 1", new(bool), int64(1), true},
		// strings
		{"string", new(string), "héllo", "héllo"},
		{"named string", new(myString), "x", myString("x")},
		{"string from Decimal", new(string), pickle.Decimal("1.50"), "1.50"},
		// bytes
		{"[]byte from bytes", new([]byte), raw, raw},
		{"named bytes from bytes", new(myBytes), []byte("ab"), myBytes("ab")},
		{"[]byte from bytearray", new([]byte), pickle.ByteArray("ba"), []byte("ba")},
		{"[3]byte from bytes", new([3]byte), []byte("abc"), [3]byte{'a', 'b', 'c'}},
		{"[]byte from tuple of ints", new([]byte), brine.Tuple{int64(1), int64(2)}, []byte{1, 2}},
		// sequences
		{"[]int from tuple", new([]int), brine.Tuple{int64(1), int64(2)}, []int{1, 2}},
		{"[]string from frozenset", new([]string), brine.FrozenSet{"a", "b"}, []string{"a", "b"}},
		{"[]int from list", new([]int), []any{int64(1), true}, []int{1, 1}},
		{"[]string from set", new([]string), pickle.Set{"x"}, []string{"x"}},
		{"[2]int from tuple", new([2]int), brine.Tuple{int64(1), int64(2)}, [2]int{1, 2}},
		{"[]any from tuple", new([]any), brine.Tuple{int64(1)}, []any{int64(1)}},
		{"[][]int nested", new([][]int), brine.Tuple{brine.Tuple{int64(1)}, []any{}}, [][]int{{1}, {}}},
		{"empty tuple", new([]int), brine.Tuple{}, []int{}},
		// maps
		{"map from dict", new(map[string]int), dict("a", int64(1), "b", true), map[string]int{"a": 1, "b": 1}},
		{"map with tuple keys", new(map[[2]int]string), dict(brine.Tuple{int64(1), int64(2)}, "x"), map[[2]int]string{{1, 2}: "x"}},
		{"map[any]any", new(map[any]any), dict("k", brine.Tuple{}), map[any]any{"k": brine.Tuple{}}},
		// structs
		{"struct from tuple", new(point), brine.Tuple{int64(1), int64(2)}, point{1, 2}},
		{"struct from list", new(point), []any{int64(3), int64(4)}, point{3, 4}},
		{"*struct from tuple", new(*point), brine.Tuple{int64(1), int64(2)}, &point{1, 2}},
		{"struct from dict", new(record), dict("name", "ada", "user_id", int64(7), "labels", []any{"x"},
			"next", dict("Name", "bob"), "deep", "d", "secret", "no", "ignored", int64(1)),
			record{Name: "ada", UserID: 7, Tags: []string{"x"}, Next: &record{Name: "bob"}, Inner: &Inner{Deep: "d"}}},
		{"struct from dict, Go names any case", new(record), dict("USERID", int64(1), "Userid", int64(2), "NAME", "z"),
			record{Name: "z", UserID: 2}},
		{"struct from tuple skips hidden fields", new(renamed), brine.Tuple{int64(5)}, renamed{Visible: 5}},
		{"struct from dict with renames", new(renamed), dict("shown", int64(1), "hidden", int64(2)), renamed{Visible: 1}},
		{"struct field named by a tag with a space", new(spaced), dict("full name", "x"), spaced{Full: "x"}},
		{"promoted field of an unexported embedded pointer", new(unexportedEmbed), dict("n", int64(1)), unexportedEmbed{N: 1}},
		{"time.Time as is", new(time.Time), time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)},
		// pointers, interfaces and references
		{"*int from int", new(*int), int64(3), ptr(3)},
		{"*int from None", new(*int), nil, (*int)(nil)},
		{"any", new(any), brine.Tuple{"x"}, brine.Tuple{"x"}},
		{"*netref.Ref", new(*netref.Ref), list, list},
		{"fmt.Stringer from a reference", new(fmt.Stringer), list, fmt.Stringer(list)},
		{"any from a reference", new(any), list, any(list)},
		{"nil slice", new([]int), nil, []int(nil)},
		{"nil map", new(map[string]int), nil, map[string]int(nil)},
		{"nil func", new(func()), nil, (func())(nil)},
		{"nil chan", new(chan int), nil, (chan int)(nil)},
		{"nil interface", new(io.Reader), nil, io.Reader(nil)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := reflect.ValueOf(tc.dst).Elem()
			if err := convert.Assign(dst, tc.v); err != nil {
				t.Fatalf("Assign(%T, %#v): %v", tc.dst, tc.v, err)
			}
			got := dst.Interface()
			if !reflect.DeepEqual(got, tc.want) {
				if gb, ok := got.(*big.Int); !ok || gb.Cmp(tc.want.(*big.Int)) != 0 {
					t.Fatalf("Assign(%T, %#v) = %#v, want %#v", tc.dst, tc.v, got, tc.want)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestAssignErrors checks the refusals: the sentinel they wrap, the path and the message.
func TestAssignErrors(t *testing.T) {
	tests := []struct {
		name   string
		dst    any
		v      any
		reason error // wrapped besides ErrConvert, or nil
		path   string
		msg    string // the whole message
	}{
		{"int8 overflow", new(int8), int64(300), convert.ErrOverflow, "",
			"cannot convert Python int 300 to int8: overflow"},
		{"uint negative", new(uint), int64(-1), convert.ErrNegative, "",
			"cannot convert Python int -1 to uint: negative value for an unsigned type"},
		{"int64 from huge", new(int64), huge(), convert.ErrOverflow, "",
			"cannot convert Python int 100000000000000000000 to int64: overflow"},
		{"float from an int beyond float", new(float64), new(big.Int).Lsh(big.NewInt(1), 2000), convert.ErrOverflow, "", ""},
		{"float32 range", new(float32), 1e300, convert.ErrOverflow, "", "cannot convert Python float 1e+300 to float32: overflow"},
		{"complex64 range", new(complex64), complex(1e300, 0), convert.ErrOverflow, "", ""},
		{"int from float", new(int), 1.5, nil, "", "cannot convert Python float 1.5 to int"},
		{"int from str", new(int), "1", nil, "", "cannot convert Python str '1' to int"},
		{"str from int", new(string), int64(1), nil, "", "cannot convert Python int 1 to string"},
		{"str from bytes", new(string), []byte("x"), nil, "", "cannot convert Python bytes b'x' to string"},
		{"bytes from str", new([]byte), "x", nil, "", "cannot convert Python str 'x' to []uint8"},
		{"bool from 2", new(bool), int64(2), nil, "", "cannot convert Python int 2 to bool: only 0 and 1 convert to bool"},
		{"bool from big", new(bool), huge(), nil, "", ""},
		{"bool from float", new(bool), 1.0, nil, "", "cannot convert Python float 1.0 to bool"},
		{"*big.Int from float", new(*big.Int), 1.0, nil, "", "cannot convert Python float 1.0 to *big.Int"},
		{"None to int", new(int), nil, nil, "", "cannot convert Python None to int"},
		{"None to struct", new(point), nil, nil, "", "cannot convert Python None to convert_test.point"},
		{"timedelta to int", new(int64), time.Second, nil, "", "cannot convert Python timedelta 1s to int64"},
		{"slice item", new([]int), brine.Tuple{int64(1), "x"}, nil, "[1]", "cannot convert Python str 'x' to int at [1]"},
		{"nested item overflow", new([][]int8), brine.Tuple{brine.Tuple{}, []any{int64(1), int64(999)}}, convert.ErrOverflow, "[1][1]",
			"cannot convert Python int 999 to int8 at [1][1]: overflow"},
		{"array length", new([2]int), brine.Tuple{int64(1)}, convert.ErrLength, "",
			"cannot convert Python tuple (1,) to [2]int: wrong number of items: 1, want 2"},
		{"byte array length", new([2]byte), []byte("abc"), convert.ErrLength, "", ""},
		{"list for a map", new(map[string]int), []any{}, nil, "", "cannot convert Python list [] to map[string]int"},
		{"dict value", new(map[string][]int), dict("k", []any{"x"}), nil, "['k'][0]",
			"cannot convert Python str 'x' to int at ['k'][0]"},
		{"dict key", new(map[int]string), dict("a", "x"), nil, "key 'a'", "cannot convert Python str 'a' to int at key 'a'"},
		{"unhashable key", new(map[any]int), dict(brine.Tuple{int64(1)}, int64(1)), nil, "key (1,)", ""},
		{"struct from dict, non-str key", new(record), dict(int64(1), "x"), nil, "key 1",
			"cannot convert Python int 1 to convert_test.record at key 1: only str keys name struct fields"},
		{"struct field", new(record), dict("name", int64(1)), nil, ".name", "cannot convert Python int 1 to string at .name"},
		{"struct field by tag with a space", new(spaced), dict("full name", int64(1)), nil, "['full name']", ""},
		{"nested struct field", new([]record), brine.Tuple{dict("labels", []any{int64(1)})}, nil, "[0].labels[0]",
			"cannot convert Python int 1 to string at [0].labels[0]"},
		{"pointer chain", new(record), dict("next", dict("next", dict("user_id", "x"))), nil, ".next.next.user_id", ""},
		{"struct from tuple, count", new(point), brine.Tuple{int64(1)}, convert.ErrLength, "",
			"cannot convert Python tuple (1,) to convert_test.point: wrong number of items: 1, want 2"},
		{"struct from tuple, field", new(point), brine.Tuple{int64(1), "y"}, nil, "[1]", ""},
		{"struct from frozenset", new(point), brine.FrozenSet{int64(1), int64(2)}, nil, "", ""},
		{"promoted through a nil unexported pointer", new(unexportedEmbed), dict("deep", "x"), nil, ".deep", ""},
		{"reference for a slice", new([]int), list, nil, "", "cannot convert remote builtins.list to []int"},
		{"reference for a *struct", new(*point), list, nil, "", "cannot convert remote builtins.list to *convert_test.point"},
		{"reference for an interface it does not implement", new(io.Reader), list, nil, "",
			"cannot convert remote builtins.list to io.Reader"},
		{"*int from str", new(*int), "x", nil, "", "cannot convert Python str 'x' to *int"},
		{"Go value", new(int), struct{}{}, nil, "", "cannot convert Go struct {} value {} to int"},
		{"long str is shortened", new(int), strings.Repeat("é", 100), nil, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := reflect.ValueOf(tc.dst).Elem()
			err := convert.Assign(dst, tc.v)
			var ce *convert.Error
			if !errors.Is(err, convert.ErrConvert) || !errors.As(err, &ce) {
				t.Fatalf("Assign(%T, %#v) = %v, want a *convert.Error", tc.dst, tc.v, err)
			}
			if tc.reason != nil && !errors.Is(err, tc.reason) {
				t.Errorf("%v does not wrap %v", err, tc.reason)
			}
			if ce.Path != tc.path {
				t.Errorf("path %q, want %q (%v)", ce.Path, tc.path, err)
			}
			if tc.msg != "" && err.Error() != tc.msg {
				t.Errorf("message\n got %q\nwant %q", err.Error(), tc.msg)
			}
			if len(err.Error()) > 200 {
				t.Errorf("message of %d bytes: %q", len(err.Error()), err.Error())
			}
		})
	}
}

// TestValue checks the fast path protocol uses for call arguments: no copy when assignable.
func TestValue(t *testing.T) {
	b := []byte("shared")
	v, err := convert.Value(b, reflect.TypeFor[[]byte]())
	if err != nil || &v.Bytes()[0] != &b[0] {
		t.Fatalf("Value([]byte) copied or failed: %v", err)
	}
	ba := pickle.ByteArray("copied")
	nb, err := convert.Value(ba, reflect.TypeFor[myBytes]())
	if err != nil || &nb.Bytes()[0] == &ba[0] || string(nb.Bytes()) != "copied" {
		t.Fatalf("Value(bytearray, myBytes) should copy: %v", err)
	}
	if v, err := convert.Value(nil, reflect.TypeFor[*int]()); err != nil || !v.IsNil() {
		t.Fatalf("Value(None, *int) = %v, %v", v, err)
	}
	if _, err := convert.Value(nil, reflect.TypeFor[int]()); !errors.Is(err, convert.ErrConvert) {
		t.Fatalf("Value(None, int) = %v", err)
	}
	if v, err := convert.Value(list, reflect.TypeFor[any]()); err != nil || v.Interface() != list {
		t.Fatalf("Value(ref, any) = %v, %v", v, err)
	}
}

// TestErrorFormat checks Error() for the parts a caller may set itself.
func TestErrorFormat(t *testing.T) {
	e := &convert.Error{Value: int64(1), Type: reflect.TypeFor[string](), Path: "[0]", Err: errors.New("why")}
	if got, want := e.Error(), "cannot convert Python int 1 to string at [0]: why"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := (&convert.Error{Value: pickle.Dict{}}).Error(); got != "cannot convert Python dict {} to <nil>" {
		t.Errorf("Error() = %q", got)
	}
	cls := remoteClass{"m.C"} // anything with TypeName and IsClass is a remote reference
	if got := (&convert.Error{Value: cls, Type: reflect.TypeFor[int]()}).Error(); got != "cannot convert remote class m.C to int" {
		t.Errorf("Error() = %q", got)
	}
}

type remoteClass struct{ name string }

func (r remoteClass) TypeName() string { return r.name }
func (r remoteClass) IsClass() bool    { return true }

func TestFieldName(t *testing.T) {
	type s struct {
		UserID int
		Tagged int `rpyc:"t"`
		Opt    int `rpyc:",opt"`
		Hidden int `rpyc:"-"`
	}
	for i, want := range []string{"user_id", "t", "opt", ""} {
		name, ok := convert.FieldName(reflect.TypeFor[s]().Field(i))
		if name != want || ok != (want != "") {
			t.Errorf("FieldName(field %d) = %q, %v; want %q", i, name, ok, want)
		}
	}
}
