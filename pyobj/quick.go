package pyobj

import (
	"reflect"

	"github.com/gorpyc/rpyc/protocol"
)

var _ protocol.QuickObjects = Handler{}

// ServeQuick answers, in the connection's reader, the requests that run no code of the user's:
// getattr of a Go value without its own RPyCGetAttr (a method, a field, a protocol method such as
// keys), dir(), and the root's get_service_name() and get_service_aliases().
func (Handler) ServeQuick(c *protocol.Conn, req protocol.Request) (any, bool, error) {
	switch r := req.(type) {
	case *protocol.GetAttr:
		if _, custom := r.Obj.(interface {
			RPyCGetAttr(name string) (any, error)
		}); custom {
			return nil, false, nil
		}
		v, err := getAttr(c, r.Obj, r.Name)
		return v, true, err
	case *protocol.Dir:
		return dirOf(c, r.Obj), true, nil
	case *protocol.CallAttr:
		// The root's get_service_name() and get_service_aliases(), when the connection knows the
		// service's names (a server's always does): nothing of the user's runs.
		return quickServiceCall(c, r)
	}
	return nil, false, nil
}

// quickServiceCall answers root.get_service_name() and root.get_service_aliases() (without
// arguments, on a root that neither has its own RPyCGetAttr nor a member of that name) from
// Config.ServiceAliases; handled is false for any other call.
func quickServiceCall(c *protocol.Conn, r *protocol.CallAttr) (v any, handled bool, err error) {
	if _, custom := r.Obj.(attrGetter); custom || r.Obj == nil || len(r.Args) > 0 || len(r.Kwargs) > 0 {
		return nil, false, nil
	}
	cfg := c.Config()
	if len(cfg.ServiceAliases) == 0 {
		return nil, false, nil // derived from the root: RPyCServiceAliases may be the user's
	}
	kind, _, bare := resolve(c, r.Obj, infoFor(reflect.TypeOf(r.Obj)), r.Name)
	if kind != attrService {
		return nil, false, nil
	}
	if bare == "get_service_name" {
		return cfg.ServiceAliases[0], true, nil
	}
	return aliasTuple(cfg.ServiceAliases), true, nil
}
