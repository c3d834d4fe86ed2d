//go:build unix

package rpyc_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/netref"
)

// echoBytes calls root.echo(p) and checks that the same bytes come back.
func echoBytes(t *testing.T, root *netref.Ref, p []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	got, err := rpyc.As[[]byte](root.CallMethod(ctx, "echo", p))
	if err != nil {
		t.Fatalf("echo of %d bytes: %v", len(p), err)
	}
	if !bytes.Equal(got, p) {
		t.Fatalf("echo of %d bytes: %d bytes came back, not the same", len(p), len(got))
	}
}

// dialRoot connects to addr with opts and returns the root.
func dialRoot(t *testing.T, addr string, opts ...rpyc.Option) (*rpyc.Conn, *netref.Ref) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	conn, err := rpyc.Connect(ctx, addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	root, err := conn.Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return conn, root
}

// TestEchoLarge: a Go client and a Go server, both with the default configuration, echo bytes
// values of 64 MiB (a 67 MB frame, beyond the old 64 MiB MaxFrameSize) and, unless -short,
// 100 MiB, as two Python peers do.
func TestEchoLarge(t *testing.T) {
	sizes := []int{64 << 20}
	if !testing.Short() {
		sizes = append(sizes, 100<<20)
	}
	_, root := dialRoot(t, startEchoServer(t, nil))
	for _, n := range sizes {
		echoBytes(t, root, echoPayload(n, false))
	}
}

// TestSendOverLimitIsLocal: a message larger than the sender's own MaxMessageSize (or
// MaxFrameSize) fails locally with an error wrapping channel.ErrMessageTooLarge (or
// ErrFrameTooLarge) that names the size and the limit; nothing is sent and the connection
// stays usable.
func TestSendOverLimitIsLocal(t *testing.T) {
	addr := startEchoServer(t, nil)
	for _, tc := range []struct {
		limit channel.Config
		want  error
	}{
		{channel.Config{MaxMessageSize: 1 << 20}, channel.ErrMessageTooLarge},
		{channel.Config{MaxFrameSize: 1 << 20}, channel.ErrFrameTooLarge},
	} {
		cfg := *echoConfig(false)
		cfg.Channel = tc.limit
		_, root := dialRoot(t, addr, rpyc.WithConfig(cfg))
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		_, err := root.CallMethod(ctx, "echo", echoPayload(2<<20, false))
		cancel()
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), "1048576") {
			t.Fatalf("echo over the limit: %v, want %v naming the limit", err, tc.want)
		}
		echoBytes(t, root, echoPayload(1000, false)) // still usable
	}
}

// TestInteropEchoBulk: bulk bytes, incompressible (random, which gorpyc sends raw) and
// repetitive text (which it compresses), travel both ways through a Python server of each
// version (Python sends them back compressed, as it compresses everything above 3000 bytes):
// 5000 bytes, 4 MiB, and a 64 MiB text message (beyond the old 64 MiB decode limit). A 64 MiB
// random message (a 67 MB frame each way) is echoed too with GORPYC_SOAK=1 (GORPYC_SOAK=1 go test
// -run InteropEchoBulk .): Python sends and receives such frames at 1-2 MB/s here, 20-70 s per
// peer.
func TestInteropEchoBulk(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		svc := startService(t, p)
		_, root := dialRoot(t, svc.addr)
		for _, text := range []bool{false, true} {
			for _, n := range []int{5000, 4 << 20} {
				echoBytes(t, root, echoPayload(n, text))
			}
		}
		echoBytes(t, root, echoPayload(64<<20, true))
		if os.Getenv("GORPYC_SOAK") != "" {
			echoBytes(t, root, echoPayload(64<<20, false))
		}
	})
}
