package classic

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/internal/convert"
	"github.com/gorpyc/rpyc/netref"
	"github.com/gorpyc/rpyc/pyobj"
)

// assign stores the value-model value v into dst, converting as [ObtainAs] documents. path names
// the position in the value for error messages ("value[3].name").
func assign(dst reflect.Value, v any, path string) error {
	t := dst.Type()
	fail := func(why string) error {
		if why != "" {
			why = ": " + why
		}
		return fmt.Errorf("%w: %s: Python %s to %s%s", netref.ErrConvert, path, pyType(v), t, why)
	}
	if v == nil {
		switch t.Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map:
			dst.SetZero()
			return nil
		}
		return fail("")
	}
	rv := reflect.ValueOf(v)
	if rv.Type().AssignableTo(t) {
		dst.Set(rv)
		return nil
	}
	if convert.IsNumberKind(t.Kind()) {
		ok, err := convert.Number(dst, v)
		switch {
		case !ok:
			return fail("")
		case err != nil:
			return fail(err.Error())
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		if err := assign(p.Elem(), v, path); err != nil {
			return err
		}
		dst.Set(p)
		return nil
	case reflect.Bool:
		if b, ok := v.(bool); ok {
			dst.SetBool(b)
			return nil
		}
	case reflect.String:
		switch x := v.(type) {
		case string:
			dst.SetString(x)
			return nil
		case Decimal:
			dst.SetString(string(x))
			return nil
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			switch x := v.(type) {
			case []byte:
				dst.SetBytes(append([]byte(nil), x...))
				return nil
			case ByteArray:
				dst.SetBytes(append([]byte(nil), x...))
				return nil
			}
		}
		items, ok := sequence(v)
		if !ok {
			return fail("")
		}
		s := reflect.MakeSlice(t, len(items), len(items))
		for i, it := range items {
			if err := assign(s.Index(i), it, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		dst.Set(s)
		return nil
	case reflect.Array:
		items, ok := sequence(v)
		if !ok {
			if b, isBytes := v.([]byte); isBytes && t.Elem().Kind() == reflect.Uint8 {
				items = make([]any, len(b))
				for i, c := range b {
					items[i] = int64(c)
				}
				ok = true
			}
		}
		if !ok {
			return fail("")
		}
		if len(items) != t.Len() {
			return fail(fmt.Sprintf("%d items for %d", len(items), t.Len()))
		}
		for i, it := range items {
			if err := assign(dst.Index(i), it, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		d, ok := v.(Dict)
		if !ok {
			return fail("")
		}
		m := reflect.MakeMapWithSize(t, len(d))
		for _, it := range d {
			k := reflect.New(t.Key()).Elem()
			kp := fmt.Sprintf("%s key %s", path, pyShort(it.Key))
			if err := assign(k, it.Key, kp); err != nil {
				return err
			}
			e := reflect.New(t.Elem()).Elem()
			if err := assign(e, it.Value, fmt.Sprintf("%s[%s]", path, pyShort(it.Key))); err != nil {
				return err
			}
			m.SetMapIndex(k, e)
		}
		dst.Set(m)
		return nil
	case reflect.Struct:
		d, ok := v.(Dict)
		if !ok {
			return fail("")
		}
		return assignStruct(dst, d, path)
	}
	return fail("")
}

// sequence returns the items of a list, tuple, set or frozenset.
func sequence(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case brine.Tuple:
		return x, true
	case Set:
		return x, true
	case brine.FrozenSet:
		return x, true
	}
	return nil, false
}

// assignStruct fills a struct's fields from a dict with str keys.
func assignStruct(dst reflect.Value, d Dict, path string) error {
	fields := map[string][]int{}
	folded := map[string][]int{}
	for _, f := range reflect.VisibleFields(dst.Type()) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name, ok := fieldName(f)
		if !ok {
			continue
		}
		fields[name] = f.Index
		for _, alias := range []string{name, f.Name, pyobj.PyName(f.Name)} {
			if _, taken := folded[strings.ToLower(alias)]; !taken {
				folded[strings.ToLower(alias)] = f.Index
			}
		}
	}
	for _, it := range d {
		key, ok := it.Key.(string)
		if !ok {
			return fmt.Errorf("%w: %s: dict key %s is not a str, cannot fill %s", netref.ErrConvert, path, pyShort(it.Key), dst.Type())
		}
		idx, ok := fields[key]
		if !ok {
			idx, ok = folded[strings.ToLower(key)]
		}
		if !ok {
			continue
		}
		f, err := dst.FieldByIndexErr(idx)
		if err != nil {
			// A field promoted through a nil embedded pointer: allocate the pointer.
			f = fieldAlloc(dst, idx)
		}
		if err := assign(f, it.Value, path+"."+key); err != nil {
			return err
		}
	}
	return nil
}

func fieldAlloc(v reflect.Value, idx []int) reflect.Value {
	for i, x := range idx {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

// pyType names the Python type of a value-model value, for errors.
func pyType(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case ByteArray:
		return "bytearray"
	case []any:
		return "list"
	case Dict:
		return "dict"
	case Set:
		return "set"
	case Decimal:
		return "Decimal"
	case Date:
		return "date"
	case TimeOfDay:
		return "time"
	case *netref.Ref:
		return "remote " + x.TypeName()
	}
	if n := brine.TypeName(v); n != "" {
		return n
	}
	return fmt.Sprintf("%T", v)
}

func pyShort(v any) string {
	s := fmt.Sprintf("%v", v)
	if str, ok := v.(string); ok {
		s = fmt.Sprintf("%q", str)
	}
	if len(s) > 30 {
		s = s[:27] + "..."
	}
	return s
}
