"""Our system over HTTP: ``bench.local_service`` and ``POST /embed``, one image per request."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx2
import numpy as np

from bench.local_service import local_service
from bench.peer.embedders import Embedded, timed


@dataclass(frozen=True)
class HttpEmbedClient:
    """Sends one encoded image file per ``POST /embed`` and reads ``results[0].embedding``."""

    client: httpx2.Client

    def embed_file(self, name: str, data: bytes) -> Embedded:
        """Embed one file over HTTP, timing the whole round trip (upload, decode, model).

        Args:
            name: File name sent in the multipart part.
            data: The encoded image, exactly as stored on disk.

        Returns:
            The embedding (None when the service found no face) and the round-trip time.
        """
        return timed(lambda: self._request(name, data))

    def _request(self, name: str, data: bytes) -> np.ndarray | None:
        response = self.client.post("/embed", files=[("images", (name, data))])
        if response.status_code == 422:
            return None
        response.raise_for_status()
        result = response.json()["results"][0]
        embedding = result.get("embedding")
        if embedding is None or result.get("fallback"):
            return None
        return np.asarray(embedding, dtype=np.float32)


def embed_files_over_http(model_dir: Path, files: list[Path]) -> list[Embedded]:
    """Serve ``model_dir`` locally and embed every file through the API, one request each.

    Args:
        model_dir: Exported model directory.
        files: Image files, sent as stored.

    Returns:
        One :class:`Embedded` per file, in order.
    """
    with (
        local_service(model_dir) as service,
        httpx2.Client(base_url=service.url, timeout=60.0) as client,
    ):
        http = HttpEmbedClient(client)
        http.embed_file(files[0].name, files[0].read_bytes())  # warm-up, not timed
        return [http.embed_file(path.name, path.read_bytes()) for path in files]
