"""Templates as bytes in the database: float32 little-endian, optionally Fernet-encrypted."""

from __future__ import annotations

import numpy as np
from cryptography.fernet import Fernet, InvalidToken

_DTYPE = np.dtype("<f4")


class TemplateDecodeError(RuntimeError):
    """A stored template cannot be read back (encrypted without a key, wrong key, bad size)."""


class TemplateCodec:
    """Encodes embeddings for storage; encrypts them when a Fernet key is configured."""

    def __init__(self, key: str | None) -> None:
        """Args: key: A Fernet key (urlsafe base64 of 32 bytes), or None for plain storage."""
        self._fernet = Fernet(key.encode()) if key else None

    @property
    def encrypts(self) -> bool:
        """Whether new templates are stored encrypted."""
        return self._fernet is not None

    def encode(self, embedding: np.ndarray) -> bytes:
        """Bytes to store for one embedding."""
        raw = np.ascontiguousarray(embedding, dtype=_DTYPE).tobytes()
        return self._fernet.encrypt(raw) if self._fernet else raw

    def decode(self, data: bytes, encrypted: bool, dimension: int) -> np.ndarray:
        """Return the float32 embedding of stored bytes.

        Raises:
            TemplateDecodeError: The row is encrypted and no (or another) key is configured,
                or its size does not match ``dimension``.
        """
        if encrypted:
            if self._fernet is None:
                raise TemplateDecodeError(
                    "the gallery holds encrypted templates; set FACEVERIFY_ENCRYPTION_KEY"
                )
            try:
                data = self._fernet.decrypt(data)
            except InvalidToken as exc:
                raise TemplateDecodeError(
                    "a stored template does not decrypt with FACEVERIFY_ENCRYPTION_KEY"
                ) from exc
        if len(data) != dimension * _DTYPE.itemsize:
            raise TemplateDecodeError(
                f"a stored template has {len(data)} bytes, expected {dimension} float32"
            )
        return np.frombuffer(data, dtype=_DTYPE).astype(np.float32)
