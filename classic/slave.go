package classic

import (
	"fmt"
	"strings"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/protocol"
)

// slave is the root a Client serves to its peer. Python's classic connections are symmetric (a
// ClassicService is master and slave at once) and rpyc_classic's stdio mode, which runs
// ClassicService, fetches its peer's getmodule, eval, execute and namespace as soon as it starts,
// and exits if they are missing. This root answers those: getmodule returns a
// placeholder module object for the two modules rpyc 5.3+ imports on connect (builtins and
// importlib.util) and raises ModuleNotFoundError for any other; namespace is a Go map; eval and
// execute raise NotImplementedError, because there is no Python interpreter on the Go side.
type slave struct {
	// Namespace is served as the peer's conn.namespace.
	Namespace map[string]any
}

// NewSlaveRoot returns the root a [Client] serves to its peer: enough of a classic SlaveService
// for a Python ClassicService peer to finish connecting. Serve it (rpyc.WithService) when you
// connect to a classic peer yourself and pass the connection to [New].
func NewSlaveRoot() any { return newSlave() }

func newSlave() *slave { return &slave{Namespace: map[string]any{}} }

// GoModule is what the Go side's getmodule returns to a Python peer: a named placeholder with no
// attributes, since Go has no Python modules to give.
type GoModule struct {
	// Name is the module name the peer asked for.
	Name string
}

// String returns "<gorpyc placeholder for module NAME>".
func (m *GoModule) String() string { return "<gorpyc placeholder for module " + m.Name + ">" }

// placeholderModules are the modules a Python ClassicService peer imports from us while it
// connects (rpyc 5.3+ ModuleNamespace); it must get something for them.
var placeholderModules = map[string]bool{"builtins": true, "importlib.util": true}

// Getmodule answers the peer's getmodule(name); name is a str or, as rpyc 5.3+ allows, a tuple
// of str joined with dots. Other names than the placeholders raise ModuleNotFoundError, which
// Python's ModuleNamespace relies on (it turns attribute lookups into imports).
func (s *slave) Getmodule(name any) (*GoModule, error) {
	var full string
	switch x := name.(type) {
	case string:
		full = x
	case brine.Tuple:
		parts := make([]string, len(x))
		for i, p := range x {
			str, ok := p.(string)
			if !ok {
				return nil, fmt.Errorf("%w: module name parts must be str", protocol.TypeError)
			}
			parts[i] = str
		}
		full = strings.Join(parts, ".")
	default:
		return nil, fmt.Errorf("%w: module name must be a str", protocol.TypeError)
	}
	if !placeholderModules[full] {
		return nil, fmt.Errorf("%w: no module named %q on the Go side of a classic connection", protocol.ModuleNotFoundError, full)
	}
	return &GoModule{Name: full}, nil
}

// Eval refuses: the Go side has no Python interpreter.
func (s *slave) Eval(text string) (any, error) {
	return nil, fmt.Errorf("%w: the Go side of a classic connection cannot evaluate Python", protocol.NotImplementedError)
}

// Execute refuses: the Go side has no Python interpreter.
func (s *slave) Execute(text string) error {
	return fmt.Errorf("%w: the Go side of a classic connection cannot execute Python", protocol.NotImplementedError)
}
