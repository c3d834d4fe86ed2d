package netref_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net"

	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/netref"
	"github.com/gorpyc/rpyc/protocol"
	"github.com/gorpyc/rpyc/pyobj"
)

// Inventory is served by one gorpyc peer and used through proxies by the other, as a Python
// service would be.
type Inventory struct {
	Items map[string]int
}

// Names lists the items in order.
func (inv *Inventory) Names() []string { return []string{"apple", "pear"} }

// Take removes n items and fails like Python's KeyError for an unknown one.
func (inv *Inventory) Take(name string, n int) (int, error) {
	left, ok := inv.Items[name]
	if !ok {
		return 0, fmt.Errorf("no %s: %w", name, protocol.KeyError)
	}
	inv.Items[name] = left - n
	return left - n, nil
}

func connect(root any) (*protocol.Conn, func()) {
	a, b := net.Pipe()
	server := protocol.New(channel.New(a, channel.Config{}), root, protocol.DefaultConfig(),
		protocol.WithObjects(pyobj.Handler{}))
	client, _ := protocol.NewClient(context.Background(), channel.New(b, channel.Config{}), nil,
		protocol.DefaultConfig(), protocol.WithObjects(pyobj.Handler{}))
	return client, func() { client.Close(); server.Close() }
}

func Example() {
	conn, done := connect(&Inventory{Items: map[string]int{"apple": 3, "pear": 1}})
	defer done()
	ctx := context.Background()
	root, _ := netref.Root(ctx, conn)

	left, err := netref.As[int](root.CallMethod(ctx, "take", "apple", 2)) // root.take("apple", 2)
	fmt.Println(left, err)

	_, err = root.CallMethod(ctx, "take", "plum", 1)
	var re *protocol.RemoteError
	fmt.Println(errors.Is(err, protocol.KeyError), errors.As(err, &re) && re.Name == "KeyError")

	items, _ := root.GetAttr(ctx, "items") // a Go map travels by reference: a proxy
	ref := items.(*netref.Ref)
	n, _ := ref.Len(ctx)
	pears, _ := netref.As[int](ref.GetItem(ctx, "pear"))
	fmt.Println(ref.TypeName(), n, pears)

	names, _ := netref.As[[]string](root.CallMethod(ctx, "names"))
	fmt.Println(names)
	// Output:
	// 1 <nil>
	// true true
	// builtins.dict 2 1
	// [apple pear]
}

// CountTo yields 1 to n.
func (inv *Inventory) CountTo(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := 1; i <= n; i++ {
			if !yield(i) {
				return
			}
		}
	}
}

// Iter is Python's for loop over a remote iterable: one __iter__, then BUFFITER batches.
func ExampleRef_Iter() {
	conn, done := connect(&Inventory{})
	defer done()
	ctx := context.Background()
	root, _ := netref.Root(ctx, conn)
	seq, err := root.CallMethod(ctx, "count_to", 3)
	if err != nil {
		fmt.Println(err)
		return
	}
	for v, err := range seq.(*netref.Ref).Iter(ctx) {
		fmt.Println(v, err)
	}
	// Output:
	// 1 <nil>
	// 2 <nil>
	// 3 <nil>
}
