package pyobj

import "github.com/gorpyc/rpyc/internal/convert"

// PyName converts a Go identifier to the snake_case name Python users expect:
// GetStatus -> get_status, HTTPServer -> http_server, UserID -> user_id, V2 -> v2.
func PyName(goName string) string { return convert.PyName(goName) }
