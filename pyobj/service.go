package pyobj

import (
	"reflect"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/protocol"
)

// Aliaser is implemented by services that choose their own names (Python's SERVICE_NAME and
// ALIASES).
type Aliaser interface{ RPyCServiceAliases() []string }

// ServiceAliases derives a service's names as Python does from its class
// ([compat.ServiceAliases]): the names RPyCServiceAliases() returns if implemented and not
// empty, else the Go type name, both upper-cased with Python's str.upper()
// ([compat.ServiceName]) and a trailing "SERVICE" removed from the type name (KVService -> "KV",
// Calculator -> "CALCULATOR", StraßeService -> "STRASSE"). A nil service is "VOID". The result
// is a new slice.
func ServiceAliases(svc any) []string {
	if svc == nil {
		return []string{"VOID"}
	}
	var aliases []string
	if a, ok := svc.(Aliaser); ok {
		aliases = a.RPyCServiceAliases()
	}
	t := reflect.TypeOf(svc)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return compat.ServiceAliases(t.Name(), aliases)
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
		return func() brine.Tuple { return aliasTuple(aliases) }, true
	}
	return nil, false
}

// aliasTuple is what get_service_aliases() returns: the aliases as a tuple of str.
func aliasTuple(aliases []string) brine.Tuple {
	t := make(brine.Tuple, len(aliases))
	for i, a := range aliases {
		t[i] = a
	}
	return t
}
