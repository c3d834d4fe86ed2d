package brine_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/gorpyc/rpyc/brine"
)

// The benchmark values are defined identically in tox-interop/bench_brine.py, which measures
// Python rpyc's brine on them so the two can be compared (make bench).

// smallRequest is a v5 CALLATTR request: (1, seq, (8, (2, (ref, (1, name), (1, args), (1, kwargs))))).
var smallRequest any = brine.Tuple{int64(1), int64(12345), brine.Tuple{int64(8), brine.Tuple{int64(2), brine.Tuple{
	brine.Tuple{int64(3), brine.Tuple{"svc.MyService", int64(608496832), int64(140207253238928)}},
	brine.Tuple{int64(1), "get_status"},
	brine.Tuple{int64(1), brine.Tuple{int64(42), "fast", 1.5, true, nil}},
	brine.Tuple{int64(1), brine.Tuple{}},
}}}}

// largeTuple returns about 1.1 MB of brine: 10,000 rows of mixed scalars and a nested tuple. It
// is built by each benchmark that uses it, not kept in a package variable: 70,000 live objects
// would be marked by every garbage collection of the other benchmarks, and slow them.
func largeTuple() any {
	rows := make(brine.Tuple, 10000)
	v := make([]byte, 64)
	for i := range v {
		v[i] = 'v'
	}
	for i := range rows {
		rows[i] = brine.Tuple{int64(i), int64(-i * 1000003), fmt.Sprintf("key-%06d", i), v,
			float64(i) * 0.25, brine.Tuple{nil, true, false}}
	}
	return rows
}

func BenchmarkAppendSmall(b *testing.B) {
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = brine.Append(buf[:0], smallRequest)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDumpSmall(b *testing.B) {
	b.ReportAllocs()
	var n int
	for b.Loop() {
		out, _ := brine.Dump(smallRequest)
		n = len(out)
	}
	b.SetBytes(int64(n))
}

func BenchmarkLoadSmall(b *testing.B) {
	data, _ := brine.Dump(smallRequest)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := brine.Load(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendLarge(b *testing.B) {
	large := largeTuple()
	buf, _ := brine.Dump(large)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = brine.Append(buf[:0], large)
	}
}

func BenchmarkDumpLarge(b *testing.B) {
	large := largeTuple()
	data, _ := brine.Dump(large)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := brine.Dump(large); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadLarge(b *testing.B) {
	large := largeTuple()
	data, _ := brine.Dump(large)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := brine.Load(data); err != nil {
			b.Fatal(err)
		}
	}
}

// mixedCorpus reads testdata/mixed.brine, written by Python rpyc (see tox-interop/bench_brine.py):
// big ints beyond int64, long str with non-ASCII text, long bytes, floats and nested tuples.
func mixedCorpus(b *testing.B) ([]byte, any) {
	data, err := os.ReadFile("testdata/mixed.brine")
	if err != nil {
		b.Fatal(err)
	}
	v, err := brine.Load(data)
	if err != nil {
		b.Fatal(err)
	}
	return data, v
}

func BenchmarkDumpMixed(b *testing.B) {
	data, v := mixedCorpus(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := brine.Dump(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadMixed(b *testing.B) {
	data, _ := mixedCorpus(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := brine.Load(data); err != nil {
			b.Fatal(err)
		}
	}
}
