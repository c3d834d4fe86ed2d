package etcdstore_test

import (
	"context"
	"errors"
	"log"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gorpyc/rpyc/registry"
	"github.com/gorpyc/rpyc/registry/etcdstore"
)

// A registry replica whose registrations live in a three-member etcd cluster: run it on
// several hosts with the same Prefix, and each answers every Python and Go client with every
// registration. (The rpyc-registry command does this with --backend etcd://...)
func ExampleNew() {
	cl, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{"10.0.0.1:2379", "10.0.0.2:2379", "10.0.0.3:2379"},
		DialTimeout: 5 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, err := etcdstore.New(ctx, cl, etcdstore.Config{Prefix: "/rpyc-registry", PruneTimeout: 240 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close() // after the server
	s := &registry.Server{Store: store, AllowListing: true}
	if err := s.ListenAndServe(); !errors.Is(err, registry.ErrServerClosed) {
		log.Fatal(err)
	}
}
