package pyobj

import (
	"reflect"
	"strings"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/protocol"
)

// Aliaser is implemented by services that choose their own names (Python's SERVICE_NAME and
// ALIASES).
type Aliaser interface{ RPyCServiceAliases() []string }

// ServiceAliases derives a service's names as Python does from its class: RPyCServiceAliases()
// if implemented, else the Go type name without a trailing "Service", upper-cased
// (KVService -> "KV", Calculator -> "CALCULATOR"). A nil service is "VOID".
func ServiceAliases(svc any) []string {
	if svc == nil {
		return []string{"VOID"}
	}
	if a, ok := svc.(Aliaser); ok {
		out := a.RPyCServiceAliases()
		for i := range out {
			out[i] = strings.ToUpper(out[i])
		}
		return out
	}
	t := reflect.TypeOf(svc)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	name := strings.ToUpper(t.Name())
	if trimmed, ok := strings.CutSuffix(name, "SERVICE"); ok {
		name = trimmed
	}
	return []string{name}
}

// serviceMember answers get_service_name / get_service_aliases on the root, which every
// Python service has (exposed_get_service_name and exposed_get_service_aliases).
func serviceMember(c *protocol.Conn, name string) (any, bool) {
	aliases := c.Config().ServiceAliases
	if len(aliases) == 0 {
		aliases = ServiceAliases(c.LocalRoot())
	}
	switch name {
	case "get_service_name":
		return func() string { return aliases[0] }, true
	case "get_service_aliases":
		return func() brine.Tuple {
			t := make(brine.Tuple, len(aliases))
			for i, a := range aliases {
				t[i] = a
			}
			return t
		}, true
	}
	return nil, false
}
