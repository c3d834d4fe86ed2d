package sshtunnel_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/classic"
	"github.com/gorpyc/rpyc/sshtunnel"
)

// Connect to an rpyc service listening on port 18861 of buildhost's loopback, logging in as
// "me" with the keys of ssh-agent or ~/.ssh and checking buildhost's key in ~/.ssh/known_hosts:
// Python's rpyc.ssh_connect(SshMachine("buildhost", user="me"), 18861).
func ExampleConnect() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := sshtunnel.Connect(ctx, sshtunnel.Config{Host: "me@buildhost"}, 18861)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close() // also logs out
	root, err := conn.Root(ctx)
	if err != nil {
		log.Fatal(err)
	}
	sum, err := rpyc.As[int](root.CallMethod(ctx, "add", 1, 2))
	fmt.Println(sum, err)
}

// One SSH login for several connections, reached through a jump host, with a given key.
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tunnel, err := sshtunnel.Dial(ctx, sshtunnel.Config{
		Host:     "me@db.internal:22",
		KeyFiles: []string{"/home/me/.ssh/deploy_ed25519"},
		Jump:     &sshtunnel.Config{Host: "me@bastion.example.com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer tunnel.Close() // closes every connection below
	svc, err := tunnel.Connect(ctx, 18861, rpyc.WithRequestTimeout(time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close()
	py, err := tunnel.ConnectClassic(ctx, 0) // rpyc_classic on 18812
	if err != nil {
		log.Fatal(err)
	}
	defer py.Close()
	fmt.Println(classic.EvalAs[string](ctx, py, "__import__('socket').gethostname()"))
}
