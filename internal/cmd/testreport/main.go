// Command testreport reads `go test -json` on standard input and prints what `make test` shows:
// the package result lines, the output of failed tests, a matrix of every interop test against
// each Python rpyc peer (subtests named rpyc-<version>), and a closing "N passed, N failed, N
// skipped" line. It exits 1 if any test or package failed, or if an interop test ran against
// fewer peers than the others.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

var peerRE = regexp.MustCompile(`^(.*?)/(rpyc-[0-9][0-9.]*)(/|$)`)

func main() {
	os.Exit(run(os.Stdin, os.Stdout))
}

func run(in io.Reader, out io.Writer) int {
	var passed, failed, skipped int
	outputs := map[string][]string{} // package/test -> output lines
	var failedTests, skippedTests []string
	var pkgLines []string
	pkgFailed := false
	// interop[test][peer] = result of the peer subtest
	interop := map[string]map[string]string{}
	peers := map[string]bool{}

	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil {
			fmt.Fprintln(out, string(line)) // build output and the like
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			if e.Test != "" {
				outputs[key] = append(outputs[key], e.Output)
			} else if strings.HasPrefix(e.Output, "FAIL") || strings.Contains(e.Output, "[build failed]") ||
				strings.Contains(e.Output, "[setup failed]") {
				outputs[key] = append(outputs[key], e.Output)
			}
		case "pass", "fail", "skip":
			if e.Test == "" {
				status := map[string]string{"pass": "ok  ", "fail": "FAIL", "skip": "?   "}[e.Action]
				if e.Action == "fail" {
					pkgFailed = true
					for _, l := range outputs[key] {
						fmt.Fprint(out, l)
					}
				}
				pkgLines = append(pkgLines, fmt.Sprintf("%s\t%s\t%.1fs", status, e.Package, e.Elapsed))
				continue
			}
			if m := peerRE.FindStringSubmatch(e.Test); m != nil {
				if m[3] == "" { // the peer subtest itself
					pkg := strings.TrimPrefix(strings.TrimPrefix(e.Package, "github.com/gorpyc/rpyc"), "/")
					if pkg == "" {
						pkg = "rpyc"
					}
					parent := pkg + " " + m[1]
					if interop[parent] == nil {
						interop[parent] = map[string]string{}
					}
					interop[parent][m[2]] = e.Action
					peers[m[2]] = true
				}
			}
			if strings.Contains(e.Test, "/") && e.Action != "fail" {
				continue // count top-level tests and failing subtests only
			}
			switch e.Action {
			case "pass":
				passed++
			case "skip":
				skipped++
				skippedTests = append(skippedTests, key)
			case "fail":
				failed++
				failedTests = append(failedTests, key)
			}
		}
	}
	for _, t := range failedTests {
		fmt.Fprintf(out, "--- FAIL: %s\n", t)
		for _, l := range outputs[t] {
			fmt.Fprint(out, l)
		}
	}
	for _, l := range pkgLines {
		fmt.Fprintln(out, l)
	}

	peerList := make([]string, 0, len(peers))
	for p := range peers {
		peerList = append(peerList, p)
	}
	sort.Strings(peerList)
	tests := make([]string, 0, len(interop))
	for t := range interop {
		tests = append(tests, t)
	}
	sort.Strings(tests)
	incomplete := 0
	if len(tests) > 0 {
		fmt.Fprintf(out, "\ninterop tests against real Python rpyc (%d tests x %s):\n", len(tests), strings.Join(peerList, ", "))
		for _, t := range tests {
			var cells []string
			for _, p := range peerList {
				r := interop[t][p]
				if r == "" {
					r = "MISSING"
					incomplete++
				}
				cells = append(cells, fmt.Sprintf("%s %s", p, strings.ToUpper(r)))
			}
			fmt.Fprintf(out, "  %-60s %s\n", t, strings.Join(cells, "  "))
		}
	}
	for _, t := range skippedTests {
		fmt.Fprintf(out, "skipped: %s: %s\n", t, skipReason(outputs[t]))
	}
	fmt.Fprintf(out, "\n%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if failed > 0 || pkgFailed || incomplete > 0 {
		if incomplete > 0 {
			fmt.Fprintf(out, "testreport: %d interop results missing for some peer\n", incomplete)
		}
		return 1
	}
	return 0
}

// skipReason returns what a skipped test said last before its "--- SKIP" line (its t.Skip
// message), trimmed to one line.
func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "--- SKIP") || strings.HasPrefix(l, "=== ") {
			continue
		}
		return l
	}
	return "(no message)"
}
