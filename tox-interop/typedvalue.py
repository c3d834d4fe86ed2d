"""Typed JSON for brine values, shared by the golden generator and the interop peers.

JSON cannot tell a tuple from a frozenset, bytes from str, or keep a float's exact bits, so every
value is written as {"t": TYPE, "v": ...}:

  none | bool v=true/false | int v="decimal text" | float v="16 hex digits of the IEEE bits"
  complex v=[re_bits, im_bits] | str v="text" | bytes v="hex" | tuple v=[...]
  frozenset v=[...] (Python's iteration order, the order brine.dump writes)
  slice v=[start, stop, step] | notimplemented | ellipsis

The Go side reads the same format (internal/brinetest).
"""
import struct


def _bits(f):
    return struct.pack("!d", f).hex()


def _unbits(h):
    return struct.unpack("!d", bytes.fromhex(h))[0]


def to_typed(v):
    t = type(v)
    if v is None:
        return {"t": "none"}
    if t is bool:
        return {"t": "bool", "v": v}
    if t is int:
        return {"t": "int", "v": str(v)}
    if t is float:
        return {"t": "float", "v": _bits(v)}
    if t is complex:
        return {"t": "complex", "v": [_bits(v.real), _bits(v.imag)]}
    if t is str:
        return {"t": "str", "v": v}
    if t is bytes:
        return {"t": "bytes", "v": v.hex()}
    if t is tuple:
        return {"t": "tuple", "v": [to_typed(x) for x in v]}
    if t is frozenset:
        return {"t": "frozenset", "v": [to_typed(x) for x in v]}
    if t is slice:
        return {"t": "slice", "v": [to_typed(v.start), to_typed(v.stop), to_typed(v.step)]}
    if v is NotImplemented:
        return {"t": "notimplemented"}
    if v is Ellipsis:
        return {"t": "ellipsis"}
    raise TypeError("no typed form for %r" % (t,))


def from_typed(d):
    t = d["t"]
    v = d.get("v")
    if t == "none":
        return None
    if t == "bool":
        return bool(v)
    if t == "int":
        return int(v)
    if t == "float":
        return _unbits(v)
    if t == "complex":
        return complex(_unbits(v[0]), _unbits(v[1]))
    if t == "str":
        return v
    if t == "bytes":
        return bytes.fromhex(v)
    if t == "tuple":
        return tuple(from_typed(x) for x in v)
    if t == "frozenset":
        return frozenset(from_typed(x) for x in v)
    if t == "slice":
        return slice(*(from_typed(x) for x in v))
    if t == "notimplemented":
        return NotImplemented
    if t == "ellipsis":
        return Ellipsis
    raise ValueError("unknown typed value %r" % (t,))
