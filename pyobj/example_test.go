package pyobj_test

import (
	"fmt"

	"github.com/gorpyc/rpyc/pyobj"
)

func ExamplePyName() {
	for _, n := range []string{"GetStatus", "HTTPServer", "UserID", "ListURLs", "V2"} {
		fmt.Println(n, "->", pyobj.PyName(n))
	}
	// Output:
	// GetStatus -> get_status
	// HTTPServer -> http_server
	// UserID -> user_id
	// ListURLs -> list_urls
	// V2 -> v2
}

func ExampleServiceAliases() {
	fmt.Println(pyobj.ServiceAliases(&KVService{}), pyobj.ServiceAliases(Calculator{}), pyobj.ServiceAliases(nil))
	// Output: [KV] [CALCULATOR] [VOID]
}
