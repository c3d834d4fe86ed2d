//go:build unix

package netref

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/internal/pytyped"
)

// TestParseLiteralMatchesPython reads what CPython's repr() writes for thousands of random
// values made of literals (nested lists, tuples, dicts, sets, frozensets, bytearrays, ints of
// any size, special floats, complex numbers, str with every kind of escape, bytes) and checks
// each against the value's typed form printed by the same Python; reprs that are not made of
// literals (objects, recursive lists, datetimes) must be refused.
func TestParseLiteralMatchesPython(t *testing.T) {
	p := interop.Peers(t)[0]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := p.Command(ctx, interop.Script("literal_cases.py"), "7", "3000").Output()
	if err != nil {
		t.Fatal(err)
	}
	var n, refused int
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var c struct {
			Repr    string          `json:"repr"`
			Typed   json.RawMessage `json:"typed"`
			Literal bool            `json:"literal"`
		}
		if err := json.Unmarshal(line, &c); err != nil {
			t.Fatal(err)
		}
		got, err := parseLiteral(c.Repr)
		if !c.Literal {
			if err == nil {
				t.Errorf("parseLiteral(%q) = %#v; want it refused", c.Repr, got)
			}
			refused++
			continue
		}
		if err != nil {
			t.Errorf("parseLiteral(%q): %v", c.Repr, err)
			continue
		}
		want, err := pytyped.FromJSON(c.Typed)
		if err != nil {
			t.Fatal(err)
		}
		if !pytyped.Equal(got, want) {
			t.Errorf("parseLiteral(%q)\n got  %#v\n want %#v", c.Repr, got, want)
		}
		n++
	}
	if n < 3000 || refused < 5 {
		t.Errorf("only %d literal and %d refused cases", n, refused)
	}
}

func TestParseLiteralRefuses(t *testing.T) {
	for _, s := range []string{"", "[", "[1,2]", "[1, ]", "{1: 2", "(1)", "x", "'abc", "b'\xff'",
		"'\\ud800'", "1 ", " 1", "[1, 2] ", "frozenset({1}", "bytearray(b'')x", "(1+2)", "nanx",
		"<object object at 0x7f>", "[...]", "{'a': {...}}", "1__0", "0x10", "'\\q'", "b'\\u0041'"} {
		if v, err := parseLiteral(s); err == nil {
			t.Errorf("parseLiteral(%q) = %#v; want an error", s, v)
		}
	}
}

func TestParseListPrefix(t *testing.T) {
	for _, c := range []struct {
		s        string
		n        int
		complete bool
	}{
		{"[]", 0, true}, {"[1]", 1, true}, {"[1, 'a', [2, 3]]", 3, true},
		{"[1, 2, Point(1, 2), 3]", 2, false}, {"[<object>]", 0, false}, {"[[1, x], 2]", 0, false},
		{"[1, 2]x", 1, false}, {"[1.5e3x, 2]", 0, false}, {"{1: 2}", 0, false}, {"[1, 2", 1, false},
	} {
		items, complete := parseListPrefix(c.s)
		if len(items) != c.n || complete != c.complete {
			t.Errorf("parseListPrefix(%q) = %v, %v; want %d items, %v", c.s, items, complete, c.n, c.complete)
		}
	}
}
