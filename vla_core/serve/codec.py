"""msgpack bytes ⇄ plain values, with numpy arrays as one msgpack ext type. No pickle.

An array travels as ``ExtType(ARRAY_EXT, msgpack([dtype, shape, raw bytes]))``: the dtype string
comes from a short allow-list of plain numeric types (never ``object``, never a structured
dtype), the shape is a list of ints, and the byte count must equal ``prod(shape) * itemsize``
exactly. Decoding builds nothing but dicts, lists, str, bytes, numbers, None and such arrays, so a
peer cannot make the other side construct an arbitrary type (what pickle-over-the-wire servers
get wrong). Every failure to decode is a ``ProtocolError`` with one line, never another exception.
"""

from __future__ import annotations

import math

import msgpack
import numpy as np

ARRAY_EXT = 1
# little-endian (or byte-order-free) plain numbers only; bool checked to hold 0/1 bytes
DTYPES = frozenset({"|b1", "|u1", "|i1", "<u2", "<i2", "<i4", "<i8", "<f2", "<f4", "<f8"})
MAX_NDIM = 8


class ProtocolError(ValueError):
    """Bytes that are not a valid message: undecodable, a disallowed array, or a bad field."""


def _default(obj):
    """msgpack's hook for what it cannot pack itself: arrays → ext, numpy scalars → Python."""
    if isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        if a.dtype.str not in DTYPES:
            raise TypeError(f"arrays of dtype {a.dtype} cannot be sent (allowed: {sorted(DTYPES)})")
        return msgpack.ExtType(ARRAY_EXT, msgpack.packb([a.dtype.str, list(a.shape), a.tobytes()],
                                                        use_bin_type=True))
    if isinstance(obj, (np.bool_, np.integer, np.floating)):
        return obj.item()
    raise TypeError(f"cannot send a {type(obj).__name__}")


def _array(code: int, data: bytes) -> np.ndarray:
    if code != ARRAY_EXT:
        raise ProtocolError(f"unknown msgpack ext type {code}")
    try:
        head = msgpack.unpackb(data, raw=False, strict_map_key=True)
    except Exception as e:  # noqa: BLE001 - any decoder failure is the peer's malformed bytes
        raise ProtocolError(f"undecodable array header: {type(e).__name__}") from None
    if not (isinstance(head, list) and len(head) == 3):
        raise ProtocolError("an array is [dtype, shape, bytes]")
    dtype, shape, raw = head
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise ProtocolError(f"array dtype {dtype!r} is not allowed (allowed: {sorted(DTYPES)})")
    if (not isinstance(shape, list) or len(shape) > MAX_NDIM
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)):
        raise ProtocolError(f"array shape must be a list of at most {MAX_NDIM} non-negative ints, got {shape!r}")
    if not isinstance(raw, bytes):
        raise ProtocolError("array data must be bytes")
    # Python ints: a huge declared shape cannot overflow into a small product or allocate anything
    expected = math.prod(shape) * np.dtype(dtype).itemsize
    if expected != len(raw):
        raise ProtocolError(f"array of shape {tuple(shape)} {dtype} needs {expected} bytes, got {len(raw)}")
    if dtype == "|b1" and raw and max(raw) > 1:
        raise ProtocolError("bool array bytes must be 0 or 1")
    # a writable copy: frombuffer over bytes is read-only, and callers may edit observations in place
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def packb(obj) -> bytes:
    """dicts/lists/str/bytes/numbers/None/arrays → bytes; TypeError for anything else."""
    return msgpack.packb(obj, default=_default, use_bin_type=True)


def unpackb(data: bytes):
    """bytes → plain values and arrays; ``ProtocolError`` for anything malformed."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ProtocolError(f"expected binary msgpack, got {type(data).__name__}")
    try:
        return msgpack.unpackb(data, ext_hook=_array, raw=False, strict_map_key=True)
    except ProtocolError:
        raise
    except Exception as e:  # noqa: BLE001 - truncated, extra data, too deep, bad utf-8, bad map keys …
        raise ProtocolError(f"undecodable msgpack: {type(e).__name__}: {str(e)[:120]}") from None
