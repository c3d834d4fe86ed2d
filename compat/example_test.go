package compat_test

import (
	"fmt"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/compat"
)

// The same GETROOT request in both envelopes, and how a server tells them apart.
func ExampleDialect_AppendMessage() {
	body := brine.Tuple{int64(compat.HandleGetRoot), brine.Tuple{int64(compat.LabelValue), brine.Tuple{}}}
	for _, d := range []compat.Dialect{compat.V5, compat.V6} {
		msg, _ := d.AppendMessage(nil, compat.MsgRequest, 0, body)
		detected, _ := compat.Detect(msg)
		fmt.Printf("%v: % x (detected %v)\n", d, msg, detected)
	}
	// Output:
	// v5: 12 51 50 11 53 11 51 02 (detected v5)
	// v6: 01 11 50 11 53 11 51 02 (detected v6)
}

func ExampleDialect_ParseMessage() {
	msg, seq, body, err := compat.V6.ParseMessage([]byte{0x02, 0x11, 0x53, 0x11, 0x51, 0x53})
	fmt.Println(msg, seq, brine.Repr(body), err)
	// Output: MSG_REPLY 3 (1, 3) <nil>
}
