"""A pure-Python reader of dlib's binary serialisation (no dlib needed to read its models).

Follows dlib 19.24's ``dlib/serialize.h`` (integers: one control byte, low 4 bits = byte count,
0x80 = negative, then little-endian bytes; strings: length then bytes; bools: ASCII '0'/'1';
floats: ``float_details``, an int64 mantissa and int16 exponent) and ``dlib/cuda/tensor.h``
(tensors: version 2, four dimensions, raw little-endian float32).
"""

from __future__ import annotations

import math

import numpy as np

FLOAT_INF, FLOAT_NINF = 32000, 32001  # float_details' exponent codes (32002: NaN)


class DlibFormatError(ValueError):
    """The bytes do not follow dlib's serialisation where the reader expected them to."""


class DlibStream:
    """Reads dlib-serialised values one after another from a bytes buffer."""

    def __init__(self, data: bytes) -> None:
        """Start reading ``data`` at its first byte."""
        self.data = memoryview(data)
        self.offset = 0

    def _take(self, count: int) -> memoryview:
        """Return the next ``count`` bytes and move past them."""
        end = self.offset + count
        if end > len(self.data):
            raise DlibFormatError(f"unexpected end of data at byte {self.offset}")
        chunk = self.data[self.offset : end]
        self.offset = end
        return chunk

    def int(self, signed: bool = True) -> int:
        """Read an integer (``ser_helper::unpack_int``)."""
        control = self._take(1)[0]
        size = control & 0x0F
        negative = bool(control & 0x80)
        if size == 0 or size > 8 or (negative and not signed):
            raise DlibFormatError(f"bad integer control byte {control:#x} at {self.offset - 1}")
        value = int.from_bytes(self._take(size), "little")
        return -value if negative else value

    def uint(self) -> int:
        """Read an unsigned integer."""
        return self.int(signed=False)

    def string(self) -> str:
        """Read a ``std::string``: its length, then its bytes."""
        return bytes(self._take(self.uint())).decode("latin-1")

    def bool(self) -> bool:
        """Read a ``bool``, stored as the character '0' or '1'."""
        char = bytes(self._take(1))
        if char not in (b"0", b"1"):
            raise DlibFormatError(f"bad bool {char!r} at {self.offset - 1}")
        return char == b"1"

    def float(self) -> float:
        """Read a ``float``/``double`` in the binary ``float_details`` form (mantissa, exponent)."""
        if self.data[self.offset] & 0x70:
            raise DlibFormatError(f"old ASCII float format at {self.offset}: not supported")
        mantissa, exponent = self.int(), self.int()
        if exponent < FLOAT_INF:
            return math.ldexp(float(mantissa), exponent)
        return {FLOAT_INF: math.inf, FLOAT_NINF: -math.inf}.get(exponent, math.nan)

    def version(self, *accepted: str) -> str:
        """Read a layer's version string; it must be one of ``accepted``."""
        found = self.string()
        if found not in accepted:
            raise DlibFormatError(f"expected {' or '.join(accepted)}, found {found!r}")
        return found

    def int_version(self, low: int, high: int, what: str) -> int:
        """Read a numeric version of ``what``; it must lie in ``low..high``."""
        found = self.int()
        if not low <= found <= high:
            raise DlibFormatError(f"unexpected {what} version {found}")
        return found

    def tensor(self) -> np.ndarray:
        """Read a ``resizable_tensor``: float32 (num_samples, k, nr, nc)."""
        self.int_version(2, 2, "tensor")
        shape = tuple(self.int() for _ in range(4))
        count = math.prod(shape)
        values = np.frombuffer(self._take(4 * count), dtype="<f4", count=count)
        return values.astype(np.float32).reshape(shape)

    def alias(self) -> tuple[int, int, int, int]:
        """Read an ``alias_tensor``'s shape (a view into a layer's params)."""
        self.int_version(1, 1, "alias_tensor")
        return tuple(self.int() for _ in range(4))  # type: ignore[return-value]

    def at_end(self) -> bool:
        """Whether every byte has been read."""
        return self.offset == len(self.data)


def split_params(params: np.ndarray, *shapes: tuple[int, ...]) -> list[np.ndarray]:
    """Cut a layer's flat ``params`` into consecutive arrays of ``shapes`` (dlib's aliases).

    Raises:
        DlibFormatError: The shapes do not add up to the params' size.
    """
    flat = params.reshape(-1)
    sizes = [math.prod(shape) for shape in shapes]
    if sum(sizes) != flat.size:
        raise DlibFormatError(f"params of size {flat.size} cannot hold shapes {shapes}")
    parts, start = [], 0
    for shape, size in zip(shapes, sizes, strict=True):
        parts.append(flat[start : start + size].reshape(shape))
        start += size
    return parts
