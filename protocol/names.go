package protocol

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
