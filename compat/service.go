package compat

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// ServiceName upper-cases s the way rpyc derives service names: with Python's str.upper(),
// which every Python rpyc version applies to a service's class name and ALIASES, and which a
// Python registry applies to the names it is asked to register and to look up. It maps rune by
// rune with Unicode's full case mappings, so that one rune may become several: "straße" becomes
// "STRASSE" and "ﬁle" becomes "FILE", where Go's strings.ToUpper keeps "ß" and "ﬁ". The
// one-to-several mappings come from the Python that generated the table (Unicode
// [PythonUnicodeVersion]); the others are Go's unicode.ToUpper. Turkish dotless ı becomes "I",
// Greek final ς becomes "Σ", titlecase "ǅ" becomes "Ǆ", and digits, "_" and other uncased runes
// are kept, as in Python.
func ServiceName(s string) string {
	if isASCII(s) {
		return strings.ToUpper(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if up, ok := upperSpecial[r]; ok {
			b.WriteString(up)
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// PythonUnicodeVersion is the Unicode version of the Python whose str.upper() one-to-several
// mappings [ServiceName] uses.
const PythonUnicodeVersion = pyUpperUnicode

// ServiceAliases applies Python rpyc's rule for a service's names (Service.get_service_aliases)
// to a class name and its explicit aliases: the aliases upper-cased with [ServiceName] if there
// are any, otherwise the class name upper-cased with a trailing "SERVICE" removed. So
// ("EchoService", nil) gives ["ECHO"], ("Calc", []string{"calc", "Calc2"}) gives
// ["CALC", "CALC2"], ("myservice", nil) gives ["MY"] (upper-cased first) and the bare "Service"
// gives [""]. The first name is the service's name (get_service_name). The result is a new
// slice; aliases is not modified.
func ServiceAliases(className string, aliases []string) []string {
	if len(aliases) > 0 {
		out := make([]string, len(aliases))
		for i, a := range aliases {
			out[i] = ServiceName(a)
		}
		return out
	}
	n, _ := strings.CutSuffix(ServiceName(className), "SERVICE")
	return []string{n}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
