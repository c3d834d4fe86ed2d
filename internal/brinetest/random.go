package brinetest

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strings"

	"github.com/gorpyc/rpyc/brine"
)

// Random returns a random dumpable value, nested at most depth levels, for round-trip tests.
// Frozenset members are distinct strings, so that a Python peer (which collapses equal members and
// treats 1, 1.0 and True as equal) keeps every member.
func Random(r *rand.Rand, depth int) any {
	kinds := 14
	if depth <= 0 {
		kinds = 11 // scalars only
	}
	switch r.IntN(kinds) {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return int64(r.IntN(208) - 48) // immediates
	case 3:
		switch r.IntN(4) {
		case 0:
			return r.Int64()
		case 1:
			return -r.Int64()
		case 2:
			return int64(r.Int32()) - math.MaxInt32/2
		}
		x := new(big.Int).Lsh(big.NewInt(r.Int64()+1), uint(r.IntN(600)))
		if r.IntN(2) == 0 {
			x.Neg(x)
		}
		if x.IsInt64() {
			return x.Int64()
		}
		return x
	case 4:
		specials := []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), 5e-324, math.MaxFloat64}
		if r.IntN(4) == 0 {
			return specials[r.IntN(len(specials))]
		}
		return (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(80)-40))
	case 5:
		return complex(r.NormFloat64(), r.NormFloat64())
	case 6:
		return randomBytes(r)
	case 7, 8:
		return randomString(r)
	case 9:
		if r.IntN(2) == 0 {
			return brine.NotImplemented
		}
		return brine.Ellipsis
	case 10:
		return brine.Tuple{}
	case 11, 12:
		n := randomLen(r)
		if n > 40 {
			n = 40 + r.IntN(300) // occasionally cross the TUP_L4 boundary
		}
		t := make(brine.Tuple, n)
		for i := range t {
			t[i] = Random(r, depth-1)
		}
		return t
	}
	if r.IntN(2) == 0 {
		return brine.Slice{Start: Random(r, 0), Stop: Random(r, 0), Step: Random(r, 0)}
	}
	n := r.IntN(6)
	fs := make(brine.FrozenSet, n)
	for i := range fs {
		fs[i] = strings.Repeat("k", i+1) + randomString(r)
	}
	return fs
}

func randomLen(r *rand.Rand) int {
	sizes := []int{0, 1, 2, 3, 4, 5, 6, 254, 255, 256, 257}
	if r.IntN(3) == 0 {
		return sizes[r.IntN(len(sizes))]
	}
	return r.IntN(12)
}

func randomBytes(r *rand.Rand) []byte {
	b := make([]byte, randomLen(r))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func randomString(r *rand.Rand) string {
	alphabet := []rune("abcxyz019 \n\t\x00é€日本😀\U0010ffff")
	n := randomLen(r)
	var sb strings.Builder
	for range n {
		sb.WriteRune(alphabet[r.IntN(len(alphabet))])
	}
	return sb.String()
}
