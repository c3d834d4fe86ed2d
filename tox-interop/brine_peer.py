#!/usr/bin/python3
"""Brine and channel peer for gorpyc's interop tests (brine/interop_test.go, channel/interop_test.go).

Speaks rpyc's own rpyc.core.channel.Channel over a SocketStream. Run it with the Python that has the
rpyc under test (see internal/interop):

    /usr/bin/python3 tox-interop/brine_peer.py [--seed-offset N]

It binds 127.0.0.1 port 0, prints "LISTENING 127.0.0.1:<port>" (flushed), accepts ONE connection
and serves commands until Q, until the connection closes, or until its stdin reaches EOF (so it
never outlives the test that started it). The first byte of every frame from Go is the command:

  E<brine>         load the bytes with rpyc.core.brine.load, reply b"E" + brine.dump(value);
                   on any error reply b"X" + repr(exc).
  G<seed> <count>  generate count random values with random.Random(seed) and send, for each, a frame
                   b"V" + u32be(len(json)) + json(to_typed(value)) + brine.dump(value); then b"D".
                   Go then sends one frame b"C" + <its re-dump> per value and a final b"F"; Python
                   compares each re-dump with its own dump and replies b"R" + b"ok <count>" or
                   b"R" + b"FAIL <details of the first mismatch>".
                   (Python finishes sending before it reads, and Go reads everything before it
                   sends, so the exchange cannot deadlock.)
  P<seed> <count>  Python-first channel test. A writer thread sends count frames; frame k has
                   size SIZES[k % len(SIZES)] and byte i of it is (i*31 + seed + k) % 251. Go echoes
                   every frame unchanged as it arrives; the main thread reads and checks the echoes
                   concurrently, then replies b"R" + b"ok <count>" or b"R" + b"FAIL ...".
  Q                close the connection and exit 0.
  anything else    (including an empty payload; by convention b"B" + raw bytes) is echoed back
                   unchanged.
"""
import json
import math
import os
import random
import socket
import struct
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from rpyc.core import brine  # noqa: E402
from rpyc.core.channel import Channel  # noqa: E402
from rpyc.core.stream import SocketStream  # noqa: E402
from typedvalue import to_typed  # noqa: E402

SIZES = [0, 1, 2999, 3000, 3001, 65536, 70000, 200000, 1 << 20]
U32 = struct.Struct("!L")


def pattern(seed, k, n):
    """Frame k of a P exchange: byte i is (i*31 + seed + k) % 251 (period 251 in i)."""
    period = bytes((i * 31 + seed + k) % 251 for i in range(251))
    reps = n // 251 + 1
    return (period * reps)[:n]


# ---------------------------------------------------------------------------
# random values

INT_EDGES = [
    -49, -48, -47, -1, 0, 1, 158, 159, 160, 161, 255, 256, -256, 1000, -1000,
    2**31 - 1, 2**31, -2**31, -2**31 - 1, 2**32 - 1, 2**32,
    2**63 - 1, 2**63, -2**63, -2**63 - 1, 2**64 - 1, 2**64, -2**64,
    10**254 - 1, 10**254, -(10**253 - 1), -(10**253), 10**255 - 1, 10**255, -(10**254),
]
FLOAT_SPECIALS = [
    0.0, -0.0, float("inf"), float("-inf"), float("nan"), -float("nan"),
    struct.unpack("!d", bytes.fromhex("7ff8000000000001"))[0],  # quiet NaN with a payload
    5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 1.0, -1.5, 0.1,
]
ALPHABET = "abcxyz019 \n\t\x00\x7f\x80é€ß日本語😀🎉\U0010ffff\ufeff"
LENGTHS = [0, 1, 2, 3, 4, 5, 6, 254, 255, 256, 257]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def length(self):
        r = self.r
        return r.choice(LENGTHS) if r.random() < 0.3 else r.randrange(12)

    def int_(self):
        r = self.r
        k = r.randrange(6)
        if k == 0:
            return r.randrange(-48, 160)  # immediates
        if k == 1:
            return r.choice(INT_EDGES)
        if k == 2:
            return r.randrange(-2**31, 2**31)
        if k == 3:
            return r.randrange(-2**64, 2**64)
        digits = r.randrange(1, 301)
        v = r.randrange(10 ** (digits - 1), 10 ** digits)
        return -v if r.random() < 0.5 else v

    def float_(self):
        r = self.r
        if r.random() < 0.3:
            return r.choice(FLOAT_SPECIALS)
        if r.random() < 0.2:  # any bit pattern that is not a NaN
            f = struct.unpack("!d", r.getrandbits(64).to_bytes(8, "big"))[0]
            return 0.5 if math.isnan(f) else f
        return (r.random() - 0.5) * 10.0 ** r.randrange(-40, 40)

    def bytes_(self):
        return bytes(self.r.getrandbits(8) for _ in range(self.length()))

    def str_(self):
        return "".join(self.r.choice(ALPHABET) for _ in range(self.length()))

    def scalar(self):
        r = self.r
        k = r.randrange(12)
        if k == 0:
            return None
        if k == 1:
            return r.random() < 0.5
        if k in (2, 3):
            return self.int_()
        if k == 4:
            return self.float_()
        if k == 5:
            return complex(self.float_(), self.float_())
        if k == 6:
            return self.bytes_()
        if k in (7, 8):
            return self.str_()
        if k == 9:
            return NotImplemented if r.random() < 0.5 else Ellipsis
        if k == 10:
            return ()
        return self.slice_()

    def slice_(self):
        r = self.r

        def part():
            k = r.randrange(4)
            if k == 0:
                return None
            if k == 1:
                return self.int_()
            if k == 2:
                return self.str_()
            return self.scalar() if r.random() < 0.2 else r.randrange(-5, 100)

        return slice(part(), part(), part())

    def frozenset_(self):
        r = self.r
        n = r.randrange(7)
        if r.random() < 0.5:
            members = set()
            while len(members) < n:
                members.add(self.str_())
        else:
            members = set()
            while len(members) < n:
                members.add(self.int_())
        return frozenset(members)

    def tuple_(self, depth):
        r = self.r
        if r.random() < 0.03:
            n = r.choice([254, 255, 256, 257, 300])
            return tuple(self.small() for _ in range(n))  # wide tuples stay flat
        n = r.randrange(7) if r.random() < 0.9 else r.randrange(7, 20)
        return tuple(self.value(depth - 1) for _ in range(n))

    def small(self):
        """A scalar that is cheap to dump (wide tuples are made of these)."""
        r = self.r
        return r.choice([None, True, False, (), NotImplemented, Ellipsis, r.randrange(-60, 300),
                         r.random(), "é" * r.randrange(3), b"\x00" * r.randrange(3)])

    def value(self, depth=4):
        r = self.r
        if depth <= 0 or r.random() < 0.6:
            return self.scalar()
        if r.random() < 0.8:
            return self.tuple_(depth)
        return self.frozenset_()


# ---------------------------------------------------------------------------
# commands


def cmd_generate(ch, arg):
    seed, count = (int(x) for x in arg.split())
    gen = Gen(seed)
    dumps = []
    for _ in range(count):
        v = gen.value()
        d = brine.dump(v)
        js = json.dumps(to_typed(v)).encode()
        dumps.append((d, v))
        ch.send(b"V" + U32.pack(len(js)) + js + d)
    ch.send(b"D")
    checked = 0
    failure = None
    while True:
        msg = ch.recv()
        if msg == b"F":
            break
        if msg[:1] != b"C":
            failure = failure or "frame %d: unexpected command %r" % (checked, msg[:16])
            continue
        if checked >= count:
            failure = failure or "more than %d C frames" % count
        elif msg[1:] != dumps[checked][0] and failure is None:
            d, v = dumps[checked]
            failure = "value %d %r: python dump %s, go re-dump %s" % (
                checked, v, d.hex(), msg[1:].hex())
        checked += 1
    if failure is None and checked != count:
        failure = "got %d C frames, want %d" % (checked, count)
    ch.send(b"R" + (("FAIL " + failure) if failure else ("ok %d" % checked)).encode())


def cmd_pattern(ch, arg):
    seed, count = (int(x) for x in arg.split())
    errors = []

    def writer():
        try:
            for k in range(count):
                ch.send(pattern(seed, k, SIZES[k % len(SIZES)]))
        except Exception as exc:  # reported by the reader below
            errors.append("send: %r" % (exc,))

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    failure = None
    for k in range(count):
        msg = ch.recv()
        want = pattern(seed, k, SIZES[k % len(SIZES)])
        if msg != want and failure is None:
            at = next((i for i in range(min(len(msg), len(want))) if msg[i] != want[i]), None)
            failure = "echo %d: got %d bytes, want %d (first difference at %r)" % (
                k, len(msg), len(want), at)
    t.join()
    if errors and failure is None:
        failure = errors[0]
    ch.send(b"R" + (("FAIL " + failure) if failure else ("ok %d" % count)).encode())


def serve(ch):
    while True:
        try:
            msg = ch.recv()
        except EOFError:
            return
        cmd, arg = msg[:1], msg[1:]
        if cmd == b"E":
            try:
                reply = b"E" + brine.dump(brine.load(arg))
            except Exception as exc:
                reply = b"X" + repr(exc).encode("utf-8", "backslashreplace")
            ch.send(reply)
        elif cmd == b"G":
            cmd_generate(ch, arg.decode())
        elif cmd == b"P":
            cmd_pattern(ch, arg.decode())
        elif cmd == b"Q":
            return
        else:
            ch.send(msg)


def watch_stdin():
    """Exit as soon as stdin reaches EOF: the test that started us is gone or done."""
    try:
        while os.read(0, 65536):  # the raw fd: a buffered reader's lock would upset shutdown
            pass
    finally:
        os._exit(0)


def main():
    threading.Thread(target=watch_stdin, daemon=True).start()
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    lsock.settimeout(60)
    host, port = lsock.getsockname()
    print("LISTENING %s:%d" % (host, port), flush=True)
    sock, _ = lsock.accept()
    lsock.close()
    sock.settimeout(None)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    ch = Channel(SocketStream(sock))
    try:
        serve(ch)
    finally:
        ch.close()


if __name__ == "__main__":
    main()
