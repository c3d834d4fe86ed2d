package pyobj

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/protocol"
)

var _ protocol.AttrChecker = Handler{}

// CheckAttr applies the connection's attribute access policy to obj's attribute name exactly as
// Python's Connection._check_attr does for a Python object (protocol.Conn.CheckAttrName), with
// what pyobj knows of the Go value:
//
//   - a Go type's exposed members (exported methods and fields, protocol methods such as keys
//     and read, the service's get_service_name) are attributes both under their name and under
//     the exposed prefix: Python's exposed_<name>. They are reachable with Python's default
//     configuration;
//   - public members (declared with the "public" option, see [Names]) and names starting with
//     "_" (renamed private members, dunders) are plain attributes: reachable when the policy
//     allows the name itself (allow_public_attrs, allow_all_attrs, or safe_attrs for dunders);
//   - a value with RPyCGetAttr decides its getattr itself, as a Python class with
//     _rpyc_getattr: no check is made;
//   - the service (the connection's root) refuses setattr and delattr with "access denied", as
//     Python's Service does whatever the configuration.
func (Handler) CheckAttr(c *protocol.Conn, obj any, name string, access protocol.AttrAccess) (string, error) {
	switch access {
	case protocol.AccessGet:
		if _, ok := obj.(attrGetter); ok {
			return name, nil
		}
	default:
		if sameValue(obj, c.LocalRoot()) {
			return "", fmt.Errorf("%w: access denied", protocol.AttributeError)
		}
	}
	if _, foreign := obj.(protocol.Proxy); foreign {
		// Another connection's object, forwarded to its owner, who applies its own policy:
		// here, only what the name alone says (a public name may be exposed there).
		return c.CheckAttrName(obj, name, access, foreignExposed)
	}
	if (name == "get_service_name" || name == "get_service_aliases") && sameValue(obj, c.LocalRoot()) {
		return c.CheckAttrName(obj, name, access, serviceExposed)
	}
	return c.CheckAttrName(obj, name, access, hasExposed)
}

// foreignExposed assumes that a public name of a forwarded object may be exposed by its owner.
func foreignExposed(_ any, name string) bool { return !strings.HasPrefix(name, "_") }

// serviceExposed: the root's get_service_name and get_service_aliases are exposed, as
// Python's Service has exposed_get_service_name.
func serviceExposed(any, string) bool { return true }

// hasExposed reports whether obj has name as an exposed attribute: Python's
// hasattr(obj, exposed_prefix + name).
func hasExposed(obj any, name string) bool {
	if obj == nil {
		return false
	}
	ti := infoFor(reflect.TypeOf(obj))
	if m, ok := ti.members[name]; ok {
		return m.exposed
	}
	return ti.proto[name] && protoExposed(name)
}

// objectDunders are the attributes every Python object lists in dir() (CPython 3.11's object).
var objectDunders = []string{
	"__class__", "__delattr__", "__dir__", "__doc__", "__eq__", "__format__", "__ge__",
	"__getattribute__", "__getstate__", "__gt__", "__hash__", "__init__", "__init_subclass__",
	"__le__", "__lt__", "__ne__", "__new__", "__reduce__", "__reduce_ex__", "__repr__",
	"__setattr__", "__sizeof__", "__str__", "__subclasshook__",
}

// dirOf lists a Go value's attributes as Python's dir() would for the equivalent object: its
// members, exposed ones also under the exposed prefix (as a Python class lists its exposed_
// methods), its protocol methods, get_service_name and get_service_aliases on the root, and
// the attributes of every Python object; sorted.
func dirOf(c *protocol.Conn, obj any) brine.Tuple {
	if obj == nil {
		return brine.Tuple{}
	}
	prefix := exposedPrefixOf(c)
	seen := map[string]bool{}
	add := func(name string, exposed bool) {
		seen[name] = true
		if exposed && prefix != "" {
			seen[prefix+name] = true
		}
	}
	ti := infoFor(reflect.TypeOf(obj))
	if !ti.custom {
		for _, m := range ti.members {
			add(m.name, m.exposed)
		}
		for n := range ti.proto {
			add(n, protoExposed(n))
		}
	}
	if c != nil && sameValue(obj, c.LocalRoot()) {
		add("get_service_name", true)
		add("get_service_aliases", true)
	}
	for _, n := range objectDunders {
		seen[n] = true
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	t := make(brine.Tuple, len(names))
	for i, n := range names {
		t[i] = n
	}
	return t
}
