package brine_test

import (
	"fmt"

	"github.com/gorpyc/rpyc/brine"
)

func ExampleDump() {
	b, err := brine.Dump(brine.Tuple{int64(1), int64(160), "héllo"})
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", b)
	// Output: 12 51 16 03 31 36 30 08 0e 06 68 c3 a9 6c 6c 6f
}

func ExampleLoad() {
	// A v5 GETROOT request: (MSG_REQUEST, seq 0, (HANDLE_GETROOT, (LABEL_VALUE, ())))
	v, err := brine.Load([]byte{0x12, 0x51, 0x50, 0x11, 0x53, 0x11, 0x51, 0x02})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%v\n", v)
	// Output: [1 0 [3 [1 []]]]
}

func ExampleAppend() {
	buf := make([]byte, 0, 64) // reuse one buffer for many values
	for _, v := range []any{nil, true, int64(-49), []byte("ab"), "ab"} {
		buf, _ = brine.Append(buf[:0], v)
		fmt.Printf("%-10s % x\n", fmt.Sprintf("%#v", v), buf)
	}
	// Output:
	// <nil>      00
	// true       03
	// -49        16 03 2d 34 39
	// []byte{0x61, 0x62} 0b 61 62
	// "ab"       08 0b 61 62
}

func ExampleDumpable() {
	fmt.Println(brine.Dumpable(brine.Tuple{int64(1), "a"}))
	fmt.Println(brine.Dumpable([]any{1, "a"})) // a Go slice is a Python list: sent by reference
	// Output:
	// true
	// false
}

func ExampleDecoder_borrowBytes() {
	// A frame buffer that the caller owns and will not reuse while the value is alive: a large
	// bytes value is then decoded without a copy.
	frame, _ := brine.Dump(brine.Tuple{"blob", make([]byte, 1<<20)})
	v, err := brine.Decoder{BorrowBytes: true}.Load(frame)
	if err != nil {
		panic(err)
	}
	blob := v.(brine.Tuple)[1].([]byte)
	fmt.Println(len(blob), &blob[0] == &frame[len(frame)-len(blob)])
	// Output: 1048576 true
}
