package main

import (
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/gorpyc/rpyc/brine"
)

func TestParseLiteral(t *testing.T) {
	big70, _ := new(big.Int).SetString("1180591620717411303424", 10)
	for _, c := range []struct {
		in   string
		want any
	}{
		{"0", int64(0)}, {"42", int64(42)}, {"-7", int64(-7)}, {"+3", int64(3)}, {"1_000", int64(1000)},
		{"0x1F", int64(31)}, {"0o17", int64(15)}, {"0b101", int64(5)}, {"-0x10", int64(-16)},
		{"1180591620717411303424", big70}, {"-9223372036854775808", int64(math.MinInt64)},
		{"9223372036854775808", new(big.Int).Lsh(big.NewInt(1), 63)},
		{"1.5", 1.5}, {".5", 0.5}, {"5.", 5.0}, {"1e3", 1000.0}, {"-2.5E-3", -0.0025}, {"1_0.5", 10.5},
		{"2j", complex(0, 2)}, {"1+2j", complex(1, 2)}, {"-1-2.5j", complex(-1, -2.5)}, {"1.5J", complex(0, 1.5)},
		{"None", nil}, {"True", true}, {"False", false}, {"...", brine.Ellipsis}, {"Ellipsis", brine.Ellipsis},
		{"'a'", "a"}, {`"b"`, "b"}, {`'it\'s'`, "it's"}, {`"tab\there"`, "tab\there"}, {`'\x41\u00e9\U0001F600\101\0'`, "Aé😀A\x00"},
		{`r'\n'`, `\n`}, {`R"\d"`, `\d`}, {`u'x'`, "x"}, {`'a' "b" 'c'`, "abc"}, {`'''tri'ple'''`, "tri'ple"},
		{`'\q'`, `\q`}, {`'é'`, "é"},
		{`b'\x00\xff'`, []byte{0, 0xff}}, {`B"ab"`, []byte("ab")}, {`br'\x'`, []byte(`\x`)}, {`b'\u1234'`, []byte(`\u1234`)},
		{"()", brine.Tuple{}}, {"(1)", int64(1)}, {"(1,)", brine.Tuple{int64(1)}}, {"(1, 'a', None)", brine.Tuple{int64(1), "a", nil}},
		{"[1, [2, 3]]", brine.Tuple{int64(1), brine.Tuple{int64(2), int64(3)}}}, {"[]", brine.Tuple{}},
		{"[1, 2,]", brine.Tuple{int64(1), int64(2)}}, {"1, 2", brine.Tuple{int64(1), int64(2)}}, {"1,", brine.Tuple{int64(1)}},
		{"{1, 2}", brine.FrozenSet{int64(1), int64(2)}}, {"{'a'}", brine.FrozenSet{"a"}},
		{"  ( 1 , -2.0 )  ", brine.Tuple{int64(1), -2.0}},
	} {
		got, err := parseLiteral(c.in)
		if err != nil {
			t.Errorf("parseLiteral(%s): %v", c.in, err)
			continue
		}
		if !brine.Equal(got, c.want) && !(got == nil && c.want == nil) {
			t.Errorf("parseLiteral(%s) = %#v, want %#v", c.in, got, c.want)
		}
	}
	for _, in := range []string{
		"", "bob", "1 2", "(1", "[1,", "'open", `b'é'`, "{}", "{'a': 1}", "01", "1__0", "0x", "f'x'",
		"'a' b'b'", "1+", "--", "'\\x4'", "'\\ud800'", "'line\nbreak'",
	} {
		if v, err := parseLiteral(in); err == nil {
			t.Errorf("parseLiteral(%q) = %#v, want an error", in, v)
		}
	}
}

func TestParseCallArgs(t *testing.T) {
	pos, kw, err := parseCallArgs([]string{"1", "'x=y'", "name='v'", "n=2"})
	if err != nil || len(pos) != 2 || pos[1] != "x=y" || kw["name"] != "v" || kw["n"] != int64(2) {
		t.Fatalf("parseCallArgs = %v, %v, %v", pos, kw, err)
	}
	if _, _, err := parseCallArgs([]string{"k=1", "2"}); err == nil || !strings.Contains(err.Error(), "after keyword") {
		t.Errorf("positional after keyword: %v", err)
	}
	if _, _, err := parseCallArgs([]string{"k=oops"}); err == nil {
		t.Error("bad keyword value accepted")
	}
}

func TestNeedsMore(t *testing.T) {
	for _, c := range []struct {
		lines []string
		want  bool
	}{
		{[]string{"x = 1"}, false},
		{[]string{"def f():"}, true},
		{[]string{"def f():", "    return 1"}, true},
		{[]string{"def f():", "    return 1", ""}, false},
		{[]string{"@decorator"}, true},
		{[]string{"x = [1,"}, true},
		{[]string{"x = [1,", "2]"}, false},
		{[]string{"s = '''a"}, true},
		{[]string{"s = '''a", "b'''"}, false},
		{[]string{"x = 1 + \\"}, true},
		{[]string{"d = {'a:': 1}"}, false},
		{[]string{"x = 1  # note:"}, false},
		{[]string{"s = '(' + \"[\""}, false},
	} {
		if got := needsMore(c.lines); got != c.want {
			t.Errorf("needsMore(%q) = %v, want %v", c.lines, got, c.want)
		}
	}
}

func TestJSONValueFloats(t *testing.T) {
	for v, want := range map[float64]any{math.NaN(): "NaN", math.Inf(1): "Infinity", math.Inf(-1): "-Infinity", 1.5: 1.5} {
		if got, err := jsonValue(v); err != nil || got != want {
			t.Errorf("jsonValue(%v) = %v, %v", v, got, err)
		}
	}
}
