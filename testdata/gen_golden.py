#!/usr/bin/python3
"""Writes the golden vectors that gorpyc's Go tests check against, using a real Python rpyc.

    /usr/bin/python3 testdata/gen_golden.py            # rewrite testdata/*.json with this rpyc
    /usr/bin/python3 testdata/gen_golden.py --check    # compare this rpyc's output with the files

brine_golden.json
    "values": named cases, value (typed JSON, see tox-interop/typedvalue.py) -> brine.dump hex.
    "loads":  named byte strings fed to brine.load: what Python returned, or the error it raised.
channel_golden.json
    named payloads -> the exact bytes rpyc's Channel.send wrote (header, maybe zlib, flusher).

The Go tests (brine/golden_test.go, channel/golden_test.go) read these files; the interop suite
runs --check under every peer version, so the committed bytes are re-proven against both.
"""
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tox-interop"))

import rpyc  # noqa: E402
from rpyc.core import brine  # noqa: E402
from rpyc.core.channel import Channel  # noqa: E402
from typedvalue import to_typed  # noqa: E402


def value_cases():
    c = []

    def add(name, v):
        c.append((name, v))

    add("none", None)
    add("true", True)
    add("false", False)
    add("not_implemented", NotImplemented)
    add("ellipsis", Ellipsis)
    # every immediate int, and both sides of its range
    for i in range(-48, 160):
        add("imm_%d" % i, i)
    ints = {
        "int_-49": -49, "int_160": 160, "int_255": 255, "int_256": 256, "int_1000": 1000,
        "int_-1000": -1000, "int_2p31m1": 2**31 - 1, "int_2p31": 2**31, "int_-2p31": -2**31,
        "int_-2p31m1": -2**31 - 1, "int_2p32": 2**32, "int_2p63m1": 2**63 - 1, "int_2p63": 2**63,
        "int_-2p63": -2**63, "int_-2p63m1": -2**63 - 1, "int_2p64m1": 2**64 - 1, "int_2p64": 2**64,
        "int_-2p64": -2**64, "int_10p18m1": 10**18 - 1, "int_10p18": 10**18, "int_10p19": 10**19,
        "int_-10p18": -10**18, "int_cpython_id": 140207253238928,
        # INT_L1 / INT_L4 boundary is on the text length (255 vs 256 characters, sign included)
        "int_255_digits": 10**255 - 1, "int_256_digits": 10**255,
        "int_neg_255_chars": -(10**254 - 1), "int_neg_256_chars": -(10**254),
        "int_-10p300": -(10**300), "int_max_digits": 10**4299, "int_-max_digits": -(10**4299),
    }
    for k, v in ints.items():
        add(k, v)
    floats = {
        "float_0": 0.0, "float_-0": -0.0, "float_1.5": 1.5, "float_-2.25": -2.25,
        "float_nan": float("nan"), "float_inf": float("inf"), "float_-inf": float("-inf"),
        "float_min_subnormal": 5e-324, "float_max": 1.7976931348623157e308, "float_0.1": 0.1,
        "float_1e100": 1e100, "float_pi": math.pi, "float_-1e-300": -1e-300,
    }
    for k, v in floats.items():
        add(k, v)
    add("complex_1+2j", 1 + 2j)
    add("complex_-1j", complex(0, -1))
    add("complex_0", 0j)
    add("complex_nan_inf", complex(float("nan"), float("inf")))
    add("complex_-0-0j", complex(-0.0, -0.0))
    for n in (0, 1, 2, 3, 4, 5, 6, 254, 255, 256, 257, 1000, 65536):
        add("bytes_len_%d" % n, bytes((i * 7 + n) % 256 for i in range(n)))
    add("bytes_all_values", bytes(range(256)))
    add("bytes_nul", b"\x00")
    strs = {
        "str_empty": "", "str_a": "a", "str_ab": "ab", "str_abc": "abc", "str_abcd": "abcd",
        "str_abcde": "abcde", "str_hello_accent": "h\u00e9llo", "str_euro": "\u20ac",
        "str_emoji": "\U0001F600", "str_x255": "x" * 255, "str_x256": "x" * 256,
        "str_e_accent_127": "\u00e9" * 127, "str_e_accent_128": "\u00e9" * 128,
        "str_nul": "\x00", "str_two_accents": "\u00e9\u00e9", "str_emoji_64": "\U0001F600" * 64,
        "str_mixed": "a\u00e9\u20ac\U0001F600z", "str_newlines": "line1\nline2\r\n\t",
        "str_cjk": "\u65e5\u672c\u8a9e", "str_max_bmp": "\uffff", "str_max_cp": "\U0010ffff",
    }
    for k, v in strs.items():
        add(k, v)
    for n in (0, 1, 2, 3, 4, 5, 6, 254, 255, 256, 257, 1000):
        add("tuple_len_%d" % n, tuple(range(n)))
    add("tuple_nested", ((), (1,), "a"))
    deep = ()
    for _ in range(50):
        deep = (deep,)
    add("tuple_depth_50", deep)
    add("tuple_mixed", (None, True, False, 1, -1, 2**70, 1.5, 1j, b"b", "s", (), NotImplemented, Ellipsis))
    add("tuple_of_tuples", tuple((i, str(i), bytes([i])) for i in range(20)))
    add("slice_1_10_2", slice(1, 10, 2))
    add("slice_none_5_none", slice(None, 5, None))
    add("slice_all_none", slice(None, None, None))
    add("slice_big", slice(-(2**70), 2**70, -1))
    add("slice_mixed", slice("a", b"b", 1.5))
    add("slice_tuple_members", slice((1, 2), (), None))
    add("frozenset_empty", frozenset())
    add("frozenset_1", frozenset({1}))
    add("frozenset_ints", frozenset({1, 2, 3, 1000, -5}))
    add("frozenset_strs", frozenset({"a"}))
    add("frozenset_tuples", frozenset({(1, 2)}))
    add("frozenset_300", frozenset(range(300)))
    add("frozenset_nested", frozenset({frozenset(), frozenset({1})}) if False else frozenset({frozenset({1})}))
    # protocol-shaped values: message envelopes and boxes
    add("msg_v5_getroot", (1, 0, (3, (1, ()))))
    add("msg_v6_getroot_body", (0, (3, (1, ()))))
    add("msg_remote_ref", (2, 0, (4, ("svc.MyService", 608496832, 140207253238928))))
    add("msg_seq_160", (1, 160, (1, (1, ("abcdefghijklmnopqrstuvwxyz" * 20,)))))
    add("msg_exception", (3, 7, (("builtins", "ValueError"), ("bad",),
                                 (("_remote_version", "<version denied>"),), "")))
    add("registry_register", ("RPYC", "REGISTER", (("FOO", "BAR"), 18812)))
    return c


# Byte strings for brine.load: non-canonical forms Python accepts, and inputs it refuses.
LOAD_CASES = [
    ("int_l1_immediate_5", "160135"),
    ("int_l1_plus", "16032b3135"),
    ("int_l1_spaces", "1603203720"),
    ("int_l1_underscore", "1605315f303030"),
    ("int_l1_leading_zeros", "1603303037"),
    ("int_l1_negative_zero", "16022d30"),
    ("int_l4_short", "17000000023132"),
    ("bytes_l1_short_len", "0e03616263"),
    ("bytes_l4_short_len", "0f000000026162"),
    ("bytes_l1_len_0", "0e00"),
    ("tup_l1_two", "14025152"),
    ("tup_l4_one", "150000000151"),
    ("tup_l1_zero", "1400"),
    ("str_via_str_l1", "080e0161"),
    ("str_via_empty", "0801"),
    ("slice_via_tup_l1", "191403515253"),
    ("frozenset_via_tup_l1", "1a14025152"),
    # refused by Python
    ("empty", ""),
    ("unknown_07", "07"),
    ("long_09", "0951"),
    ("unknown_1c", "1c"),
    ("unknown_1f", "1f"),
    ("unknown_f0", "f0"),
    ("unknown_ff", "ff"),
    ("float_truncated", "1800"),
    ("complex_truncated", "1b3ff0000000000000"),
    ("bytes_l1_missing_len", "0e"),
    ("bytes_l4_truncated_len", "0f0000"),
    ("str_not_bytes", "0851"),
    ("str_invalid_utf8", "080bc328"),
    ("str_surrogate", "080ceda080"),
    ("int_l1_letters", "16026162"),
    ("int_l1_empty", "1600"),
    ("int_l1_double_underscore", "1604315f5f30"),
    ("int_l1_trailing_underscore", "1602315f"),
    ("int_too_many_digits", "17000010cd" + "31" * 4301),
    ("tuple_truncated", "125152"),
    ("tup_l1_truncated", "1405"),
    ("slice_two_tuple", "19115152"),
    ("slice_not_tuple", "1951"),
    ("frozenset_not_tuple", "1a51"),
    # Python is lenient here; gorpyc refuses (see brine/golden_test.go)
    ("trailing_bytes", "5152"),
    ("bytes_body_short", "0e056162"),
]


class Capture:
    MAX_IO_CHUNK = 64000

    def __init__(self):
        self.buf = bytearray()

    def write(self, data):
        self.buf += data

    def close(self):
        pass


def channel_cases():
    def pattern(n, seed):
        return bytes((i * 31 + seed + (i >> 8)) % 251 for i in range(n))

    def rnd(n, seed):
        import random
        r = random.Random(seed)
        return bytes(r.getrandbits(8) for _ in range(n))

    return [
        ("empty", b""),
        ("v5_getroot", bytes.fromhex("1251501153115102")),
        ("v6_getroot", bytes.fromhex("0111501153115102")),
        ("one_byte", b"\x00"),
        ("len_2999", pattern(2999, 1)),
        ("len_3000", pattern(3000, 2)),
        ("len_3001_compressed", pattern(3001, 3)),
        ("len_4096_zeros", bytes(4096)),
        ("random_5000_compressed_grows", rnd(5000, 4)),
        ("len_70000_split_write", pattern(70000, 5)),
    ]


def build():
    values = []
    for name, v in value_cases():
        data = brine.dump(v)
        back = brine.load(data)
        assert brine.dump(back) == data, name
        r = repr(v)
        values.append({"name": name, "python": r if len(r) <= 80 else r[:60] + "..." + r[-12:],
                       "value": to_typed(v), "hex": data.hex()})
    loads = []
    for name, hx in LOAD_CASES:
        rec = {"name": name, "hex": hx}
        try:
            rec["result"] = to_typed(brine.load(bytes.fromhex(hx)))
        except Exception as e:  # noqa: BLE001 - we record exactly what Python raised
            rec["error"] = type(e).__name__
        loads.append(rec)
    frames = []
    for name, payload in channel_cases():
        cap = Capture()
        Channel(cap).send(payload)
        frames.append({"name": name, "payload": payload.hex(), "frame": bytes(cap.buf).hex(),
                       "compressed": cap.buf[4] != 0})
    meta = {"generator": "testdata/gen_golden.py", "rpyc": rpyc.__version__,
            "python": sys.version.split()[0]}
    return ({"meta": meta, "values": values, "loads": loads},
            {"meta": meta, "frames": frames})


def main():
    check = "--check" in sys.argv[1:]
    b, c = build()
    paths = {"brine_golden.json": b, "channel_golden.json": c}
    bad = 0
    for fn, data in paths.items():
        path = os.path.join(HERE, fn)
        if check:
            with open(path) as f:
                old = json.load(f)
            for key in data:
                if key == "meta":
                    continue
                if old[key] != data[key]:
                    oldn = {r["name"]: r for r in old[key]}
                    for r in data[key]:
                        if oldn.get(r["name"]) != r:
                            print("MISMATCH %s %s" % (fn, r["name"]))
                            bad += 1
                    if len(old[key]) != len(data[key]):
                        print("MISMATCH %s %s: %d cases, file has %d" % (fn, key, len(data[key]), len(old[key])))
                        bad += 1
        else:
            with open(path, "w") as f:
                json.dump(data, f, indent=1, ensure_ascii=False)
                f.write("\n")
    if check:
        n = len(b["values"]) + len(b["loads"]) + len(c["frames"])
        print("rpyc %s: %d golden cases, %d mismatches" % (rpyc.__version__, n, bad))
        sys.exit(1 if bad else 0)
    print("wrote %d value cases, %d load cases, %d frames with rpyc %s" % (
        len(b["values"]), len(b["loads"]), len(c["frames"]), rpyc.__version__))


if __name__ == "__main__":
    main()
