package channel_test

import (
	"bytes"
	"fmt"

	"github.com/gorpyc/rpyc/channel"
)

// A protocol-v5 GETROOT request is 8 bytes of payload; below the
// compression threshold it goes out raw: length, flag 0, payload, flusher.
func Example() {
	getRoot := []byte{0x12, 0x51, 0x50, 0x11, 0x53, 0x11, 0x51, 0x02}

	frame, err := channel.AppendFrame(nil, getRoot, channel.Config{})
	if err != nil {
		panic(err)
	}
	fmt.Printf("length:  % x\n", frame[:4])
	fmt.Printf("flag:    %v\n", channel.Flag(frame[4]))
	fmt.Printf("payload: % x\n", frame[channel.HeaderSize:len(frame)-1])
	fmt.Printf("flusher: %02x\n", frame[len(frame)-1])
	fmt.Printf("frame:   % x\n", frame)
	// Output:
	// length:  00 00 00 08
	// flag:    raw
	// payload: 12 51 50 11 53 11 51 02
	// flusher: 0a
	// frame:   00 00 00 08 00 12 51 50 11 53 11 51 02 0a
}

// Two Channels over an in-memory buffer: what one sends, the other receives.
// Payloads longer than 3000 bytes are compressed on the wire.
func ExampleChannel() {
	var wire bytes.Buffer
	ch := channel.New(&wire, channel.Config{})

	ch.Send([]byte("hello"))
	ch.Send(bytes.Repeat([]byte("x"), 5000))
	fmt.Printf("first frame: % x\n", wire.Bytes()[:11])
	fmt.Printf("second frame flag: %v\n", channel.Flag(wire.Bytes()[11+4]))

	for i := 0; i < 2; i++ {
		p, err := ch.Recv() // p is valid until the next Recv
		if err != nil {
			panic(err)
		}
		fmt.Println(len(p), string(p[:5]))
	}
	// Output:
	// first frame: 00 00 00 05 00 68 65 6c 6c 6f 0a
	// second frame flag: zlib
	// 5 hello
	// 5000 xxxxx
}

// ParseFrame walks frames that arrived coalesced in one buffer.
func ExampleParseFrame() {
	var buf []byte
	buf, _ = channel.AppendFrame(buf, []byte("one"), channel.Config{})
	buf, _ = channel.AppendFrame(buf, []byte("two"), channel.Config{})
	buf = append(buf, 0x00, 0x00) // start of a third frame

	for {
		p, n, err := channel.ParseFrame(buf, channel.Config{})
		if err != nil {
			fmt.Println("need more data:", err)
			break
		}
		fmt.Printf("%s (%d bytes on the wire)\n", p, n)
		buf = buf[n:]
	}
	// Output:
	// one (9 bytes on the wire)
	// two (9 bytes on the wire)
	// need more data: channel: 2 bytes, need 5 for a frame header: unexpected EOF
}

// SendParts sends a message made of a small header and a large body without
// first copying them into one payload (on a TCP or Unix socket the body goes
// to the kernel from where it is); the receiver keeps the payload past the
// next Recv with TakePayload instead of copying it.
func ExampleChannel_SendParts() {
	var wire bytes.Buffer
	ch := channel.New(&wire, channel.Config{DisableCompression: true})

	header := []byte("img:")
	body := bytes.Repeat([]byte{0xff}, 100_000)
	if err := ch.SendParts([][]byte{header, body}); err != nil {
		panic(err)
	}
	ch.Send([]byte("next"))

	p, err := ch.Recv()
	if err != nil {
		panic(err)
	}
	ch.TakePayload() // p stays valid after the next Recv
	next, _ := ch.Recv()
	fmt.Println(len(p), string(p[:4]), string(next))
	// Output:
	// 100004 img: next
}
