"""The IDX file format of MNIST and Fashion-MNIST: a tiny header, then raw big-endian numbers.

Layout (http://yann.lecun.com/exdb/mnist/, section "file formats")::

    bytes 0-1   0x00 0x00            (the magic number starts with two zero bytes)
    byte  2     dtype code           0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                                     0x0D float32, 0x0E float64
    byte  3     number of dimensions D
    then        D big-endian uint32  the size of each dimension
    then        prod(sizes) items    big-endian, row-major (C order)

The published files are gzip-compressed (``train-images-idx3-ubyte.gz``); ``read_idx``
recognises gzip by its first two bytes (0x1f 0x8b), whatever the file is called.
Every way a file can be broken (wrong magic, unknown dtype code, a header or data cut
short, dimensions whose product disagrees with the data, however large, extra bytes at the
end, a damaged gzip stream) raises ``ValueError`` naming the file.
"""
from __future__ import annotations

import gzip
import math
import os
import struct
import zlib

import numpy as np

# dtype code -> big-endian NumPy dtype of the items
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF_KIND = {(dtype.kind, dtype.itemsize): code for code, dtype in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: str) -> bytes:
    """The file's bytes, decompressed when it is gzip."""
    with open(path, "rb") as stream:
        content = stream.read()
    if content[:2] != _GZIP_MAGIC:
        return content
    try:
        return gzip.decompress(content)
    except (EOFError, OSError, zlib.error) as error:  # truncated stream, bad CRC, bad data
        raise ValueError(f"read_idx: {path} is a damaged or truncated gzip file ({error})") \
            from error


def read_idx(path) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a NumPy array.

    Args:
        path: the file (``str`` or ``os.PathLike``).

    Returns:
        an array of shape ``(d_1, ..., d_D)`` in native byte order (e.g. MNIST images:
        ``(60000, 28, 28)`` uint8; labels: ``(60000,)`` uint8).

    Raises:
        ValueError: the file is not an IDX file or is truncated or corrupt; the message
            names the file and what is wrong.
    """
    path = os.fspath(path)
    content = _read_bytes(path)
    if len(content) < 4:
        raise ValueError(f"read_idx: {path} is too short for an IDX header "
                         f"({len(content)} bytes, expected at least 4)")
    zero0, zero1, code, ndim = content[0], content[1], content[2], content[3]
    if zero0 != 0 or zero1 != 0:
        raise ValueError(f"read_idx: {path} is not an IDX file: the magic number must start "
                         f"with bytes 00 00, got {zero0:02x} {zero1:02x}")
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise ValueError(f"read_idx: {path} has unknown dtype code 0x{code:02X} "
                         f"(expected one of {known})")
    if ndim == 0:
        raise ValueError(f"read_idx: {path} declares 0 dimensions (expected at least 1)")
    header_length = 4 + 4 * ndim
    if len(content) < header_length:
        raise ValueError(f"read_idx: {path} is truncated inside its header: {ndim} dimensions "
                         f"need {header_length} bytes, the file has {len(content)}")
    shape = struct.unpack(f">{ndim}I", content[4:header_length])
    dtype = IDX_DTYPES[code]
    # Python ints: a product of up to 255 uint32 sizes never wraps around (np.prod would,
    # and a wrapped product of 0 once let a damaged header "match" an empty file)
    expected = math.prod(shape) * dtype.itemsize
    found = len(content) - header_length
    if found < expected:
        raise ValueError(f"read_idx: {path} is truncated: shape {shape} of {dtype.name} needs "
                         f"{expected} data bytes, the file has {found} (or the header's "
                         f"dimensions {shape} are corrupt)")
    if found > expected:
        raise ValueError(f"read_idx: {path} has {found - expected} unexpected bytes after the "
                         f"data of shape {shape} (corrupt file or wrong header dimensions)")
    try:
        array = np.frombuffer(content, dtype=dtype, offset=header_length).reshape(shape)
    except ValueError as error:  # e.g. more dimensions than NumPy's 64
        raise ValueError(f"read_idx: {path}: dimensions {shape} cannot be a NumPy array "
                         f"({error})") from error
    return array.astype(dtype.newbyteorder("="))  # native byte order, a writable copy


def write_idx(path, array, compress: bool | None = None) -> None:
    """Write ``array`` as an IDX file (gzip-compressed when ``compress`` is True, or when it
    is None and ``path`` ends with ``.gz``). Used by the tests to make MNIST-like files."""
    path = os.fspath(path)
    array = np.asarray(array)
    code = _CODE_OF_KIND.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise TypeError(f"write_idx: array dtype {array.dtype} has no IDX code (expected uint8, "
                        "int8, int16, int32, float32 or float64)")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"write_idx: expected an array with 1 to 255 dimensions, "
                         f"got {array.ndim}")
    too_big = [size for size in array.shape if size > 0xFFFFFFFF]
    if too_big:
        raise ValueError(f"write_idx: IDX stores each dimension in 32 bits (at most "
                         f"4294967295), got shape {array.shape}")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    content = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    if compress is None:
        compress = path.endswith(".gz")
    if compress:
        content = gzip.compress(content, mtime=0)  # mtime=0: the same array, the same bytes
    with open(path, "wb") as stream:
        stream.write(content)
