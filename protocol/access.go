package protocol

import (
	"fmt"
	"strings"

	"github.com/gorpyc/rpyc/brine"
)

// AttrAccess is the kind of attribute request being checked: Python's permission keys
// allow_getattr (GETATTR, CALLATTR), allow_setattr and allow_delattr.
type AttrAccess int

// Kinds of attribute access.
const (
	AccessGet AttrAccess = iota // getattr, and CALLATTR's getattr: Config.AllowGetAttr
	AccessSet                   // setattr: Config.AllowSetAttr
	AccessDel                   // delattr: Config.AllowDelAttr
)

// AttrChecker is implemented by an [Objects] that applies the attribute access policy itself,
// looking at the object as Python's Connection._check_attr does (whether it has an exposed
// attribute of that name, whether it overrides attribute access as a Service overrides
// _rpyc_setattr). pyobj.Handler implements it. The connection then calls CheckAttr for every
// GETATTR, SETATTR, DELATTR and CALLATTR instead of its own check (which only looks at the name),
// and hands the name CheckAttr returns on in the request. A refusal should be an AttributeError,
// worded as Python's: "cannot access 'name'".
type AttrChecker interface {
	CheckAttr(c *Conn, obj any, name string, access AttrAccess) (string, error)
}

// ExposedPrefix returns the connection's exposed prefix (Config.ExposedPrefix, "exposed_").
func (c *Conn) ExposedPrefix() string { return c.cfg.ExposedPrefix }

// CheckAttrName applies the connection's access policy to the attribute name of obj as Python's
// Connection._check_attr does, for an [AttrChecker]: the permission of access must be on (else
// AttributeError "cannot access 'name'"); then the name is allowed if it is plain (allow_all_attrs;
// allow_exposed_attrs and the name starts with the exposed prefix; allow_safe_attrs and it is
// one of SafeAttrs; allow_public_attrs and it does not start with "_"), or if exposed reports
// that obj has it as an exposed attribute (Python: hasattr(obj, exposed_prefix + name)) while
// allow_exposed_attrs is on. exposed may be nil (no exposed attributes). The name returned is
// name itself: the checker's objects answer an exposed attribute under its bare name too.
func (c *Conn) CheckAttrName(obj any, name string, access AttrAccess, exposed func(obj any, name string) bool) (string, error) {
	cfg := &c.cfg
	perm := cfg.AllowGetAttr
	switch access {
	case AccessSet:
		perm = cfg.AllowSetAttr
	case AccessDel:
		perm = cfg.AllowDelAttr
	}
	if perm {
		if cfg.AllowAllAttrs ||
			cfg.AllowExposedAttrs && strings.HasPrefix(name, cfg.ExposedPrefix) ||
			cfg.AllowSafeAttrs && cfg.SafeAttrs[name] ||
			cfg.AllowPublicAttrs && !strings.HasPrefix(name, "_") {
			return name, nil
		}
		if cfg.AllowExposedAttrs && cfg.ExposedPrefix != "" && exposed != nil && exposed(obj, name) {
			return name, nil
		}
	}
	return "", fmt.Errorf("%w: cannot access %s", AttributeError, brine.Repr(name))
}
