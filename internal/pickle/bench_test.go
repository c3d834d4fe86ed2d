package pickle

import "testing"

// BenchmarkLoadsList100k decodes pickle.dumps(list(range(100000)), 4) (built by Dumps, which
// writes the same opcodes as CPython here, minus frames and memo entries).
func BenchmarkLoadsList100k(b *testing.B) {
	l := make([]any, 100_000)
	for i := range l {
		l[i] = i
	}
	data, err := Dumps(l)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Loads(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDumpsList100k encodes a 100,000-int list.
func BenchmarkDumpsList100k(b *testing.B) {
	l := make([]int, 100_000)
	for i := range l {
		l[i] = i
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Dumps(l); err != nil {
			b.Fatal(err)
		}
	}
}
