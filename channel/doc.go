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
// Python compresses every payload longer than 3000 bytes
// ([DefaultCompressionThreshold]) at zlib level 1 (stream header 78 01),
// even when that makes it larger. gorpyc compresses only when it pays: a
// payload above the threshold goes out compressed (flag 1) if that shrinks
// it by at least an eighth, else raw (flag 0), which every Python version
// reads whatever the size. A payload larger than 32 KiB is probed first:
// its first 32 KiB are compressed and flushed, and the rest is compressed
// only if those shrank by an eighth, so incompressible data (random,
// already compressed) costs the compression of 32 KiB instead of all of it.
// The threshold and level are set by [Config], and compression can be
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
// Readers defend against hostile peers with these limits, all in [Config]:
//
//   - MaxFrameSize (default 4 GiB - 1, [DefaultMaxFrameSize]: every length
//     a header can declare, so that a default reader never refuses a frame
//     Python would read) caps the length field. A larger value fails with
//     [ErrFrameTooLarge] right after the header is read, before any
//     allocation for the payload.
//   - MaxMessageSize (default 4 GiB - 1, [DefaultMaxMessageSize]) caps the
//     payload after decompression (and raw payloads). A zlib stream that
//     inflates beyond it fails with [ErrMessageTooLarge], and decompression
//     never allocates more than the limit: see Decompression below.
//   - Budget (none by default; a gorpyc server shares its MemoryBudget
//     among its connections, a client connection has its own) bounds what
//     readers actually hold: a frame that does not fit fails with
//     [ErrBudget], at once when its header declares more than the budget
//     can lend, else as its bytes arrive or before its output is allocated.
//     With the per-message limits at the wire's maximum, the budgets are
//     what bound memory.
//   - FrameTimeout (default 30 s, [DefaultFrameTimeout]; negative turns it
//     off) bounds how long a frame may go without progress: from the first
//     byte of its header, every interval of FrameTimeout must bring 64 KiB
//     of it, or its end. A frame that falls behind fails with
//     [ErrFrameTimeout], sticky like every failure mid-frame, so a peer that
//     trickles a frame (slowloris) or sends part of one and stalls cannot
//     hold a reader and its memory indefinitely, while a slow but steady
//     peer (Python sends large frames at about 1 MB/s) gets any frame
//     through. Time between frames is not limited (a server has its own
//     idle timeout for that). It is enforced through the transport's
//     SetReadDeadline (net.Conn, os.File pipes), which is touched only when
//     a frame falls behind; on transports without working read deadlines it
//     is not enforced.
//   - WriteTimeout (default 30 s, [DefaultWriteTimeout]; negative turns it
//     off) bounds how long a Send may block on a peer that does not read:
//     frames go to the transport 4 MiB at a time at most, and each call
//     must be done within it. It is enforced through the transport's
//     SetWriteDeadline, pushed back at most twice per timeout so that
//     writing costs no extra system call.
//
// Python's rpyc has none of these limits: its Channel reads whatever length
// a header declares, decompresses without bound and waits forever.
//
// Memory follows the bytes that actually arrive. A raw payload larger than
// 64 KiB is read in pieces that grow with the data received until an eighth
// of it has arrived; then one buffer of its whole size is allocated, the
// pieces are copied into it and the rest is read straight into it. Memory
// for a frame thus never exceeds eight times what arrived (plus 64 KiB): a
// header that declares 60 MB followed by 10 bytes costs about 64 KiB, not
// 60 MB. A compressed payload is read whole before it is decompressed, so a
// frame that stalls holds its compressed bytes only, never what they
// inflate to.
//
// Decompression writes into a buffer of up to 16 times the compressed size
// (at most 4 MiB, from the pools). When the output does not fit, the rest
// of it is only counted (in a fixed 16 KiB scratch buffer), and the payload
// is decompressed a
// second time into a slice of exactly its size, never larger than
// MaxMessageSize: a zlib bomb is refused having allocated nothing for its
// output, and a large payload costs its own size plus its compressed size,
// at the price of inflating it twice. While counting, a payload is compared
// with the size of a Budget that tells it (a Limit method, as
// protocol.Budget has) and refused once it passes it, holding none of the
// Budget meanwhile: a bomb on one connection does not take from the others
// what they share. A Budget without Limit is reserved as the count goes.
// Pooled decompressors keep at most 1 MiB of storage for compressed input.
//
// Invalid zlib data fails with [ErrCorrupt], a frame cut short by the end
// of the stream with io.ErrUnexpectedEOF. No input makes this package panic.
//
// Writers refuse, before writing anything, a payload that a reader with
// their own Config would refuse (over MaxMessageSize, or a wire length over
// MaxFrameSize), and one whose length does not fit in 32 bits: the error
// wraps [ErrMessageTooLarge] or [ErrFrameTooLarge] and names the size and
// the limit, and the Channel stays usable. Two peers configured alike thus
// fail with a clear local error, never a reset.
//
// # Buffers
//
// Buffers are shared by all Channels through pools by size class (512
// bytes to 4 MiB, never cleared: whoever takes one overwrites what it
// uses), not kept per Channel: an idle Channel holds no read or payload
// buffer, and what a burst used goes back to the runtime after two garbage
// collections. Like a bufio.Reader of 32 KiB, one read system call brings a
// whole small frame, or several; but the read buffer is borrowed only while
// it holds unread bytes. On transports with a file descriptor (TCP and Unix
// sockets, pipes: syscall.Conn) it is taken inside the read system call's
// retry loop and given back when the call would block, so waiting for a
// frame costs no buffer and no extra system call; on others (TLS, net.Pipe)
// the Channel waits with a 16-byte buffer of its own. An idle Channel costs
// about 1.4 KB of heap, its goroutine included.
//
// Sending copies nothing it does not have to: on TCP and Unix sockets, the
// large parts of a raw frame (64 KiB or more, see [Channel.SendParts]) go
// to the kernel from where they are, with writev.
//
// # Concurrency
//
// A [Channel] allows one goroutine calling Recv concurrently with any
// number of goroutines calling Send. Each Send builds the whole frame in a
// buffer and hands it to the transport in a single Write call (frames over
// 4 MiB, and large raw parts on sockets, in vectored calls of 4 MiB at
// most) while holding a mutex, so frames from concurrent senders never
// interleave. Close may be called from any goroutine at any time and is
// idempotent.
//
// # Memory ownership
//
//   - Send, [Channel.SendParts] and [AppendFrame] never retain the payload
//     passed to them.
//   - The slice returned by [Channel.Recv] belongs to the Channel and is
//     valid only until the next Recv, which gives its storage back to the
//     pools. Copy it to keep it, or call [Channel.TakePayload] to keep it
//     without a copy (the protocol does so for large messages, whose bytes
//     values then alias the payload).
//   - [ReadFrame] writes the payload into the buf argument when it fits
//     (reusing it across calls is the point), so its result may alias buf.
//   - [ParseFrame] returns a raw payload as a sub-slice of its input, and a
//     compressed payload in a newly allocated slice.
package channel
