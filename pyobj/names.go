package pyobj

import (
	"strings"
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
