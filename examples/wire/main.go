// Command wire sends hand-built RPyC requests to a Python rpyc server using only gorpyc's brine
// and channel packages, and prints every frame it sends and receives. It shows the wire format
// that the protocol package automates: GETROOT, then CALLATTR root.add(1, 2), then CLOSE.
//
//	go run ./examples/wire -addr 127.0.0.1:18861 -dialect v5   # rpyc 4.1 - 5.3 servers
//	go run ./examples/wire -addr 127.0.0.1:18861 -dialect v6   # rpyc 6.x servers
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/channel"
)

const (
	msgRequest = 1
	msgReply   = 2

	handleClose    = 2
	handleGetRoot  = 3
	handleCallAttr = 8

	labelValue    = 1
	labelTuple    = 2
	labelLocalRef = 3
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18861", "address of a Python rpyc server")
	dialect := flag.String("dialect", "v5", "message envelope: v5 (rpyc 4.1-5.3) or v6 (rpyc 6.x)")
	flag.Parse()
	if err := run(*addr, *dialect); err != nil {
		log.SetFlags(0)
		log.Fatalf("wire: %v", err)
	}
}

func run(addr, dialect string) error {
	conn, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	ch := channel.New(conn, channel.Config{})

	// seq 0: GETROOT () -> a reference to the service instance
	root, err := call(ch, dialect, 0, handleGetRoot, brine.Tuple{labelValue, brine.Tuple{}})
	if err != nil {
		return err
	}
	box := root.(brine.Tuple)
	idPack := box[1]
	fmt.Printf("root is a remote reference (label %v) with id_pack %v\n\n", box[0], idPack)

	// seq 1: CALLATTR (root, "add", (1, 2), ()) -> (LABEL_VALUE, 3)
	args := brine.Tuple{labelTuple, brine.Tuple{
		brine.Tuple{labelLocalRef, idPack},
		brine.Tuple{labelValue, "add"},
		brine.Tuple{labelValue, brine.Tuple{int64(1), int64(2)}},
		brine.Tuple{labelValue, brine.Tuple{}},
	}}
	sum, err := call(ch, dialect, 1, handleCallAttr, args)
	if err != nil {
		return err
	}
	fmt.Printf("root.add(1, 2) = %v\n\n", sum.(brine.Tuple)[1])

	// seq 2: CLOSE (); Python never replies to it
	payload, err := envelope(dialect, msgRequest, 2, brine.Tuple{int64(handleClose), brine.Tuple{labelValue, brine.Tuple{}}})
	if err != nil {
		return err
	}
	show("->", payload)
	return ch.Send(payload)
}

// call sends one request and returns the boxed result of its reply.
func call(ch *channel.Channel, dialect string, seq int64, handler int64, boxedArgs brine.Tuple) (any, error) {
	payload, err := envelope(dialect, msgRequest, seq, brine.Tuple{handler, boxedArgs})
	if err != nil {
		return nil, err
	}
	show("->", payload)
	if err := ch.Send(payload); err != nil {
		return nil, err
	}
	reply, err := ch.Recv()
	if err != nil {
		return nil, err
	}
	show("<-", reply)
	var msg brine.Tuple
	if dialect == "v6" {
		if len(reply) == 0 || reply[0] != msgReply {
			return nil, fmt.Errorf("expected a reply, got %x", reply)
		}
		v, err := brine.Load(reply[1:])
		if err != nil {
			return nil, err
		}
		msg = append(brine.Tuple{int64(msgReply)}, v.(brine.Tuple)...)
	} else {
		v, err := brine.Load(reply)
		if err != nil {
			return nil, err
		}
		msg = v.(brine.Tuple)
	}
	if msg[0] != int64(msgReply) {
		return nil, fmt.Errorf("peer raised an exception: %v", msg[2])
	}
	return msg[2], nil
}

// envelope encodes a message: v5 is brine (msg, seq, body); v6 is a raw msg byte + brine (seq, body).
func envelope(dialect string, msg, seq int64, body any) ([]byte, error) {
	if dialect == "v6" {
		return brine.Append([]byte{byte(msg)}, brine.Tuple{seq, body})
	}
	return brine.Dump(brine.Tuple{msg, seq, body})
}

func show(dir string, payload []byte) {
	frame, _ := channel.AppendFrame(nil, payload, channel.Config{})
	fmt.Fprintf(os.Stdout, "%s frame % x\n", dir, frame)
}
