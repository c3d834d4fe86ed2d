package main

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gorpyc/rpyc/brine"
)

// parseLiteral parses a Python literal into the value brine sends: int (int64 or *big.Int),
// float, complex (1j, 1+2j), str and bytes literals (all quote forms, r/b/u prefixes, escapes,
// adjacent literals concatenated), None, True, False, Ellipsis (...), tuples, lists (sent as
// tuples: brine has no list) and sets (sent as frozensets). A bare "1, 2" is a tuple. Dicts are
// refused: brine cannot carry them.
func parseLiteral(src string) (any, error) {
	p := &litParser{src: src}
	p.skipSpace()
	if p.eof() {
		return nil, fmt.Errorf("empty literal")
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.peek() == ',' { // 1, 2 without parentheses
		items := brine.Tuple{v}
		for p.peek() == ',' {
			p.pos++
			p.skipSpace()
			if p.eof() {
				break
			}
			it, err := p.value()
			if err != nil {
				return nil, err
			}
			items = append(items, it)
			p.skipSpace()
		}
		v = items
	}
	if !p.eof() {
		return nil, p.errorf("unexpected %q", p.rest())
	}
	return v, nil
}

type litParser struct {
	src string
	pos int
}

func (p *litParser) eof() bool { return p.pos >= len(p.src) }

func (p *litParser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.src[p.pos]
}

func (p *litParser) rest() string {
	r := p.src[p.pos:]
	if len(r) > 20 {
		r = r[:20] + "..."
	}
	return r
}

func (p *litParser) errorf(format string, args ...any) error {
	return fmt.Errorf("at column %d: %s", p.pos+1, fmt.Sprintf(format, args...))
}

func (p *litParser) skipSpace() {
	for !p.eof() && strings.IndexByte(" \t\r\n", p.peek()) >= 0 {
		p.pos++
	}
}

func (p *litParser) value() (any, error) {
	p.skipSpace()
	switch c := p.peek(); {
	case c == '(':
		return p.sequence('(', ')')
	case c == '[':
		return p.sequence('[', ']')
	case c == '{':
		return p.set()
	case c == '-' || c == '+':
		p.pos++
		p.skipSpace()
		var v any
		var err error
		if isDigit(p.peek()) || p.peek() == '.' {
			v, err = p.number() // -1+2j is (-1)+2j
		} else {
			v, err = p.value()
		}
		if err != nil {
			return nil, err
		}
		if v, err = applySign(c, v, p); err != nil {
			return nil, err
		}
		return p.complexTail(v)
	case c >= '0' && c <= '9' || c == '.' && p.pos+1 < len(p.src) && isDigit(p.src[p.pos+1]):
		v, err := p.number()
		if err != nil {
			return nil, err
		}
		return p.complexTail(v)
	case c == '\'' || c == '"':
		return p.strings()
	case c == '.' && strings.HasPrefix(p.src[p.pos:], "..."):
		p.pos += 3
		return brine.Ellipsis, nil
	case isIdentStart(c):
		start := p.pos
		for !p.eof() && isIdentPart(p.peek()) {
			p.pos++
		}
		word := p.src[start:p.pos]
		if (p.peek() == '\'' || p.peek() == '"') && isStringPrefix(word) {
			p.pos = start
			return p.strings()
		}
		switch word {
		case "None":
			return nil, nil
		case "True":
			return true, nil
		case "False":
			return false, nil
		case "Ellipsis":
			return brine.Ellipsis, nil
		}
		p.pos = start
		return nil, p.errorf("%s is not a Python literal (quote strings: '%s')", word, word)
	case c == 0:
		return nil, p.errorf("unexpected end")
	}
	return nil, p.errorf("unexpected %q", p.rest())
}

// complexTail reads the "+ 2j" of a complex literal such as 1+2j after its real part.
func (p *litParser) complexTail(re any) (any, error) {
	var r float64
	switch x := re.(type) {
	case int64:
		r = float64(x)
	case float64:
		r = x
	default:
		return re, nil
	}
	save := p.pos
	p.skipSpace()
	sign := p.peek()
	if sign != '+' && sign != '-' {
		p.pos = save
		return re, nil
	}
	p.pos++
	p.skipSpace()
	if !isDigit(p.peek()) && p.peek() != '.' {
		p.pos = save
		return re, nil
	}
	im, err := p.number()
	c, ok := im.(complex128)
	if err != nil || !ok {
		p.pos = save
		return re, nil
	}
	if sign == '-' {
		c = -c
	}
	return complex(r, imag(c)), nil
}

func applySign(sign byte, v any, p *litParser) (any, error) {
	neg := sign == '-'
	switch x := v.(type) {
	case int64:
		if neg {
			if x == math.MinInt64 {
				return new(big.Int).Neg(big.NewInt(x)), nil
			}
			return -x, nil
		}
		return x, nil
	case *big.Int:
		if neg {
			n := new(big.Int).Neg(x)
			if n.IsInt64() {
				return n.Int64(), nil
			}
			return n, nil
		}
		return x, nil
	case float64:
		if neg {
			return -x, nil
		}
		return x, nil
	case complex128:
		if neg {
			return -x, nil
		}
		return x, nil
	case bool:
		// Python allows -True (== -1); keep it an int.
		i := int64(0)
		if x {
			i = 1
		}
		if neg {
			i = -i
		}
		return i, nil
	}
	return nil, p.errorf("bad operand for unary %c", sign)
}

func (p *litParser) sequence(open, close byte) (any, error) {
	p.pos++ // open
	var items brine.Tuple
	trailingComma := false
	for {
		p.skipSpace()
		if p.peek() == close {
			p.pos++
			break
		}
		if p.eof() {
			return nil, p.errorf("missing %q", close)
		}
		it, err := p.value()
		if err != nil {
			return nil, err
		}
		items = append(items, it)
		p.skipSpace()
		trailingComma = false
		switch p.peek() {
		case ',':
			p.pos++
			trailingComma = true
		case close:
		default:
			if p.eof() {
				return nil, p.errorf("missing %q", close)
			}
			return nil, p.errorf("expected ',' or %q, got %q", close, p.rest())
		}
	}
	if open == '(' && len(items) == 1 && !trailingComma {
		return items[0], nil // (x) is x
	}
	if items == nil {
		items = brine.Tuple{}
	}
	return items, nil
}

func (p *litParser) set() (any, error) {
	start := p.pos
	v, err := p.sequence('{', '}')
	if err != nil {
		if strings.Contains(p.src[start:], ":") {
			return nil, fmt.Errorf("dict literals cannot be sent: brine carries no dicts (use a tuple of pairs)")
		}
		return nil, err
	}
	t, ok := v.(brine.Tuple)
	if !ok {
		t = brine.Tuple{v}
	}
	if len(t) == 0 {
		return nil, fmt.Errorf("{} is an empty dict, which brine cannot carry (use frozenset() in the remote code)")
	}
	return brine.FrozenSet(t), nil
}

func (p *litParser) number() (any, error) {
	start := p.pos
	for !p.eof() && (isIdentPart(p.peek()) || p.peek() == '.' ||
		(p.peek() == '+' || p.peek() == '-') && strings.ContainsRune("eE", rune(p.src[p.pos-1])) && !isHexPrefix(p.src[start:p.pos])) {
		p.pos++
	}
	text := p.src[start:p.pos]
	clean := strings.ReplaceAll(text, "_", "")
	if strings.Contains(text, "__") || strings.HasSuffix(text, "_") {
		return nil, p.errorf("invalid number %q", text)
	}
	if strings.HasSuffix(clean, "j") || strings.HasSuffix(clean, "J") {
		f, err := strconv.ParseFloat(clean[:len(clean)-1], 64)
		if err != nil || isHexPrefix(clean) {
			return nil, p.errorf("invalid imaginary number %q", text)
		}
		return complex(0, f), nil
	}
	if isHexPrefix(clean) || !strings.ContainsAny(clean, ".eE") {
		base := 10
		digits := clean
		if isHexPrefix(clean) {
			switch clean[1] {
			case 'x', 'X':
				base = 16
			case 'o', 'O':
				base = 8
			case 'b', 'B':
				base = 2
			}
			digits = clean[2:]
		} else if len(clean) > 1 && clean[0] == '0' && strings.Trim(clean, "0") != "" {
			return nil, p.errorf("leading zeros are not allowed in %q (use 0o for octal)", text)
		}
		b, ok := new(big.Int).SetString(digits, base)
		if !ok || digits == "" {
			return nil, p.errorf("invalid integer %q", text)
		}
		if b.IsInt64() {
			return b.Int64(), nil
		}
		return b, nil
	}
	f, err := strconv.ParseFloat(clean, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, nil // Python gives inf or 0.0 too
		}
		return nil, p.errorf("invalid float %q", text)
	}
	return f, nil
}

func isHexPrefix(s string) bool {
	return len(s) > 1 && s[0] == '0' && strings.ContainsRune("xXoObB", rune(s[1]))
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) }
func isStringPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "u", "b", "br", "rb":
		return true
	}
	return false
}

// strings parses one or more adjacent string literals ('a' "b" is 'ab'); str and bytes cannot
// be mixed.
func (p *litParser) strings() (any, error) {
	var text strings.Builder
	var isBytes *bool
	for {
		p.skipSpace()
		start := p.pos
		for !p.eof() && isIdentStart(p.peek()) {
			p.pos++
		}
		prefix := strings.ToLower(p.src[start:p.pos])
		if !isStringPrefix(prefix) && prefix != "" {
			p.pos = start
			break
		}
		if p.peek() != '\'' && p.peek() != '"' {
			p.pos = start
			break
		}
		b := strings.Contains(prefix, "b")
		if isBytes != nil && *isBytes != b {
			return nil, p.errorf("cannot mix bytes and str literals")
		}
		isBytes = &b
		s, err := p.stringBody(strings.Contains(prefix, "r"), b)
		if err != nil {
			return nil, err
		}
		text.WriteString(s)
	}
	if isBytes != nil && *isBytes {
		return []byte(text.String()), nil
	}
	return text.String(), nil
}

// stringBody parses a quoted body at p.pos and returns its value (for bytes, one Go byte per
// Python byte).
func (p *litParser) stringBody(raw, isBytes bool) (string, error) {
	q := p.src[p.pos : p.pos+1]
	if strings.HasPrefix(p.src[p.pos:], q+q+q) {
		q = q + q + q
	}
	p.pos += len(q)
	var out strings.Builder
	for {
		if p.eof() {
			return "", p.errorf("unterminated string")
		}
		if strings.HasPrefix(p.src[p.pos:], q) {
			p.pos += len(q)
			return out.String(), nil
		}
		c := p.src[p.pos]
		if c == '\n' && len(q) == 1 {
			return "", p.errorf("unterminated string (newline in a single-quoted literal)")
		}
		if c != '\\' {
			r, size := utf8.DecodeRuneInString(p.src[p.pos:])
			if isBytes && r >= 0x80 {
				return "", p.errorf("bytes can only contain ASCII literal characters")
			}
			out.WriteString(p.src[p.pos : p.pos+size])
			p.pos += size
			continue
		}
		if p.pos+1 >= len(p.src) {
			return "", p.errorf("unterminated string")
		}
		if raw {
			out.WriteString(p.src[p.pos : p.pos+2])
			p.pos += 2
			continue
		}
		e := p.src[p.pos+1]
		p.pos += 2
		switch e {
		case '\n':
		case '\\', '\'', '"':
			out.WriteByte(e)
		case 'a':
			out.WriteByte('\a')
		case 'b':
			out.WriteByte('\b')
		case 'f':
			out.WriteByte('\f')
		case 'n':
			out.WriteByte('\n')
		case 'r':
			out.WriteByte('\r')
		case 't':
			out.WriteByte('\t')
		case 'v':
			out.WriteByte('\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			n := int(e - '0')
			for i := 0; i < 2 && !p.eof() && p.peek() >= '0' && p.peek() <= '7'; i++ {
				n = n*8 + int(p.peek()-'0')
				p.pos++
			}
			if isBytes {
				out.WriteByte(byte(n))
			} else {
				out.WriteRune(rune(n))
			}
		case 'x', 'u', 'U':
			width := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if isBytes && e != 'x' {
				out.WriteByte('\\')
				out.WriteByte(e)
				continue
			}
			if p.pos+width > len(p.src) {
				return "", p.errorf("truncated \\%c escape", e)
			}
			n, err := strconv.ParseUint(p.src[p.pos:p.pos+width], 16, 32)
			if err != nil {
				return "", p.errorf("invalid \\%c escape", e)
			}
			p.pos += width
			switch {
			case isBytes:
				out.WriteByte(byte(n))
			case n > unicode.MaxRune || n >= 0xd800 && n < 0xe000:
				return "", p.errorf("escape \\%c%0*x is not a valid character here", e, width, n)
			default:
				out.WriteRune(rune(n))
			}
		default:
			out.WriteByte('\\') // Python keeps unknown escapes
			out.WriteByte(e)
		}
	}
}

// parseCallArgs splits call arguments into positional values and NAME=LITERAL keywords.
func parseCallArgs(args []string) (pos []any, kw map[string]any, err error) {
	for i, a := range args {
		if name, lit, ok := strings.Cut(a, "="); ok && isIdentifier(name) && !strings.HasPrefix(lit, "=") {
			v, err := parseLiteral(lit)
			if err != nil {
				return nil, nil, fmt.Errorf("argument %d (%s=): %w", i+1, name, err)
			}
			if kw == nil {
				kw = map[string]any{}
			}
			kw[name] = v
			continue
		}
		if kw != nil {
			return nil, nil, fmt.Errorf("argument %d: positional argument %q after keyword arguments", i+1, a)
		}
		v, err := parseLiteral(a)
		if err != nil {
			return nil, nil, fmt.Errorf("argument %d: %w", i+1, err)
		}
		pos = append(pos, v)
	}
	return pos, kw, nil
}

func isIdentifier(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentPart(s[i]) {
			return false
		}
	}
	return true
}
