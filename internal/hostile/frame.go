// Package hostile is the scripted raw peer of the hostile-peer suites (server/hostile_test.go
// and hostile_client_test.go): it builds exact frames and messages, well-formed or not, and
// sends them over a plain TCP socket, with no protocol engine in the way. Nothing in it is for
// production use.
//
// The bytes, as package channel and package protocol document them:
//
//	frame    u32be length | u8 flag (0 raw, 1 zlib) | payload (length bytes) | 0x0a
//	message  v5: brine (msg, seq, body); v6: msg byte, then brine (seq, body)
//	request  body (handler, args box)
//	box      (1, value) | (2, (box, ...)) | (3, id_pack) | (4, id_pack)
//	id_pack  (name, class_id, instance_id)
//
// Well-formed bytes come from the repository's own encoders (brine.Append,
// compat.Dialect.AppendMessage/AppendHeader, channel.AppendFrame), so they are exactly what a
// gorpyc or Python peer sends; malformed ones are written by hand here. Payloads too large to
// hold in memory (the decompressed side of an amplification or a zlib bomb) are never
// materialised: [ZlibRepeat] produces the compressed stream of "prefix + n copies of one byte"
// with work proportional to the compressed size.
package hostile

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"math/big"

	"github.com/gorpyc/rpyc/channel"
)

// Frame flags.
const (
	FlagRaw  byte = 0
	FlagZlib byte = 1
)

// Flusher is the byte after every payload.
const Flusher byte = 0x0a

// Header returns the 5-byte frame header declaring length payload bytes with flag. The length
// may lie.
func Header(length uint32, flag byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, length), flag)
}

// Frame returns header, payload and flusher, the payload exactly as given (flag FlagZlib does
// not compress it: pass zlib bytes, or garbage).
func Frame(flag byte, payload []byte) []byte {
	out := make([]byte, 0, channel.HeaderSize+len(payload)+1)
	out = append(out, Header(uint32(len(payload)), flag)...)
	out = append(out, payload...)
	return append(out, Flusher)
}

// RawFrame returns the uncompressed frame of payload, as channel.AppendFrame writes it with
// compression disabled.
func RawFrame(payload []byte) []byte {
	out, err := channel.AppendFrame(nil, payload, channel.Config{DisableCompression: true})
	if err != nil {
		panic(err) // only payloads over 4 GiB fail
	}
	return out
}

// WireFrame returns the frame a gorpyc (or Python) peer sends for payload: raw up to 3000
// bytes, zlib level 1 beyond.
func WireFrame(payload []byte) []byte {
	out, err := channel.AppendFrame(nil, payload, channel.Config{})
	if err != nil {
		panic(err)
	}
	return out
}

// ZlibFrame returns payload zlib-compressed (level 1, as Python) in a frame with flag 1,
// whatever its size.
func ZlibFrame(payload []byte) []byte {
	var buf bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&buf, zlib.BestSpeed)
	_, _ = zw.Write(payload)
	_ = zw.Close()
	return Frame(FlagZlib, buf.Bytes())
}

// repeatChunk is the unit ZlibRepeat compresses: every chunk of the repeated byte compresses to
// the same deflate bytes once the window is full of it.
const repeatChunk = 1 << 20

// ZlibRepeat returns a zlib stream (RFC 1950, deflate at level 9) whose decompressed content is
// prefix followed by n copies of b: about n/1000 bytes for large n (1 GiB of zeros is about
// 1 MiB). It compresses at most four chunks of 1 MiB whatever n is: after a flush, each further
// chunk of the repeated byte compresses to identical bytes (the window holds nothing but b),
// which are repeated, and the Adler-32 checksum is computed in closed form. The result is
// checked to be periodic; if it were not, the whole content is streamed through the compressor
// instead (never held in memory).
func ZlibRepeat(prefix []byte, b byte, n int64) []byte {
	if n < 0 {
		panic("hostile: negative repeat count")
	}
	var out bytes.Buffer
	out.Write([]byte{0x78, 0xda}) // zlib header: deflate, 32 KiB window, level 9
	fw, err := flate.NewWriter(&out, flate.BestCompression)
	if err != nil {
		panic(err)
	}
	chunk := bytes.Repeat([]byte{b}, repeatChunk)
	_, _ = fw.Write(prefix)
	remaining := n
	if remaining >= 4*repeatChunk {
		// Chunk 1 (after the prefix) fills the window; chunks 2 and 3 must compress alike.
		_, _ = fw.Write(chunk)
		_ = fw.Flush()
		mark := out.Len()
		_, _ = fw.Write(chunk)
		_ = fw.Flush()
		rep := bytes.Clone(out.Bytes()[mark:])
		mark = out.Len()
		_, _ = fw.Write(chunk)
		_ = fw.Flush()
		if bytes.Equal(out.Bytes()[mark:], rep) {
			remaining -= 3 * repeatChunk
			// Keep one full chunk for the real compressor, so that its state (the window) is
			// what the copied chunks would have left.
			copies := remaining/repeatChunk - 1
			for range copies {
				out.Write(rep)
			}
			remaining -= copies * repeatChunk
		} else {
			remaining -= 3 * repeatChunk
		}
	}
	for remaining > 0 {
		k := min(remaining, repeatChunk)
		_, _ = fw.Write(chunk[:k])
		remaining -= k
	}
	_ = fw.Close()
	return binary.BigEndian.AppendUint32(out.Bytes(), adlerRepeat(adler32.Checksum(prefix), b, n))
}

// adlerRepeat extends the Adler-32 checksum sum (of some bytes) by n copies of b, in closed
// form: A' = A + n·b, B' = B + n·A + b·n(n+1)/2, mod 65521.
func adlerRepeat(sum uint32, b byte, n int64) uint32 {
	const mod = 65521
	a := big.NewInt(int64(sum & 0xffff))
	s := big.NewInt(int64(sum >> 16))
	bn := big.NewInt(n)
	bb := big.NewInt(int64(b))
	m := big.NewInt(mod)
	// B' uses the old A.
	t := new(big.Int).Mul(bn, a)
	s.Add(s, t)
	tri := new(big.Int).Mul(bn, new(big.Int).Add(bn, big.NewInt(1)))
	tri.Rsh(tri, 1)
	s.Add(s, tri.Mul(tri, bb))
	s.Mod(s, m)
	a.Add(a, new(big.Int).Mul(bn, bb))
	a.Mod(a, m)
	return uint32(s.Int64())<<16 | uint32(a.Int64())
}

// ZlibRepeatFrame is [ZlibRepeat] in a frame with flag 1.
func ZlibRepeatFrame(prefix []byte, b byte, n int64) []byte {
	return Frame(FlagZlib, ZlibRepeat(prefix, b, n))
}

// String returns a short description of a frame for logs: its header and size.
func String(frame []byte) string {
	if len(frame) < channel.HeaderSize {
		return fmt.Sprintf("%d bytes (short header)", len(frame))
	}
	return fmt.Sprintf("frame len=%d flag=%d, %d bytes on the wire",
		binary.BigEndian.Uint32(frame), frame[4], len(frame))
}
