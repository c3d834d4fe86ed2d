package main

import (
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	in := `{"Action":"pass","Package":"github.com/gorpyc/rpyc/x","Test":"TestA/rpyc-5.3.0"}
{"Action":"pass","Package":"github.com/gorpyc/rpyc/x","Test":"TestA/rpyc-6.0.1"}
{"Action":"pass","Package":"github.com/gorpyc/rpyc/x","Test":"TestA"}
{"Action":"pass","Package":"github.com/gorpyc/rpyc/x","Test":"TestB/udp/rpyc-5.3.0"}
{"Action":"output","Package":"github.com/gorpyc/rpyc/x","Test":"TestC","Output":"boom\n"}
{"Action":"fail","Package":"github.com/gorpyc/rpyc/x","Test":"TestC"}
{"Action":"skip","Package":"github.com/gorpyc/rpyc/x","Test":"TestD"}
{"Action":"fail","Package":"github.com/gorpyc/rpyc/x","Elapsed":1.5}
`
	var out strings.Builder
	code := run(strings.NewReader(in), &out)
	got := out.String()
	for _, want := range []string{
		"--- FAIL: github.com/gorpyc/rpyc/x TestC\nboom\n",
		"FAIL\tgithub.com/gorpyc/rpyc/x\t1.5s",
		"x TestA", "rpyc-5.3.0 PASS  rpyc-6.0.1 PASS",
		"x TestB/udp", "rpyc-6.0.1 MISSING",
		"\n1 passed, 1 failed, 1 skipped\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	out.Reset()
	if code := run(strings.NewReader(`{"Action":"pass","Package":"p","Test":"T"}`+"\n"), &out); code != 0 {
		t.Errorf("exit code %d for a passing run:\n%s", code, out.String())
	}
}
