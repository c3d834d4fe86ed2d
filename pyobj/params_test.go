package pyobj

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/netref"
	"github.com/gorpyc/rpyc/protocol"
)

type greetArgs struct {
	Params
	Name     string `rpyc:",required"`
	Greeting string `rpyc:",default=Hello, you"` // default= takes the rest of the tag, commas too
	Punct    string `rpyc:",default=!"`
}

type resizeArgs struct {
	Width  int      `rpyc:",required"`
	Height *int     // nil: not passed
	Scale  *float64 `rpyc:",default=1.5"`
	Unit   string   `rpyc:",kwonly,default=px"`
	Strict bool     `rpyc:",kwonly,required"`
}

type joinArgs struct {
	Parts []string       `rpyc:",args"`
	Sep   string         `rpyc:",default= "`
	Extra map[string]int `rpyc:",kwargs"`
}

type plainOpts struct {
	Greeting string
	Count    *int
}

type badDefault struct {
	N int `rpyc:",default=many"`
}

type allDefaults struct {
	Params
	D   time.Duration `rpyc:",default=1m30s"`
	B   *big.Int      `rpyc:",default=123456789012345678901234567890"`
	U   uint8         `rpyc:",default=0x10"`
	F   bool          `rpyc:",default=True"`
	C   complex128    `rpyc:",default=1+2j"`
	Bs  []byte        `rpyc:",default=raw"`
	Nil *string       `rpyc:",default=None"`
}

func kw(pairs ...any) []protocol.Attr {
	var out []protocol.Attr
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, protocol.Attr{Name: pairs[i].(string), Value: pairs[i+1]})
	}
	return out
}

// bind binds args for fn as the method "f" and returns the values passed (dereferencing
// pointers to structs) or the error text.
func bind(fn any, args brine.Tuple, kwargs []protocol.Attr) (string, error) {
	in, err := bindArgs(context.Background(), reflect.TypeOf(fn), "f", 1, args, kwargs)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, v := range in {
		if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
			v = v.Elem()
		}
		parts = append(parts, show(v))
	}
	return strings.Join(parts, " "), nil
}

func show(v reflect.Value) string {
	if v.Kind() == reflect.Struct && v.Type().PkgPath() == reflect.TypeFor[greetArgs]().PkgPath() {
		var fs []string
		for i := range v.NumField() {
			if v.Type().Field(i).Anonymous {
				continue
			}
			fs = append(fs, v.Type().Field(i).Name+"="+show(v.Field(i)))
		}
		return "{" + strings.Join(fs, " ") + "}"
	}
	if v.Kind() == reflect.Pointer && v.Type() != reflect.TypeFor[*big.Int]() {
		if v.IsNil() {
			return "nil"
		}
		return "&" + show(v.Elem())
	}
	if v.Kind() == reflect.Map {
		return fmt.Sprint(v.Interface())
	}
	return fmt.Sprintf("%q", fmt.Sprint(v.Interface()))
}

// TestParamStructs checks keyword-or-positional parameters declared by a parameter struct
// against what Python does with the equivalent def (the messages are Python 3.11's, with the
// function's name as Python writes it for a method: self counted).
func TestParamStructs(t *testing.T) {
	greet := func(a greetArgs) string { return "" }
	resize := func(ctx context.Context, a *resizeArgs) {}
	join := func(prefix string, a joinArgs) {}
	for _, tc := range []struct {
		fn     any
		args   brine.Tuple
		kwargs []protocol.Attr
		want   string // the bound values, or "error: <Python's message>"
	}{
		// def f(self, name, greeting="Hello, you", punct="!")
		{greet, brine.Tuple{"bob"}, nil, `{Name="bob" Greeting="Hello, you" Punct="!"}`},
		{greet, brine.Tuple{"bob", "Hi"}, nil, `{Name="bob" Greeting="Hi" Punct="!"}`},
		{greet, brine.Tuple{"bob", "Hi", "?"}, nil, `{Name="bob" Greeting="Hi" Punct="?"}`},
		{greet, nil, kw("name", "bob"), `{Name="bob" Greeting="Hello, you" Punct="!"}`},
		{greet, brine.Tuple{"bob"}, kw("greeting", ""), `{Name="bob" Greeting="" Punct="!"}`},
		{greet, brine.Tuple{"bob"}, kw("punct", "?", "greeting", "Yo"), `{Name="bob" Greeting="Yo" Punct="?"}`},
		{greet, nil, nil, "error: TypeError: f() missing 1 required positional argument: 'name'"},
		{greet, brine.Tuple{"bob"}, kw("colour", "red"), "error: TypeError: f() got an unexpected keyword argument 'colour'"},
		{greet, brine.Tuple{"bob", "Hi"}, kw("greeting", "Yo"), "error: TypeError: f() got multiple values for argument 'greeting'"},
		{greet, brine.Tuple{"a", "b", "c", "d"}, nil, "error: TypeError: f() takes from 2 to 4 positional arguments but 5 were given"},
		{greet, brine.Tuple{int64(1)}, nil, "error: TypeError: argument 'name': cannot convert Python int 1 to string"},
		// def f(self, width, height=None, scale=1.5, *, unit="px", strict)
		{resize, brine.Tuple{int64(10)}, kw("strict", true), `"context.Background" {Width="10" Height=nil Scale=&"1.5" Unit="px" Strict="true"}`},
		{resize, brine.Tuple{int64(10), int64(0)}, kw("strict", false, "scale", nil), `"context.Background" {Width="10" Height=&"0" Scale=nil Unit="px" Strict="false"}`},
		{resize, brine.Tuple{int64(10), nil, 2.0}, kw("unit", "cm", "strict", int64(1)), `"context.Background" {Width="10" Height=nil Scale=&"2" Unit="cm" Strict="true"}`},
		{resize, brine.Tuple{int64(10)}, nil, "error: TypeError: f() missing 1 required keyword-only argument: 'strict'"},
		{resize, nil, nil, "error: TypeError: f() missing 1 required positional argument: 'width'"},
		{resize, brine.Tuple{int64(1), int64(2), 3.0, "cm"}, kw("strict", true), "error: TypeError: f() takes from 2 to 4 positional arguments but 5 were given"},
		{resize, brine.Tuple{new(big.Int).Lsh(big.NewInt(1), 80)}, kw("strict", true), "error: OverflowError: argument 'width': cannot convert Python int 1208925819614629174706176 to int: overflow"},
		// def f(self, prefix, *parts, sep=" ", **extra)
		{join, brine.Tuple{"p"}, nil, `"p" {Parts="[]" Sep=" " Extra=map[]}`},
		{join, brine.Tuple{"p", "a", "b"}, kw("sep", "-", "x", int64(1)), `"p" {Parts="[a b]" Sep="-" Extra=map[x:1]}`},
		{join, brine.Tuple{"p", "a", int64(2)}, nil, "error: TypeError: argument 3: cannot convert Python int 2 to string"},
		{join, brine.Tuple{"p"}, kw("x", "y"), "error: TypeError: argument 'x': cannot convert Python str 'y' to int"},
		{join, nil, nil, "error: TypeError: f() missing 1 required positional argument: argument 1"},
	} {
		got, err := bind(tc.fn, tc.args, tc.kwargs)
		if err != nil {
			got = "error: " + err.Error()
			if !errors.Is(err, protocol.TypeError) && !errors.Is(err, protocol.OverflowError) {
				t.Errorf("%T%v %v: %v is neither a TypeError nor an OverflowError", tc.fn, tc.args, tc.kwargs, err)
			}
		}
		if got != tc.want {
			t.Errorf("%T%v %v:\n got %s\nwant %s", tc.fn, tc.args, tc.kwargs, got, tc.want)
		}
	}
}

// TestOptionsStruct checks a last struct that declares no parameters: keyword arguments by
// field name (explicit zeros kept, pointer fields telling "not passed"), or the whole struct
// from one positional value, as before parameter structs existed.
func TestOptionsStruct(t *testing.T) {
	fn := func(name string, o plainOpts) {}
	for _, tc := range []struct {
		args   brine.Tuple
		kwargs []protocol.Attr
		want   string
	}{
		{brine.Tuple{"bob"}, nil, `"bob" {Greeting="" Count=nil}`},
		{brine.Tuple{"bob"}, kw("count", int64(0)), `"bob" {Greeting="" Count=&"0"}`},
		{brine.Tuple{"bob", brine.Tuple{"Hi", int64(2)}}, nil, `"bob" {Greeting="Hi" Count=&"2"}`},
		{brine.Tuple{"bob", "Hi"}, nil, "error: TypeError: argument 2: cannot convert Python str 'Hi' to pyobj.plainOpts"},
		{brine.Tuple{"bob", "Hi", "x"}, nil, "error: TypeError: f() takes from 2 to 3 positional arguments but 4 were given"},
		{brine.Tuple{"bob", brine.Tuple{"Hi", nil}}, kw("count", int64(1)), "error: TypeError: f() takes 2 positional arguments but 3 were given"},
	} {
		got, err := bind(fn, tc.args, tc.kwargs)
		if err != nil {
			got = "error: " + err.Error()
		}
		if got != tc.want {
			t.Errorf("%v %v:\n got %s\nwant %s", tc.args, tc.kwargs, got, tc.want)
		}
	}
	// A last *netref.Ref (a struct type without fields Python could fill) is a plain parameter.
	ref := func(ctx context.Context, fn *netref.Ref) {}
	if _, err := bind(ref, brine.Tuple{nil}, nil); err != nil {
		t.Errorf("*netref.Ref parameter: %v", err)
	}
}

func TestParamDefaults(t *testing.T) {
	got, err := bind(func(a allDefaults) {}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{D="1m30s" B="123456789012345678901234567890" U="16" F="true" C="(1+2i)" Bs="[114 97 119]" Nil=nil}`
	if got != want {
		t.Errorf("defaults:\n got %s\nwant %s", got, want)
	}
	// Defaults held by pointer are fresh per call: a method changing one does not change the next
	// call's.
	in, _ := bindArgs(context.Background(), reflect.TypeFor[func(resizeArgs)](), "f", 0, brine.Tuple{int64(1)}, kw("strict", true))
	*in[0].Interface().(resizeArgs).Scale = 99
	in, _ = bindArgs(context.Background(), reflect.TypeFor[func(resizeArgs)](), "f", 0, brine.Tuple{int64(1)}, kw("strict", true))
	if s := *in[0].Interface().(resizeArgs).Scale; s != 1.5 {
		t.Errorf("default changed by an earlier call: %v", s)
	}
	_, err = bind(func(a badDefault) {}, nil, nil)
	if !errors.Is(err, protocol.RuntimeError) || !strings.Contains(err.Error(), `default "many"`) {
		t.Errorf("bad default: %v", err)
	}
}
