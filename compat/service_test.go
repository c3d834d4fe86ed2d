package compat_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gorpyc/rpyc/compat"
)

// python returns the interpreter to compare with: $GORPYC_PYTHON or /usr/bin/python3. Without
// one the test is skipped, except under CI=true, where it fails.
func python(t *testing.T) string {
	t.Helper()
	py := os.Getenv("GORPYC_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	if _, err := exec.LookPath(py); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no Python to compare with: %v", err)
		}
		t.Skipf("no Python to compare with: %v (set CI=true to make this a failure)", err)
	}
	return py
}

// runPython runs a Python program with input on stdin and decodes its JSON output into out.
func runPython(t *testing.T, program string, input any, out any) {
	t.Helper()
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python(t), "-c", program)
	cmd.Stdin = strings.NewReader(string(in))
	cmd.Env = append(os.Environ(), "PYTHONIOENCODING=utf-8")
	raw, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("python: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("python: %v", err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("python output: %v", err)
	}
}

// trickyNames are names whose upper-casing differs between Python and naive rules.
var trickyNames = []string{
	"", "echo", "MyService", "my_service_2", "v2", "123", "_", "__x__",
	"straße", "STRAßE", "Straßenbahn", "ß", "ẞ", // sharp s; capital sharp s stays
	"ﬁle", "ﬂow", "ﬀ", "ﬃ", "ﬄ", "ﬅ", "ﬆ", // Latin ligatures
	"ıi", "İstanbul", "ı", // Turkish dotless i and dotted capital I
	"σς", "ὀδυσσεύς", "ΐ", "ΰ", "ᾳ", "ῷ", // Greek final sigma, multi-rune mappings
	"ǅ", "ǈ", "ǋ", "ǲ", "ǆ", // titlecase and lower digraphs
	"ŉ", "ǰ", "և", "ﬓ", // one rune to several outside Latin-1
	"ẖẗẘẙẚ", "µ", "ÿ", "ǈubljana", "ᏸ", "ꭰ", "ⓐ", "𐐨", // odd single-rune mappings
	"héllo wörld", "日本語", "Ⅻ", "ⅻ", "①", "٣", "\u0345", "a\u0301",
}

// TestServiceNameMatchesPython compares ServiceName with Python's str.upper() on tricky names.
func TestServiceNameMatchesPython(t *testing.T) {
	var want []string
	runPython(t, "import json, sys; print(json.dumps([s.upper() for s in json.load(sys.stdin)]))", trickyNames, &want)
	if len(want) != len(trickyNames) {
		t.Fatalf("python returned %d names for %d", len(want), len(trickyNames))
	}
	for i, in := range trickyNames {
		if got := compat.ServiceName(in); got != want[i] {
			t.Errorf("ServiceName(%q) = %q (%U), Python's str.upper() gives %q (%U)", in, got, []rune(got), want[i], []rune(want[i]))
		}
	}
}

// TestServiceNameAllRunes compares ServiceName with Python's str.upper() on every code point
// the Python's Unicode version assigns (unassigned ones may be cased in Go's newer Unicode).
func TestServiceNameAllRunes(t *testing.T) {
	const program = `
import json, sys, unicodedata
changed, unassigned, lo = {}, [], None
for cp in range(0x110000):
    if 0xD800 <= cp < 0xE000:
        continue
    c = chr(cp)
    if unicodedata.category(c) == "Cn":
        if lo is None:
            lo = cp
        continue
    if lo is not None:
        unassigned.append([lo, cp - 1])
        lo = None
    u = c.upper()
    if u != c:
        changed[cp] = u
if lo is not None:
    unassigned.append([lo, 0x10FFFF])
print(json.dumps({"version": unicodedata.unidata_version, "changed": changed, "unassigned": unassigned}))
`
	var py struct {
		Version    string
		Changed    map[string]string // decimal code point -> upper-cased text
		Unassigned [][2]rune
	}
	runPython(t, program, nil, &py)
	if len(py.Changed) < 1000 {
		t.Fatalf("python reported only %d upper-case mappings", len(py.Changed))
	}
	unassigned := func(r rune) bool {
		_, found := slices.BinarySearchFunc(py.Unassigned, r, func(rg [2]rune, r rune) int {
			switch {
			case rg[1] < r:
				return -1
			case rg[0] > r:
				return 1
			}
			return 0
		})
		return found
	}
	bad := 0
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if r >= 0xD800 && r < 0xE000 || unassigned(r) {
			continue
		}
		want, ok := py.Changed[fmt.Sprint(r)]
		if !ok {
			want = string(r)
		}
		if got := compat.ServiceName(string(r)); got != want {
			if bad++; bad <= 20 {
				t.Errorf("ServiceName(%U) = %q, Python %s gives %q", r, got, py.Version, want)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d code points differ (table from Unicode %s, Python's is %s)", bad, compat.PythonUnicodeVersion, py.Version)
	}
}

func TestServiceAliases(t *testing.T) {
	tests := []struct {
		name    string
		aliases []string
		want    []string
	}{
		{"EchoService", []string{"echo", "Echo2"}, []string{"ECHO", "ECHO2"}},
		{"CalcService", nil, []string{"CALC"}},
		{"VoidService", nil, []string{"VOID"}},
		{"SlaveService", nil, []string{"SLAVE"}},
		{"Service", nil, []string{""}},
		{"myservice", nil, []string{"MY"}}, // upper-cased first, then the suffix removed
		{"Calc", nil, []string{"CALC"}},
		{"ServiceDesk", nil, []string{"SERVICEDESK"}},
		{"Straße", []string{}, []string{"STRASSE"}},
		{"StraßeService", nil, []string{"STRASSE"}},
		{"ﬁleService", nil, []string{"FILE"}},
		{"X", []string{"straße", "ǅ"}, []string{"STRASSE", "Ǆ"}},
	}
	for _, tt := range tests {
		got := compat.ServiceAliases(tt.name, tt.aliases)
		if !slices.Equal(got, tt.want) {
			t.Errorf("ServiceAliases(%q, %q) = %q, want %q", tt.name, tt.aliases, got, tt.want)
		}
	}
	in := []string{"a"}
	compat.ServiceAliases("X", in)
	if in[0] != "a" {
		t.Errorf("ServiceAliases modified its argument: %q", in)
	}
}
