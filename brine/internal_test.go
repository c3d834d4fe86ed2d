package brine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// validUTF8 agrees with unicode/utf8.Valid (which has Python's strict rules) on every sequence
// of one or two bytes, on three- and four-byte sequences built from the boundary values of each
// byte, at every alignment against the eight-byte ASCII skip, and on random text.
func TestValidUTF8(t *testing.T) {
	check := func(b []byte) {
		t.Helper()
		if got, want := validUTF8(b), utf8.Valid(b); got != want {
			t.Fatalf("validUTF8(%x) = %v, want %v", b, got, want)
		}
	}
	for a := range 256 {
		check([]byte{byte(a)})
		for b := range 256 {
			check([]byte{byte(a), byte(b)})
		}
	}
	edges := []byte{0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xe0, 0xed, 0xf4, 0xff}
	for lead := 0xc0; lead <= 0xff; lead++ {
		for _, b1 := range edges {
			for _, b2 := range edges {
				check([]byte{byte(lead), b1, b2})
				for _, b3 := range edges {
					seq := []byte{byte(lead), b1, b2, b3}
					check(seq)
					for _, pad := range []int{3, 8} {
						check(append(append(bytes.Repeat([]byte{'a'}, pad), seq...), "abcdefghi"...))
					}
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("abcdefgh éü中文\U0001f600\u07ff\u0800\uffff\U0010ffff")
	for range 2000 {
		var sb strings.Builder
		for range rng.IntN(64) {
			sb.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		b := []byte(sb.String())
		check(b)
		if len(b) > 0 {
			b[rng.IntN(len(b))] = byte(rng.IntN(256)) // usually breaks it
			check(b)
		}
	}
}

// The decimal fast paths agree with math/big on every length up to past MaxIntDigits' needs.
func TestDecimalWords(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 1; n <= 700; n++ {
		digits := make([]byte, n)
		for i := range digits {
			digits[i] = byte('0' + rng.IntN(10))
		}
		if n%7 == 0 {
			digits[0] = '0' // leading zeros are allowed
		}
		if !allDigits(digits) {
			t.Fatalf("allDigits(%s) = false", digits)
		}
		want, _ := new(big.Int).SetString(string(digits), 10)
		got := new(big.Int).SetBits(decimalWords(digits, n*3322/1000/64+1))
		if got.Cmp(want) != 0 {
			t.Fatalf("decimalWords(%s) = %s", digits, got)
		}
		if n <= 19 && parseDigits(digits) != want.Uint64() {
			t.Fatalf("parseDigits(%s) = %d", digits, parseDigits(digits))
		}
	}
	for c := range 256 {
		for pos := range 9 {
			b := []byte("123456789")
			b[pos] = byte(c)
			if got, want := allDigits(b), c >= '0' && c <= '9'; got != want {
				t.Fatalf("allDigits(%q) = %v", b, got)
			}
		}
	}
}

// appendDecimal writes what strconv does, at every digit count and sign.
func TestAppendDecimal(t *testing.T) {
	values := []int64{math.MinInt64, math.MaxInt64, ImmMin - 1, ImmMax + 1, -1000, 1000}
	for p := int64(1); p > 0 && p <= math.MaxInt64/10; p *= 10 {
		values = append(values, p-1, p, p+1, -p+1, -p, -p-1, 10*p-1)
	}
	for _, v := range values {
		got := appendIntText([]byte{0xaa}, v)
		text := strconv.FormatInt(v, 10)
		want := append([]byte{0xaa, byte(TagIntL1), byte(len(text))}, text...)
		if !bytes.Equal(got, want) {
			t.Fatalf("appendIntText(%d) = %x, want %x", v, got, want)
		}
	}
	for _, u := range []uint64{math.MaxUint64, 1 << 63, 10000000000000000000} {
		got := appendUint(nil, u)
		text := strconv.FormatUint(u, 10)
		if want := append([]byte{byte(TagIntL1), byte(len(text))}, text...); !bytes.Equal(got, want) {
			t.Fatalf("appendUint(%d) = %x, want %x", u, got, want)
		}
	}
}

// appendBig writes what math/big does, at every digit count up to the limit, and refuses one
// digit more.
func TestAppendBig(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	ten := big.NewInt(10)
	var values []*big.Int
	for d := 18; d <= MaxIntDigits; d += 1 + d/20 {
		p := new(big.Int).Exp(ten, big.NewInt(int64(d)), nil)
		digits := make([]byte, d)
		for i := range digits {
			digits[i] = byte('0' + rng.IntN(10))
		}
		r, _ := new(big.Int).SetString(string(digits), 10)
		values = append(values, p, new(big.Int).Sub(p, big.NewInt(1)), r, new(big.Int).Neg(r))
	}
	limit := new(big.Int).Exp(ten, big.NewInt(MaxIntDigits), nil)
	values = append(values, new(big.Int).Sub(limit, big.NewInt(1)), new(big.Int).Add(new(big.Int).Neg(limit), big.NewInt(1)))
	for _, x := range values {
		got, err := appendBig([]byte{0xaa}, x)
		if err != nil {
			t.Fatalf("appendBig(%s): %v", x, err)
		}
		text := x.Text(10)
		if x.IsInt64() {
			continue
		}
		want := []byte{0xaa, byte(TagIntL1), byte(len(text))}
		if len(text) >= 256 {
			want = binary.BigEndian.AppendUint32([]byte{0xaa, byte(TagIntL4)}, uint32(len(text)))
		}
		if want = append(want, text...); !bytes.Equal(got, want) {
			t.Fatalf("appendBig(%s) = %q", x, got)
		}
	}
	for _, x := range []*big.Int{limit, new(big.Int).Neg(limit), new(big.Int).Lsh(limit, 64)} {
		if got, err := appendBig([]byte{0xaa}, x); !errors.Is(err, ErrIntTooLarge) || len(got) != 1 {
			t.Fatalf("appendBig(10^%d) = %d bytes, %v", MaxIntDigits, len(got), err)
		}
	}
}

// Integer text beyond the int64 fast paths keeps Python's int() grammar and digit limit:
// whitespace, sign and single underscores are accepted, and underscores are not digits.
func TestBigIntText(t *testing.T) {
	intL4 := func(text string) []byte {
		return append(binary.BigEndian.AppendUint32([]byte{byte(TagIntL4)}, uint32(len(text))), text...)
	}
	want, _ := new(big.Int).SetString("-1000000000000000000000", 10)
	v, err := Load(intL4(" \t-1_000_000000000000000000 \n"))
	if x, ok := v.(*big.Int); err != nil || !ok || x.Cmp(want) != 0 {
		t.Fatalf("spaced, signed, underscored big int: %v, %v", v, err)
	}
	if v, err := Load(intL4("+0_0000000000000000000000000000042")); err != nil || v != int64(42) {
		t.Fatalf("leading zeros: %v, %v", v, err)
	}
	digits := strings.Repeat("9", MaxIntDigits)
	underscored := strings.Join(strings.SplitAfter(digits, "99"), "_")
	underscored = strings.TrimSuffix(underscored, "_")
	if _, err := Load(intL4(underscored)); err != nil {
		t.Fatalf("%d digits with underscores: %v", MaxIntDigits, err)
	}
	if _, err := Load(intL4(underscored + "9")); !errors.Is(err, ErrIntTooLarge) {
		t.Fatalf("%d digits: %v, want ErrIntTooLarge", MaxIntDigits+1, err)
	}
	for _, bad := range []string{"1__0000000000000000000", "_10000000000000000000", "1000000000000000000000_", "--1000000000000000000000", "1000000000000000000000x"} {
		if _, err := Load(intL4(bad)); !errors.Is(err, ErrInvalidInt) {
			t.Fatalf("%q: %v, want ErrInvalidInt", bad, err)
		}
	}
}
