package pyobj

import "github.com/gorpyc/rpyc/protocol"

var _ protocol.QuickObjects = Handler{}

// ServeQuick answers, in the connection's reader, the requests that run no code of the user's:
// getattr of a Go value without its own RPyCGetAttr (a method, a field, a protocol method such as
// keys) and dir().
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
	}
	return nil, false, nil
}
