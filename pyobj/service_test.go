package pyobj_test

import (
	"slices"
	"testing"

	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/pyobj"
)

type (
	StraßeService struct{}
	KVService     struct{}
	Calculator    struct{}
	ﬁleService    struct{}
	aliased       []string
)

func (a aliased) RPyCServiceAliases() []string { return a }

// TestServiceAliases checks that protocol derives a Go service's names with Python's rule, the
// one compat (and so the registry) applies.
func TestServiceAliases(t *testing.T) {
	shared := aliased{"straße", "kv"}
	for _, tc := range []struct {
		svc  any
		want []string
	}{
		{nil, []string{"VOID"}},
		{&StraßeService{}, []string{"STRASSE"}},
		{StraßeService{}, []string{"STRASSE"}},
		{&KVService{}, []string{"KV"}},
		{Calculator{}, []string{"CALCULATOR"}},
		{&ﬁleService{}, []string{"FILE"}},
		{shared, []string{"STRASSE", "KV"}},
		{aliased{}, []string{"ALIASED"}}, // no aliases: the type name, as Python's empty ALIASES
	} {
		if got := pyobj.ServiceAliases(tc.svc); !slices.Equal(got, tc.want) {
			t.Errorf("ServiceAliases(%T) = %q, want %q", tc.svc, got, tc.want)
		}
	}
	if got := pyobj.ServiceAliases(&StraßeService{}); !slices.Equal(got, compat.ServiceAliases("StraßeService", nil)) {
		t.Errorf("pyobj and compat disagree on StraßeService: %q", got)
	}
	if shared[0] != "straße" {
		t.Errorf("ServiceAliases modified the service's aliases: %q", shared)
	}
}
