"""Exact-type value codecs between the jail and the harness (stdlib only; runs on both sides).

Results travel as ``marshal`` version 2 bytes (base64 in the record): fast for outputs of many
MB, exact about types (``marshal`` refuses subclasses, so an int subclass with a rigged
``__eq__`` cannot pass as an int), and byte-identical for identical values, so the harness
compares bytes first. The harness never calls ``marshal.loads`` on them: :func:`loads_marshal`
below is a small pure-Python reader of the few types a result may hold. Inputs, and results
``marshal`` refuses, use the tagged JSON of :func:`encode`/:func:`decode`.

JSON alone cannot tell a tuple from a list, a set from a list, or carry NaN, huge ints or
bytes, and ``repr`` of a candidate's object is whatever the candidate says it is. This codec
looks at ``type(x)`` exactly (a subclass of ``int`` is not an ``int``), never calls a method of
the value, and turns anything it does not know into an opaque marker that equals nothing. The
harness decodes with ``json.loads`` plus a tag walk: no ``eval``, no pickle.
"""

from __future__ import annotations

import base64
import math
from typing import Any

_SMALL_INT = 1 << 62  # beyond this, ints travel as hex (linear to parse, no digit limit)
MAX_DEPTH = 200


class Opaque:
    """A value of a type the codec does not carry: not None, equal to nothing (not even
    itself), so it can only satisfy "is not None" style oracles."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __eq__(self, other: object) -> bool:
        return False

    def __ne__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<unsupported {self.type_name}>"


class WireError(ValueError):
    """A value that does not decode: malformed, or too deep."""


_PLAIN = frozenset({str, bool, type(None)})
_SCALARS = frozenset({str, bool, type(None), int, float})


def _plain_list(value: list) -> bool:
    """A list JSON already carries exactly (checked at C speed: big outputs are common)."""
    types = set(map(type, value))
    if types <= _PLAIN:
        return True
    if types == {int} or types == {int, bool}:
        ints = [v for v in value if type(v) is int] if bool in types else value
        return min(ints) > -_SMALL_INT and max(ints) < _SMALL_INT
    if types == {float}:
        return all(map(math.isfinite, value))
    return False


def encode(value: Any, depth: int = 0) -> Any:
    """Python value -> JSON-able tagged structure, by exact type."""
    if depth > MAX_DEPTH:
        return {"$opaque": "too-deep"}
    t = type(value)
    if t is list and _plain_list(value):
        return value[:]  # a copy: the caller may mutate the original after encoding
    if value is None or t is bool or t is str:
        return value
    if t is int:
        if -_SMALL_INT < value < _SMALL_INT:
            return value
        return {"$int": format(value, "x")}
    if t is float:
        if math.isfinite(value):
            return value
        return {"$float": repr(value)}
    if t is list:
        return [encode(v, depth + 1) for v in value]
    if t is tuple:
        return {"$tuple": [encode(v, depth + 1) for v in value]}
    if t is set:
        return {"$set": [encode(v, depth + 1) for v in value]}
    if t is frozenset:
        return {"$frozenset": [encode(v, depth + 1) for v in value]}
    if t is dict:
        return {"$dict": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    if t is complex:
        return {"$complex": [encode(value.real), encode(value.imag)]}
    if t is bytes:
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    special = _encode_stdlib(value, t, depth)
    if special is not None:
        return special
    return {"$opaque": t.__name__ if isinstance(t.__name__, str) else "?"}


def _pairs(value: Any, depth: int) -> list[list[Any]]:
    return [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in dict.items(value)]


def _encode_stdlib(value: Any, t: type, depth: int) -> Any:
    """The standard library's value types that compare by value (a canonical solution may
    return a Counter or a deque); each by exact type, read through the base class."""
    module = getattr(t, "__module__", None)
    if module == "collections":
        import collections

        if t is collections.Counter:
            return {"$counter": _pairs(value, depth)}
        if t is collections.OrderedDict:
            return {"$odict": _pairs(value, depth)}
        if t is collections.defaultdict:
            return {"$ddict": _pairs(value, depth)}
        if t is collections.deque:
            return {"$deque": [encode(v, depth + 1) for v in value]}
    if module in ("decimal", "_decimal", "_pydecimal"):
        import decimal

        if t is decimal.Decimal:
            return {"$decimal": decimal.Decimal.__str__(value)}
    if module == "fractions":
        import fractions

        if t is fractions.Fraction:
            return {"$fraction": [encode(value.numerator), encode(value.denominator)]}
    return None


def decode(obj: Any, depth: int = 0) -> Any:
    """Tagged structure (from ``json.loads``) -> Python value of builtin types only."""
    if depth > MAX_DEPTH + 2:
        raise WireError("value nested too deeply")
    t = type(obj)
    if obj is None or t in (bool, int, float, str):
        return obj
    if t is list:
        if set(map(type, obj)) <= _SCALARS:
            return obj
        return [decode(v, depth + 1) for v in obj]
    if t is not dict or len(obj) != 1:
        raise WireError(f"unexpected {t.__name__} in value")
    ((tag, payload),) = obj.items()
    if tag == "$int" and type(payload) is str and len(payload) < 1_000_000:
        return int(payload, 16)
    if tag == "$float" and payload in ("nan", "inf", "-inf"):
        return float(payload)
    if tag == "$tuple" and type(payload) is list:
        return tuple(decode(v, depth + 1) for v in payload)
    if tag == "$set" and type(payload) is list:
        return {_hashable(decode(v, depth + 1)) for v in payload}
    if tag == "$frozenset" and type(payload) is list:
        return frozenset(_hashable(decode(v, depth + 1)) for v in payload)
    if tag == "$dict" and type(payload) is list:
        out = {}
        for pair in payload:
            if type(pair) is not list or len(pair) != 2:
                raise WireError("malformed dict entry")
            out[_hashable(decode(pair[0], depth + 1))] = decode(pair[1], depth + 1)
        return out
    if tag == "$complex" and type(payload) is list and len(payload) == 2:
        re_, im = (decode(v, depth + 1) for v in payload)
        if type(re_) is not float or type(im) is not float:
            raise WireError("malformed complex")
        return complex(re_, im)
    if tag == "$bytes" and type(payload) is str:
        return base64.b64decode(payload.encode("ascii"), validate=True)
    if tag == "$opaque" and type(payload) is str:
        return Opaque(payload[:100])
    if tag in ("$counter", "$odict", "$ddict") and type(payload) is list:
        import collections

        items = decode({"$dict": payload}, depth)
        if tag == "$counter":
            return collections.Counter(items)
        if tag == "$odict":
            return collections.OrderedDict(items)
        return collections.defaultdict(None, items)
    if tag == "$deque" and type(payload) is list:
        import collections

        return collections.deque(decode(payload, depth + 1))
    if tag == "$decimal" and type(payload) is str and len(payload) < 10_000:
        import decimal

        return decimal.Decimal(payload)
    if tag == "$fraction" and type(payload) is list and len(payload) == 2:
        import fractions

        num, den = (decode(v, depth + 1) for v in payload)
        if type(num) is not int or type(den) is not int or den == 0:
            raise WireError("malformed fraction")
        return fractions.Fraction(num, den)
    raise WireError(f"unknown tag {tag[:20]!r}")


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError as exc:
        raise WireError("unhashable set element or dict key") from exc
    return value


# --- results: marshal version 2, read back without marshal ------------------------------------

MARSHAL_VERSION = 2
_NULL = object()


def loads_marshal(data: bytes) -> Any:
    """Read marshal-v2 bytes of builtin values; anything else (code objects, references,
    truncation) raises :class:`WireError`. Pure Python, bounded depth: safe on hostile bytes."""
    import struct

    pos = 0
    end = len(data)

    def take(k: int) -> bytes:
        nonlocal pos
        if k < 0 or pos + k > end:
            raise WireError("truncated value")
        chunk = data[pos:pos + k]
        pos += k
        return chunk

    def count() -> int:
        (n,) = struct.unpack("<i", take(4))
        if n < 0:
            raise WireError("negative length")
        return n

    def read(depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise WireError("value nested too deeply")
        code = take(1)[0]
        if code & 0x80:
            raise WireError("marshal references are not expected")
        c = chr(code)
        if c in _SINGLETONS:
            return _SINGLETONS[c]
        if c == "i":
            return struct.unpack("<i", take(4))[0]
        if c == "l":
            (size,) = struct.unpack("<i", take(4))
            digits = struct.unpack(f"<{abs(size)}H", take(2 * abs(size)))
            value = 0
            for digit in reversed(digits):
                value = (value << 15) | digit
            return -value if size < 0 else value
        if c == "g":
            return struct.unpack("<d", take(8))[0]
        if c == "y":
            return complex(*struct.unpack("<dd", take(16)))
        if c == "s":
            return bytes(take(count()))
        if c == "u":
            return take(count()).decode("utf-8", "surrogatepass")
        if c in "([<>":
            items = [read(depth + 1) for _ in range(count())]
            if any(item is _NULL for item in items):
                raise WireError("misplaced null")
            if c == "(":
                return tuple(items)
            if c == "[":
                return items
            hashed = [_hashable(item) for item in items]
            return set(hashed) if c == "<" else frozenset(hashed)
        if c == "{":
            out = {}
            while True:
                key = read(depth + 1)
                if key is _NULL:
                    return out
                value = read(depth + 1)
                if value is _NULL:
                    raise WireError("misplaced null")
                out[_hashable(key)] = value
        if c == "0":
            return _NULL
        raise WireError(f"unsupported marshal type {c!r}")

    try:
        value = read(0)
    except (struct.error, UnicodeDecodeError) as exc:
        raise WireError(f"malformed value: {exc}") from exc
    if value is _NULL or pos != end:
        raise WireError("malformed value")
    return value


_SINGLETONS: dict[str, Any] = {"N": None, "T": True, "F": False,
                               ".": Opaque("ellipsis"), "S": Opaque("StopIteration")}
