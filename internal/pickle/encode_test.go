package pickle

import (
	"encoding/hex"
	"math/big"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/brine"
)

func mustBig(s string) *big.Int {
	b, ok := new(big.Int).SetString(s, 0)
	if !ok {
		panic(s)
	}
	return b
}

// dumpGoldens are CPython's own bytes for the same values: each hex string is
// pickletools.optimize(pickle.dumps(value, 4)) with the FRAME opcode removed (CPython 3.11), which
// is what Dumps writes for these values.
var dumpGoldens = []struct {
	py  string
	v   any
	hex string
}{
	{"None", nil, "80044e2e"},
	{"True", true, "8004882e"},
	{"False", false, "8004892e"},
	{"0", 0, "80044b002e"},
	{"255", uint8(255), "80044bff2e"},
	{"256", int16(256), "80044d00012e"},
	{"65536", int64(65536), "80044a000001002e"},
	{"-1", -1, "80044affffffff2e"},
	{"-128", int8(-128), "80044a80ffffff2e"},
	{"-129", -129, "80044a7fffffff2e"},
	{"2**31", int64(1) << 31, "80048a0500000080002e"},
	{"-2**31-1", int64(-1<<31 - 1), "80048a05ffffff7fff2e"},
	{"-2**63", int64(-1 << 63), "80048a0800000000000000802e"},
	{"2**63", uint64(1) << 63, "80048a090000000000000080002e"},
	{"2**64", mustBig("0x10000000000000000"), "80048a090000000000000000012e"},
	{"1.5", 1.5, "8004473ff80000000000002e"},
	{"'é'", "é", "80048c02c3a92e"},
	{"b'\\x00'", []byte{0}, "80044301002e"},
	{"()", brine.Tuple{}, "8004292e"},
	{"(1,)", brine.Tuple{1}, "80044b01852e"},
	{"(1, 2, 3, 4)", brine.Tuple{1, 2, 3, 4}, "8004284b014b024b034b04742e"},
	{"[]", []any{}, "80045d2e"},
	{"[1]", []any{1}, "80045d4b01612e"},
	{"[1, 2]", []int{1, 2}, "80045d284b014b02652e"},
	{"{}", Dict{}, "80047d2e"},
	{"{'a': 1}", map[string]int{"a": 1}, "80047d8c01614b01732e"},
	{"{'a': 1, 'b': 2}", Dict{{"a", 1}, {"b", 2}}, "80047d288c01614b018c01624b02752e"},
	{"{1, 2}", Set{1, 2}, "80048f284b014b02902e"},
	{"frozenset()", brine.FrozenSet{}, "800428912e"},
	{"complex(1, 2)", complex(1, 2), "80048c086275696c74696e738c07636f6d706c657893473ff000000000000047400000000000000086522e"},
	{"bytearray(b'x')", ByteArray("x"), "80048c086275696c74696e738c096279746561727261799343017885522e"},
	{"datetime.date(2024, 5, 6)", Date{2024, 5, 6}, "80048c086461746574696d658c046461746593430407e8050685522e"},
	{"datetime.datetime(2024, 1, 2, 3, 4, 5, 6)", time.Date(2024, 1, 2, 3, 4, 5, 6000, Naive), "80048c086461746574696d658c086461746574696d6593430a07e8010203040500000685522e"},
	{"datetime.timedelta(days=-1, seconds=5, microseconds=7)", -24*time.Hour + 5*time.Second + 7*time.Microsecond, "80048c086461746574696d658c0974696d6564656c7461934affffffff4b054b0787522e"},
	{"decimal.Decimal('1.50')", Decimal("1.50"), "80048c07646563696d616c8c07446563696d616c938c04312e353085522e"},
	{"slice(1, None, 2)", brine.Slice{Start: 1, Step: 2}, "80048c086275696c74696e738c05736c696365934b014e4b0287522e"},
	{"...", brine.Ellipsis, "80048c086275696c74696e738c08456c6c6970736973932e"},
}

func TestDumpsGoldens(t *testing.T) {
	for _, g := range dumpGoldens {
		got, err := Dumps(g.v)
		if err != nil {
			t.Errorf("Dumps(%s): %v", g.py, err)
			continue
		}
		if h := hex.EncodeToString(got); h != g.hex {
			t.Errorf("Dumps(%s)\n got %s\nwant %s", g.py, h, g.hex)
		}
		// And the reader gets the value back (Go integer widths become int64).
		back, err := Loads(got)
		if err != nil {
			t.Errorf("Loads(Dumps(%s)): %v", g.py, err)
			continue
		}
		if !Equal(back, normalise(g.v)) {
			t.Errorf("Loads(Dumps(%s)) = %#v", g.py, back)
		}
	}
}

// normalise maps the Go-only forms Dumps accepts to what Loads returns.
func normalise(v any) any {
	switch x := v.(type) {
	case []int:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = int64(it)
		}
		return out
	case map[string]int:
		var d Dict
		for k, it := range x {
			d = append(d, Item{k, int64(it)})
		}
		return d
	case brine.Slice:
		return brine.Slice{Start: normalise(x.Start), Stop: normalise(x.Stop), Step: normalise(x.Step)}
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = normalise(it)
		}
		return out
	case Set:
		return Set(normalise([]any(x)).([]any))
	case Dict:
		out := make(Dict, len(x))
		for i, it := range x {
			out[i] = Item{normalise(it.Key), normalise(it.Value)}
		}
		return out
	case brine.Tuple:
		return brine.Tuple(normalise([]any(x)).([]any))
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case uint8:
		return int64(x)
	case uint64:
		if x > 1<<63-1 {
			return new(big.Int).SetUint64(x)
		}
		return int64(x)
	}
	return v
}

func TestDumpsErrors(t *testing.T) {
	type cyclic []any
	c := cyclic{nil}
	c[0] = c
	for name, v := range map[string]any{
		"invalid utf-8":      "\xff",
		"chan":               make(chan int),
		"func":               func() {},
		"unhashable member":  Set{[]any{1}},
		"unhashable key":     Dict{{Key: Dict{}, Value: 1}},
		"struct key":         map[struct{ A int }]int{{1}: 1},
		"year 0":             Date{0, 1, 1},
		"february 30":        Date{2023, 2, 30},
		"hour 24":            TimeOfDay{Hour: 24},
		"time before year 1": time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		"dst location":       mustLoad(t, "Europe/Paris"),
		"cycle":              c,
	} {
		if _, err := Dumps(v); err == nil {
			t.Errorf("Dumps(%s) succeeded", name)
		}
	}
}

func mustLoad(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	return loc
}

func TestDumpsAppendKeepsPrefix(t *testing.T) {
	var e Encoder
	out, err := e.Append([]byte("xy"), 1)
	if err != nil || string(out[:2]) != "xy" || hex.EncodeToString(out[2:]) != "80044b012e" {
		t.Fatalf("Append = %x, %v", out, err)
	}
	out, err = e.Append([]byte("xy"), make(chan int))
	if err == nil || string(out) != "xy" {
		t.Fatalf("failed Append = %q, %v", out, err)
	}
}
