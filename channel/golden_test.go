package channel_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/gorpyc/rpyc/channel"
)

// Frames written by Python rpyc's Channel.send (testdata/gen_golden.py).
type channelGolden struct {
	Meta struct {
		Rpyc string `json:"rpyc"`
	} `json:"meta"`
	Frames []struct {
		Name       string `json:"name"`
		Payload    string `json:"payload"`
		Frame      string `json:"frame"`
		Compressed bool   `json:"compressed"`
	} `json:"frames"`
}

func TestGoldenFrames(t *testing.T) {
	data, err := os.ReadFile("../testdata/channel_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g channelGolden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Frames) < 10 {
		t.Fatalf("only %d golden frames", len(g.Frames))
	}
	for _, c := range g.Frames {
		t.Run(c.Name, func(t *testing.T) {
			payload, _ := hex.DecodeString(c.Payload)
			pyFrame, _ := hex.DecodeString(c.Frame)

			// Python's frame decodes to the payload, through the stream reader and the parser.
			got, err := channel.ReadFrame(bytes.NewReader(pyFrame), channel.Config{}, nil)
			if err != nil || !bytes.Equal(got, payload) {
				t.Fatalf("ReadFrame(python frame) = %d bytes, %v", len(got), err)
			}
			got, n, err := channel.ParseFrame(pyFrame, channel.Config{})
			if err != nil || n != len(pyFrame) || !bytes.Equal(got, payload) {
				t.Fatalf("ParseFrame(python frame) = %d bytes, n=%d, %v", len(got), n, err)
			}

			goFrame, err := channel.AppendFrame(nil, payload, channel.Config{})
			if err != nil {
				t.Fatal(err)
			}
			// Go declines compression that does not shrink the payload by an eighth (Python
			// compresses above the threshold regardless); it then sends the raw frame.
			pyPays := len(pyFrame)-channel.HeaderSize-1 <= len(payload)-len(payload)/8
			if goCompressed := goFrame[4] != 0; goCompressed != (c.Compressed && pyPays) {
				t.Fatalf("Go compressed=%v, Python compressed=%v (%d of %d bytes)",
					goCompressed, c.Compressed, len(pyFrame)-channel.HeaderSize-1, len(payload))
			}
			if goFrame[4] == 0 {
				if c.Compressed {
					raw, _ := channel.AppendFrame(nil, payload, channel.Config{DisableCompression: true})
					pyFrame = raw // what Python sends with compression off, byte for byte
				}
				// Uncompressed frames are byte-identical.
				if !bytes.Equal(goFrame, pyFrame) {
					t.Fatalf("frame differs from Python's\n got %x\nwant %x", goFrame, pyFrame)
				}
				return
			}
			// Compressed frames: same flag, zlib level-1 header and flusher; the deflate bytes
			// themselves differ between Go's compress/flate and C zlib, so compare the payload.
			if !bytes.Equal(goFrame[4:7], pyFrame[4:7]) || goFrame[len(goFrame)-1] != pyFrame[len(pyFrame)-1] {
				t.Fatalf("frame header/flusher differ: got %x..%x, want %x..%x",
					goFrame[:7], goFrame[len(goFrame)-1:], pyFrame[:7], pyFrame[len(pyFrame)-1:])
			}
			back, _, err := channel.ParseFrame(goFrame, channel.Config{})
			if err != nil || !bytes.Equal(back, payload) {
				t.Fatalf("Go frame does not decode back: %v", err)
			}
		})
	}
}
