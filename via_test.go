//go:build unix

package rpyc_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/internal/interop"
)

// TestInteropConnectVia: ConnectVia finds each Python server's dialect over the streams its
// opener returns: one stream for a 5.x server; two the first time for a 6.x server (the refused
// probe's stream is closed), then one, the endpoint's dialect being remembered. An opener's
// error is returned wrapped.
func TestInteropConnectVia(t *testing.T) {
	for _, p := range interop.Peers(t) {
		t.Run(p.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			addr, err := p.Start(t, "test_service.py").WaitListening(20 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			want, firstOpens := compat.V5, 1
			if strings.HasPrefix(p.Version, "6.") {
				want, firstOpens = compat.V6, 2
			}
			endpoint := "via-test://" + p.Name + "/" + addr // an endpoint no other test names
			for i, opens := range []int{firstOpens, 1} {
				n := 0
				conn, err := rpyc.ConnectVia(ctx, endpoint, func(ctx context.Context) (io.ReadWriteCloser, error) {
					n++
					var d net.Dialer
					return d.DialContext(ctx, "tcp", addr)
				})
				if err != nil {
					t.Fatal(err)
				}
				root, err := conn.Root(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if s, err := rpyc.As[int](root.CallMethod(ctx, "add", 1, 2)); err != nil || s != 3 {
					t.Errorf("add = %v, %v", s, err)
				}
				conn.Close()
				if conn.Dialect() != want || n != opens {
					t.Errorf("connect %d: dialect %v after %d streams, want %v after %d", i, conn.Dialect(), n, want, opens)
				}
			}
			refused := errors.New("no route")
			_, err = rpyc.ConnectVia(ctx, endpoint, func(context.Context) (io.ReadWriteCloser, error) { return nil, refused })
			if !errors.Is(err, refused) || !strings.Contains(err.Error(), endpoint) {
				t.Errorf("opener's error: %v", err)
			}
		})
	}
}
