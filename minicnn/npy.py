"""``read_npy(stream, size)``: one ``.npy`` array read defensively, for ``mc.load``.

``numpy.lib.format.read_array`` trusts its input: a damaged header that declares
2**40 elements makes it allocate (``MemoryError``), one that declares fewer elements than
the data holds makes it read the member short (and a ZIP member read short never has its
CRC-32 checked), and an odd header surfaces as ``tokenize`` or ``SyntaxError``s. Here the
header is parsed as a Python literal (never unpickled), each field is checked, and

    product(shape) * dtype.itemsize  ==  size - len(magic, version, length, header)

must hold *before* anything is allocated. Then the data is read into the array's own
buffer, to the member's end.

The format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html)::

    b"\\x93NUMPY" major minor   header length (<u2 for 1.0, <u4 for 2.0 and 3.0)
    header                      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
                                (latin-1; UTF-8 in 3.0), padded with spaces and a newline
    data                        product(shape) items, C (or Fortran) order
"""
from __future__ import annotations

import ast
import math
import struct

import numpy as np

MAGIC = b"\x93NUMPY"
MAX_HEADER = 1 << 16  # numpy.load refuses headers over 10 000 bytes by default
CHUNK = 1 << 24       # data is read 16 MiB at a time, straight into the array's buffer


class NpyError(ValueError):
    """A stream that is not a valid ``.npy`` array; the message is a predicate
    ("is not a valid .npy array (...)") to follow the member's name."""


def short_repr(value, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _bad(what: str) -> NpyError:
    return NpyError(f"is not a valid .npy array ({what})")


def read_header(stream, size: int) -> tuple[tuple, bool, np.dtype, int]:
    """``(shape, fortran_order, dtype, data_bytes)`` from the start of a stream of
    ``size`` bytes, checked against each other and against ``size``."""
    prefix = stream.read(8)
    if len(prefix) < 8 or prefix[:6] != MAGIC:
        raise _bad("it does not start with the .npy magic string")
    version = (prefix[6], prefix[7])
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise _bad(f"unknown .npy format version {version[0]}.{version[1]}")
    length_format = "<H" if version == (1, 0) else "<I"
    field = stream.read(struct.calcsize(length_format))
    if len(field) < struct.calcsize(length_format):
        raise _bad("it ends inside its header")
    (length,) = struct.unpack(length_format, field)
    start = len(prefix) + len(field)
    if length > min(MAX_HEADER, size - start):
        raise _bad(f"its header length {length} does not fit in its {size} bytes")
    text = stream.read(length)
    if len(text) < length:
        raise _bad("it ends inside its header")
    try:
        header = ast.literal_eval(text.decode("utf-8" if version[0] >= 3 else "latin-1"))
    except (UnicodeDecodeError, SyntaxError, ValueError, TypeError, MemoryError,
            RecursionError) as error:
        raise _bad(f"its header is not a Python literal: {error}") from error
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise _bad(f"its header {short_repr(header)} is not a dict of 'descr', 'fortran_order' "
                   "and 'shape'")
    shape, fortran = header["shape"], header["fortran_order"]
    if not isinstance(fortran, bool):
        raise _bad(f"fortran_order is {short_repr(fortran)}, not True or False")
    if not isinstance(shape, tuple) or not all(type(n) is int and n >= 0 for n in shape):
        raise _bad(f"its shape {short_repr(shape)} is not a tuple of non-negative ints")
    try:
        dtype = np.lib.format.descr_to_dtype(header["descr"])
    except Exception as error:  # descr_to_dtype raises several types on bad input
        raise _bad(f"descr {short_repr(header['descr'])} is not a dtype: {error}") from error
    if dtype.hasobject:
        raise _bad(f"its dtype {dtype} holds Python objects, which only pickle could read; "
                   "minicnn never unpickles")
    count = math.prod(shape)
    expected, available = count * dtype.itemsize, size - start - length
    if expected != available:
        raise NpyError(f"has a .npy header declaring shape {shape} of {dtype} ({expected} "
                       f"bytes of data) but holds {available} bytes of data (corrupt header "
                       "or truncated member)")
    if count > np.iinfo(np.intp).max:  # possible only for items of 0 bytes
        raise _bad(f"its shape {shape} has more elements than an array can hold")
    return shape, fortran, dtype, expected


def read_npy(stream, size: int) -> np.ndarray:
    """The array in a ``.npy`` stream of exactly ``size`` bytes, read to its end.
    Raises ``NpyError`` (a ``ValueError``) saying what is wrong."""
    shape, fortran, dtype, nbytes = read_header(stream, size)
    order = "F" if fortran else "C"
    if nbytes == 0:
        return np.empty(shape, dtype=dtype, order=order)
    buffer = bytearray(nbytes)
    view, done = memoryview(buffer), 0
    while done < nbytes:
        chunk = stream.read(min(CHUNK, nbytes - done))
        if not chunk:
            raise NpyError(f"ends {nbytes - done} bytes before the end of its data "
                           "(truncated)")
        view[done:done + len(chunk)] = chunk
        done += len(chunk)
    return np.frombuffer(buffer, dtype=dtype, count=math.prod(shape)).reshape(shape,
                                                                              order=order)
