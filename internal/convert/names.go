package convert

import (
	"reflect"
	"strings"
	"sync"
	"unicode"
)

// PyName converts a Go identifier to the snake_case name Python users expect:
// GetStatus -> get_status, HTTPServer -> http_server, UserID -> user_id, V2 -> v2.
func PyName(goName string) string {
	rs := []rune(goName)
	var sb strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 {
				prev := rs[i-1]
				nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
				// "URLs": a lone s after an acronym is its plural, not a new word.
				if nextLower && rs[i+1] == 's' && (i+2 == len(rs) || unicode.IsUpper(rs[i+2])) {
					nextLower = false
				}
				if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
					sb.WriteByte('_')
				}
			}
			sb.WriteRune(unicode.ToLower(r))
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// FieldName returns the Python name of an exported struct field, the one gorpyc exposes it
// under: the name of its `rpyc:"name"` tag, else [PyName] of the Go name. ok is false for a
// field tagged `rpyc:"-"`. An empty tag name (`rpyc:",opt"`) keeps the default name.
func FieldName(f reflect.StructField) (name string, ok bool) {
	return FieldNameRenamed(f, nil)
}

// FieldNameRenamed is [FieldName] for a field of a type with an RPyCNames() method, which
// returned renames (Go name -> Python name, "" to hide): an `rpyc` tag with a name (or "-")
// wins, then the rename, then PyName of the Go name.
func FieldNameRenamed(f reflect.StructField, renames map[string]string) (name string, ok bool) {
	name, _, ok = FieldDecl(f, renames)
	return name, ok
}

// FieldDecl is [FieldNameRenamed] with the options of the field's declaration: the text after
// the name in its `rpyc:"name,options"` tag or in its RPyCNames() value (which has the syntax of
// a tag: "name,options", ",options" to keep the default name, "" or "-" to hide). opts is ""
// when there are none.
func FieldDecl(f reflect.StructField, renames map[string]string) (name, opts string, ok bool) {
	if tag, has := f.Tag.Lookup("rpyc"); has {
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" && opts == "" {
			return "", "", false
		}
		if name != "" || opts != "" {
			if name == "" {
				if r, has := renames[f.Name]; has {
					if name, _, ok = ParseDecl(r); !ok {
						return "", "", false
					}
				}
			}
			if name == "" {
				name = PyName(f.Name)
			}
			return name, opts, true
		}
	}
	if r, has := renames[f.Name]; has {
		name, opts, ok = ParseDecl(r)
		if ok && name == "" {
			name = PyName(f.Name)
		}
		return name, opts, ok
	}
	return PyName(f.Name), "", true
}

// ParseDecl splits a member declaration of the tag syntax, "name[,options]", as an RPyCNames()
// value holds it: ok is false for "" and "-" (the member is hidden); name is "" when only options
// are given (",public"): the caller's default name applies.
func ParseDecl(decl string) (name, opts string, ok bool) {
	if decl == "" || decl == "-" {
		return "", "", false
	}
	name, opts, _ = strings.Cut(decl, ",")
	return name, opts, true
}

// HasOption reports whether the comma-separated options opts contain opt. An option of the form
// key=value (default=...) takes the rest of the text, commas included, so nothing after it is
// an option.
func HasOption(opts, opt string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == opt {
			return true
		}
		if strings.Contains(o, "=") {
			return false
		}
	}
	return false
}

// OptionValue returns the value of the option key=value in opts: the text after "key=" up to the
// end of opts (a value may contain commas, so such an option comes last).
func OptionValue(opts, key string) (string, bool) {
	for opts != "" {
		var o string
		if strings.HasPrefix(opts, key+"=") {
			return opts[len(key)+1:], true
		}
		o, opts, _ = strings.Cut(opts, ",")
		if strings.Contains(o, "=") {
			return "", false
		}
	}
	return "", false
}

// field is a struct field that a Python value may fill.
type field struct {
	index  []int  // for FieldByIndex
	name   string // Python name
	goName string
}

// structInfo lists the fields of a struct type that received values fill, in order.
type structInfo struct {
	fields []field
	exact  map[string]int // Python name -> position in fields
	folded map[string]int // lower-cased Python name, Go name or PyName(Go name) -> position
}

var structCache sync.Map // reflect.Type -> *structInfo

// renamer is protocol.Names: a type that renames members for Python ("" hides one).
type renamer interface{ RPyCNames() map[string]string }

// infoOf returns the fillable fields of struct type t: exported, not embedded structs
// themselves (their promoted fields are listed), not hidden by an `rpyc:"-"` tag or by an
// RPyCNames() rename to "". A field is named by its rpyc tag, else its RPyCNames() rename,
// else PyName of its Go name.
func infoOf(t reflect.Type) *structInfo {
	if v, ok := structCache.Load(t); ok {
		return v.(*structInfo)
	}
	var renames map[string]string
	if n, ok := reflect.New(t).Interface().(renamer); ok {
		renames = n.RPyCNames()
	}
	si := &structInfo{exact: map[string]int{}, folded: map[string]int{}}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name, ok := FieldNameRenamed(f, renames)
		if !ok {
			continue
		}
		if _, taken := si.exact[name]; taken {
			continue
		}
		si.exact[name] = len(si.fields)
		si.fields = append(si.fields, field{index: f.Index, name: name, goName: f.Name})
	}
	// Case-insensitive aliases, after every exact name, so that an exact name always wins.
	for i, f := range si.fields {
		for _, alias := range []string{f.name, f.goName, PyName(f.goName)} {
			if _, taken := si.folded[strings.ToLower(alias)]; !taken {
				si.folded[strings.ToLower(alias)] = i
			}
		}
	}
	v, _ := structCache.LoadOrStore(t, si)
	return v.(*structInfo)
}

// lookup finds the field a dict key names: exactly, else ignoring case.
func (si *structInfo) lookup(key string) (field, bool) {
	i, ok := si.exact[key]
	if !ok {
		i, ok = si.folded[strings.ToLower(key)]
	}
	if !ok {
		return field{}, false
	}
	return si.fields[i], true
}
