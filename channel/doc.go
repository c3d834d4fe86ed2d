// Package channel implements the framing layer of the RPyC protocol: it
// turns a byte stream (a TCP connection, a pipe pair, ...) into a sequence
// of messages, byte for byte compatible with Python rpyc's Channel (checked
// against rpyc 5.3.0 and 6.0.1).
//
// # Frame layout
//
// Every message travels as one frame:
//
//	+----------------+-----------+---------------------------+---------+
//	| length: u32be  | flag: u8  | payload (length bytes)    | flusher |
//	+----------------+-----------+---------------------------+---------+
//
// The fields are:
//
//   - length: big-endian uint32, the number of payload bytes as they appear
//     on the wire, i.e. after compression when the flag is non-zero. It
//     counts neither the 5 header bytes ([HeaderSize]) nor the flusher.
//   - flag: 0 means the payload is sent as is; 1 means the payload is a zlib
//     stream (RFC 1950: 2-byte header, deflate data, Adler-32; not raw
//     deflate). Readers treat every non-zero flag as compressed, as Python
//     does.
//   - flusher: exactly one byte after every payload. Writers send 0x0a
//     ([Flusher]); readers consume the byte without checking its value.
//
// Example: a protocol-v5 GETROOT request, whose payload is the 8 bytes
// 12 51 50 11 53 11 51 02, is sent raw as these 14 bytes:
//
//	00 00 00 08   length = 8
//	00            flag = 0 (raw)
//	12 51 50 11   payload (8 bytes)
//	53 11 51 02
//	0a            flusher
//
// written compactly as
//
//	00000008 00 | 12 51 50 11 53 11 51 02 | 0a
//
// # Compression
//
// A sender compresses a payload when its uncompressed length is strictly
// greater than the threshold, 3000 bytes by default
// ([DefaultCompressionThreshold]): 3000 bytes go out raw with flag 0, 3001
// bytes go out compressed with flag 1, even if compression makes them
// larger. Python always does this, at zlib level 1 (stream header 78 01).
// Here the threshold and level are set by [Config], and compression can be
// turned off for outgoing frames with Config.DisableCompression; incoming
// compressed frames are always accepted.
//
// Uncompressed frames are byte-identical to Python's. Compressed frames are
// not: Go's compress/zlib emits a different (equally valid) deflate
// encoding than the C zlib library Python links, so the compressed bytes and
// hence the length field differ, while the header (78 01 at level 1) and the
// decompressed payload are the same. Python decompresses any valid zlib
// stream, and this package decompresses C zlib output, so the two
// interoperate. As with Python's zlib.decompress, bytes that follow the end
// of the zlib stream inside a frame are ignored.
//
// # Reading
//
// The transport may split or coalesce frames arbitrarily; readers loop until
// they have exactly the bytes they need. A stream that ends cleanly before
// the first byte of a header yields io.EOF itself; one that ends inside a
// frame yields an error wrapping io.ErrUnexpectedEOF.
//
// # Limits
//
// Readers defend against hostile peers with three limits, all in [Config]:
//
//   - MaxFrameSize (default 64 MiB, [DefaultMaxFrameSize]) caps the length
//     field. A larger value, up to a header declaring 4 GiB, fails with
//     [ErrFrameTooLarge] right after the header is read, before any
//     allocation for the payload.
//   - MaxMessageSize (default 256 MiB, [DefaultMaxMessageSize]) caps the
//     payload after decompression (and raw payloads). A zlib stream that
//     inflates beyond it fails with [ErrMessageTooLarge], and decompression
//     never allocates more than the limit: see Decompression below.
//   - FrameTimeout (default 30 s, [DefaultFrameTimeout]; negative turns it
//     off) bounds the time from the first byte of a frame's header to its
//     last byte. A frame that has not arrived whole by then fails with
//     [ErrFrameTimeout], sticky like every failure mid-frame, so a peer that
//     trickles a frame (slowloris) or sends part of one and stalls cannot
//     hold a reader and its memory indefinitely. Time between frames is not
//     limited (a server has its own idle timeout for that). It is enforced
//     through the transport's SetReadDeadline (net.Conn, os.File pipes),
//     which is touched only when the timeout expires; on transports without
//     working read deadlines it is not enforced. With the defaults a frame
//     of MaxFrameSize bytes must arrive at 2.2 MB/s or more; raise
//     FrameTimeout for large messages over slow links.
//   - WriteTimeout (default 30 s, [DefaultWriteTimeout]; negative turns it
//     off) bounds how long a Send may block on a peer that does not read,
//     through the transport's SetWriteDeadline, pushed back at most twice
//     per timeout so that writing costs no extra system call.
//
// Python's rpyc has none of these limits: its Channel reads whatever length
// a header declares, decompresses without bound and waits forever.
//
// Memory follows the bytes that actually arrive. Payloads larger than 64 KiB
// are read in pieces that grow with the data received (up to 4 MiB each),
// so a header that declares 60 MB followed by 10 bytes costs about 64 KiB,
// not 60 MB. A raw payload's pieces are assembled once all have arrived.
// A compressed payload is read whole before it is decompressed, so a frame
// that stalls holds its compressed bytes only, never what they inflate to.
//
// Decompression writes into the reader's buffer when the output fits. When
// it does not, the rest of the output is only counted (in a fixed 16 KiB
// scratch buffer), and the payload is decompressed a second time into a
// slice of exactly its size, never larger than MaxMessageSize: a zlib bomb
// is refused having allocated nothing for its output, and a large payload
// costs its own size plus its compressed size, at the price of inflating it
// twice. A Channel keeps its payload buffer for the next frame when it is
// 4 MiB or smaller; a larger one is dropped as the next Recv starts (the
// payload stays valid until then). Pooled decompressors keep at most 1 MiB
// of storage for compressed input.
//
// Invalid zlib data fails with [ErrCorrupt], a frame cut short by the end
// of the stream with io.ErrUnexpectedEOF. No input makes this package panic.
//
// Writers do not apply MaxFrameSize (the peer's limit is unknown; Python has
// none); they only refuse payloads whose length does not fit in 32 bits.
//
// # Concurrency
//
// A [Channel] allows one goroutine calling Recv concurrently with any
// number of goroutines calling Send. Each Send builds the whole frame in a
// buffer and hands it to the transport in a single Write call while holding
// a mutex, so frames from concurrent senders never interleave. Close may be
// called from any goroutine at any time and is idempotent.
//
// # Memory ownership
//
//   - Send and [AppendFrame] never retain the payload passed to them.
//   - The slice returned by [Channel.Recv] belongs to the Channel and is
//     valid only until the next Recv, which reuses its storage. Copy it to
//     keep it.
//   - [ReadFrame] writes the payload into the buf argument when it fits
//     (reusing it across calls is the point), so its result may alias buf.
//   - [ParseFrame] returns a raw payload as a sub-slice of its input, and a
//     compressed payload in a newly allocated slice.
package channel
