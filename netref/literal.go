package netref

import (
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/internal/pickle"
)

// errNotLiteral: a repr that is not made of Python literals only (an object's repr, a recursive
// container's "[...]"): the container is then copied item by item.
var errNotLiteral = errors.New("not a Python literal")

// parseLiteral reads the repr() of a Python value made of literals (None, bools, ints, floats,
// complex numbers, str, bytes, bytearray, tuples, lists, dicts, sets, frozensets, Ellipsis, and
// the reprs of OrderedDict, Counter and deque) into the value model of [Copy]: list → []any,
// tuple → brine.Tuple, dict → pickle.Dict, set → pickle.Set, frozenset → brine.FrozenSet,
// bytearray → pickle.ByteArray. It accepts exactly what CPython's repr writes for these types
// and fails with errNotLiteral on anything else.
func parseLiteral(s string) (any, error) {
	p := literalParser{s: s, intern: map[string]any{}}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if p.i != len(s) {
		return nil, errNotLiteral
	}
	return v, nil
}

// parseListPrefix reads the repr() of a list like parseLiteral. When it is not made of literals
// only, it returns the items before the first one that is not, and complete false.
func parseListPrefix(s string) (items []any, complete bool) {
	p := literalParser{s: s, intern: map[string]any{}}
	if !p.eat("[") {
		return nil, false
	}
	items = []any{}
	if p.eat("]") {
		return items, p.i == len(s)
	}
	for {
		v, err := p.value(1)
		if err != nil {
			return items, false
		}
		switch {
		case p.eat(", "):
			items = append(items, v)
		case p.eat("]"):
			if p.i != len(s) {
				return items, false
			}
			return append(items, v), true
		default:
			return items, false // v was only the start of the item
		}
	}
}

type literalParser struct {
	s      string
	i      int
	intern map[string]any // short strings (dict keys, mostly) share one copy, boxed once
}

// maxInterned bounds the strings parseLiteral shares: dict keys repeat, other values rarely.
const maxInterned = 4096

// maxLiteralDepth bounds nesting like brine.MaxDepth (CPython's repr stops far earlier).
const maxLiteralDepth = brine.MaxDepth

func (p *literalParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *literalParser) eat(tok string) bool {
	if strings.HasPrefix(p.s[p.i:], tok) {
		p.i += len(tok)
		return true
	}
	return false
}

func (p *literalParser) value(depth int) (any, error) {
	if depth > maxLiteralDepth {
		return nil, errNotLiteral
	}
	switch c := p.peek(); {
	case c == '[':
		p.i++
		items, err := p.items(']', depth)
		return []any(items), err
	case c == '(':
		return p.paren(depth)
	case c == '{':
		p.i++
		return p.braces(depth)
	case c == '\'' || c == '"':
		return p.str()
	case c == 'b' && p.i+1 < len(p.s) && (p.s[p.i+1] == '\'' || p.s[p.i+1] == '"'):
		p.i++
		b, err := p.bytes()
		return b, err
	case c == '-' || c >= '0' && c <= '9' || strings.HasPrefix(p.s[p.i:], "inf") || strings.HasPrefix(p.s[p.i:], "nan"):
		return p.number()
	}
	for _, w := range [...]struct {
		tok string
		v   any
	}{{"None", nil}, {"True", true}, {"False", false}, {"Ellipsis", brine.Ellipsis}, {"NotImplemented", brine.NotImplemented}} {
		if p.word(w.tok) {
			return w.v, nil
		}
	}
	switch {
	case p.eat("set()"):
		return pickle.Set{}, nil
	case p.eat("frozenset()"):
		return brine.FrozenSet{}, nil
	case p.eat("frozenset({"):
		items, err := p.items('}', depth)
		if err != nil || !p.eat(")") {
			return nil, errNotLiteral
		}
		return brine.FrozenSet(items), nil
	case p.eat("bytearray(b"):
		b, err := p.bytes()
		if err != nil || !p.eat(")") {
			return nil, errNotLiteral
		}
		return pickle.ByteArray(b), nil
	case p.eat("OrderedDict("), p.eat("Counter("):
		return p.dictCall(depth)
	case p.eat("deque(["):
		items, err := p.items(']', depth)
		if err != nil {
			return nil, err
		}
		if p.eat(", maxlen=") {
			if _, err := p.number(); err != nil {
				return nil, err
			}
		}
		if !p.eat(")") {
			return nil, errNotLiteral
		}
		return []any(items), nil
	}
	return nil, errNotLiteral
}

// word eats tok if it is not followed by an identifier character.
func (p *literalParser) word(tok string) bool {
	if !strings.HasPrefix(p.s[p.i:], tok) {
		return false
	}
	if j := p.i + len(tok); j < len(p.s) && isIdentByte(p.s[j]) {
		return false
	}
	p.i += len(tok)
	return true
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// items reads "a, b, c" up to the closing byte (already past the opening one).
func (p *literalParser) items(closing byte, depth int) ([]any, error) {
	out := []any{}
	if p.peek() == closing {
		p.i++
		return out, nil
	}
	for {
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if p.peek() == closing {
			p.i++
			return out, nil
		}
		if !p.eat(", ") {
			return nil, errNotLiteral
		}
	}
}

// paren reads a tuple, "()" or "(x,)" or "(a, b)", or a complex number "(1+2j)".
func (p *literalParser) paren(depth int) (any, error) {
	p.i++ // (
	if p.eat(")") {
		return brine.Tuple{}, nil
	}
	start := p.i
	first, err := p.value(depth + 1)
	if err != nil {
		return nil, err
	}
	if c := p.peek(); c == '+' || c == '-' {
		p.i = start
		return p.complex()
	}
	if p.eat(",)") {
		return brine.Tuple{first}, nil
	}
	if !p.eat(", ") {
		return nil, errNotLiteral
	}
	rest, err := p.items(')', depth)
	if err != nil {
		return nil, err
	}
	return append(brine.Tuple{first}, rest...), nil
}

// complex reads "re±imj)" (the "(" is eaten).
func (p *literalParser) complex() (any, error) {
	re, err := p.float()
	if err != nil {
		return nil, err
	}
	im, err := p.float()
	if err != nil || !p.eat("j)") {
		return nil, errNotLiteral
	}
	return complex(re, im), nil
}

// braces reads a dict or a set (the "{" is eaten).
func (p *literalParser) braces(depth int) (any, error) {
	if p.eat("}") {
		return pickle.Dict{}, nil
	}
	first, err := p.value(depth + 1)
	if err != nil {
		return nil, err
	}
	if !p.eat(": ") {
		if p.eat("}") {
			return pickle.Set{first}, nil
		}
		if !p.eat(", ") {
			return nil, errNotLiteral
		}
		rest, err := p.items('}', depth)
		if err != nil {
			return nil, err
		}
		return append(pickle.Set{first}, rest...), nil
	}
	d := pickle.Dict{}
	key := first
	for {
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		d = append(d, pickle.Item{Key: key, Value: v})
		if p.eat("}") {
			return d, nil
		}
		if !p.eat(", ") {
			return nil, errNotLiteral
		}
		if key, err = p.value(depth + 1); err != nil {
			return nil, err
		}
		if !p.eat(": ") {
			return nil, errNotLiteral
		}
	}
}

// dictCall reads the rest of "OrderedDict(...)" or "Counter(...)": "()", "({...})" or
// "([(k, v), ...])".
func (p *literalParser) dictCall(depth int) (any, error) {
	if p.eat(")") {
		return pickle.Dict{}, nil
	}
	v, err := p.value(depth + 1)
	if err != nil || !p.eat(")") {
		return nil, errNotLiteral
	}
	switch x := v.(type) {
	case pickle.Dict:
		return x, nil
	case []any:
		d := make(pickle.Dict, 0, len(x))
		for _, it := range x {
			kv, ok := it.(brine.Tuple)
			if !ok || len(kv) != 2 {
				return nil, errNotLiteral
			}
			d = append(d, pickle.Item{Key: kv[0], Value: kv[1]})
		}
		return d, nil
	}
	return nil, errNotLiteral
}

// number reads an int, a float or an imaginary number ("2j").
func (p *literalParser) number() (any, error) {
	start := p.i
	isFloat := false
	if p.peek() == '-' {
		p.i++
	}
	switch {
	case p.eat("inf"), p.eat("nan"):
		isFloat = true
	default:
		digits := p.i
		for p.i < len(p.s) {
			c := p.s[p.i]
			switch {
			case c >= '0' && c <= '9':
			case c == '.' || c == 'e' || c == 'E':
				isFloat = true
			case (c == '+' || c == '-') && (p.s[p.i-1] == 'e' || p.s[p.i-1] == 'E'):
			default:
				goto done
			}
			p.i++
		}
	done:
		if p.i == digits {
			return nil, errNotLiteral
		}
	}
	text := p.s[start:p.i]
	if p.eat("j") {
		f, err := parseFloat(text)
		if err != nil {
			return nil, err
		}
		return complex(0, f), nil
	}
	if isFloat {
		return parseFloat(text)
	}
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return n, nil
	}
	b, ok := new(big.Int).SetString(text, 10)
	if !ok {
		return nil, errNotLiteral
	}
	return b, nil
}

// float reads a signed float or int as float64 (a part of a complex repr).
func (p *literalParser) float() (float64, error) {
	start := p.i
	if c := p.peek(); c == '+' || c == '-' {
		p.i++
	}
	if p.eat("inf") || p.eat("nan") {
		return parseFloat(p.s[start:p.i])
	}
	for p.i < len(p.s) {
		c := p.s[p.i]
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' ||
			(c == '+' || c == '-') && (p.s[p.i-1] == 'e' || p.s[p.i-1] == 'E')) {
			break
		}
		p.i++
	}
	return parseFloat(p.s[start:p.i])
}

func parseFloat(text string) (float64, error) {
	switch strings.TrimPrefix(text, "+") {
	case "inf":
		return math.Inf(1), nil
	case "-inf":
		return math.Inf(-1), nil
	case "nan", "-nan":
		return math.NaN(), nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return 0, errNotLiteral
	}
	return f, nil
}

// str reads a str literal as CPython's repr writes it.
func (p *literalParser) str() (any, error) {
	quote := p.s[p.i]
	p.i++
	start := p.i
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case quote:
			s := p.s[start:p.i]
			p.i++
			return p.keep(s), nil // a boxed string
		case '\\':
			return p.strSlow(quote, start)
		}
		p.i++
	}
	return nil, errNotLiteral
}

// keep returns s, copied so as not to hold on to the whole repr, as an interface value: short
// strings (dict keys, mostly) are shared, boxed once.
func (p *literalParser) keep(s string) any {
	if len(s) > 16 {
		return strings.Clone(s)
	}
	if k, ok := p.intern[s]; ok {
		return k
	}
	k := strings.Clone(s)
	if len(p.intern) < maxInterned {
		p.intern[k] = k
	}
	return k
}

func (p *literalParser) strSlow(quote byte, start int) (any, error) {
	var b strings.Builder
	b.WriteString(p.s[start:p.i])
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == quote {
			p.i++
			return b.String(), nil
		}
		if c != '\\' {
			b.WriteByte(c)
			p.i++
			continue
		}
		r, n, ok := p.escape(true)
		if !ok || r >= 0xd800 && r <= 0xdfff { // a lone surrogate has no UTF-8 form
			return nil, errNotLiteral
		}
		b.WriteRune(r)
		p.i += n
	}
	return nil, errNotLiteral
}

// escape decodes the escape sequence at p.i: the rune and its length in the repr.
func (p *literalParser) escape(unicode bool) (rune, int, bool) {
	if p.i+1 >= len(p.s) {
		return 0, 0, false
	}
	switch p.s[p.i+1] {
	case '\\':
		return '\\', 2, true
	case '\'':
		return '\'', 2, true
	case '"':
		return '"', 2, true
	case 'n':
		return '\n', 2, true
	case 'r':
		return '\r', 2, true
	case 't':
		return '\t', 2, true
	case 'x':
		return p.hexEscape(2)
	case 'u':
		if unicode {
			return p.hexEscape(4)
		}
	case 'U':
		if unicode {
			return p.hexEscape(8)
		}
	}
	return 0, 0, false
}

func (p *literalParser) hexEscape(digits int) (rune, int, bool) {
	if p.i+2+digits > len(p.s) {
		return 0, 0, false
	}
	n, err := strconv.ParseUint(p.s[p.i+2:p.i+2+digits], 16, 32)
	if err != nil || n > utf8.MaxRune {
		return 0, 0, false
	}
	return rune(n), 2 + digits, true
}

// bytes reads a bytes literal (the "b" is eaten).
func (p *literalParser) bytes() ([]byte, error) {
	quote := p.peek()
	if quote != '\'' && quote != '"' {
		return nil, errNotLiteral
	}
	p.i++
	out := []byte{}
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == quote:
			p.i++
			return out, nil
		case c == '\\':
			r, n, ok := p.escape(false)
			if !ok {
				return nil, errNotLiteral
			}
			out = append(out, byte(r))
			p.i += n
		case c >= 0x20 && c < 0x7f:
			out = append(out, c)
			p.i++
		default:
			return nil, errNotLiteral
		}
	}
	return nil, errNotLiteral
}
