"""Embed original photos as the service does: decode, detect, align, ONNX model.

Unlike :mod:`training.evaluation.embedder` (prepared crops), this starts from the photos a client
would
upload and goes through :class:`facecore.preprocess.FacePreprocessor` and
:class:`facecore.onnx_model.OnnxModel`. A photo whose face the detector does not find (a centre
crop or no face at all) or whose face fails the service's quality gate at its default limits
(:mod:`facecore.quality`) gets no embedding: the service refuses such images. Embeddings are
cached in an ``.npz`` per model file, so a photo is embedded once across runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facecore.decode import decode_image
from facecore.errors import FaceCoreError, LowQualityFaceError, NoFaceError
from facecore.model_bundle import ModelBundle
from facecore.onnx_model import OnnxModel
from facecore.preprocess import FacePreprocessor
from facecore.quality import QualityLimits, check_detected_face
from facecore.quantized import Precision
from training.data.vectors import unit_rows

# An identity namespace -> the folders of ../shared/data/faces holding its people.
NAMESPACE_FOLDERS = {"celeba": ("celeba_subset", "celeba_aligned_small")}
BATCH = 64
NO_FACE = ("center", "no_face", "low_quality", "invalid")  # methods without an embedding
QUALITY = QualityLimits()  # the service's default gate

CACHE_DIR = Path("/tmp/faceverify_identification")  # embeddings, one file per model


@dataclass(frozen=True)
class Photo:
    """One original photo of a held-out person and the set (folder) it comes from."""

    path: Path
    identity: str
    set: str


@dataclass(frozen=True, eq=False)  # holds an array: compare by identity
class EmbeddedPhotos:
    """Photos with a detected face, their unit embeddings, and how every photo fared."""

    photos: list[Photo]
    embeddings: np.ndarray  # float32 (len(photos), D)
    methods: dict[str, int]  # detected / padded / center / no_face / invalid -> photos


def heldout_photos(split_file: Path, data: Path) -> list[Photo]:
    """Every original photo under ``data/SET/PERSON/`` of the held-out people of a split."""
    identities = json.loads(split_file.read_text(encoding="utf-8"))["heldout_identities"]
    photos = []
    for identity in identities:
        namespace, name = identity.split("/", 1)
        for folder in NAMESPACE_FOLDERS.get(namespace, (namespace,)):
            photos += [
                Photo(path, identity, folder)
                for path in sorted((data / folder / name).glob("*"))
                if path.is_file()
            ]
    if not photos:
        raise FileNotFoundError(f"no photos of {split_file}'s held-out people under {data}")
    return photos


def model_key(model_dir: Path, precision: Precision = "float32") -> str:
    """Return a short hash of the model file and its preprocessing (the cache's key)."""
    bundle = ModelBundle.load(model_dir, precision)
    digest = hashlib.sha256(bundle.model_file("onnx").read_bytes())
    digest.update(json.dumps(bundle.metadata.preprocessing, sort_keys=True).encode())
    digest.update(repr(QUALITY).encode())
    return digest.hexdigest()[:16]


def embed_photos(
    model_dir: Path, photos: list[Photo], cache: Path | None, precision: Precision = "float32"
) -> EmbeddedPhotos:
    """Embed each photo once (reading and extending ``cache``); keep those with a face."""
    cached = _read_cache(cache)
    missing = sorted({str(p.path) for p in photos} - cached.keys())
    if missing:
        cached.update(_embed_paths(model_dir, missing, precision))
        _write_cache(cache, cached)
    methods: dict[str, int] = {}
    kept, rows = [], []
    for photo in photos:
        method, embedding = cached[str(photo.path)]
        methods[method] = methods.get(method, 0) + 1
        if method not in NO_FACE:
            kept.append(photo)
            rows.append(embedding)
    embeddings = np.stack(rows).astype(np.float32) if rows else np.empty((0, 0), np.float32)
    return EmbeddedPhotos(kept, embeddings, methods)


def _embed_paths(
    model_dir: Path, paths: list[str], precision: Precision
) -> dict[str, tuple[str, np.ndarray]]:
    """Detect, align and embed each file; a photo without a face gets a zero row."""
    bundle = ModelBundle.load(model_dir, precision)
    preprocessor, model = FacePreprocessor(bundle.preprocess), OnnxModel(bundle)
    empty = np.zeros(bundle.dimension, np.float32)
    methods, pixels = {}, {}
    for path in paths:
        methods[path], prepared = _prepare(preprocessor, Path(path))
        if methods[path] not in NO_FACE:
            pixels[path] = prepared
    done = list(pixels)
    for start in range(0, len(done), BATCH):
        batch = done[start : start + BATCH]
        rows = unit_rows(model.embed(np.stack([pixels[p] for p in batch])))
        pixels.update(zip(batch, rows, strict=True))
    return {path: (methods[path], pixels.get(path, empty)) for path in paths}


def _prepare(preprocessor: FacePreprocessor, path: Path) -> tuple[str, np.ndarray | None]:
    """Return how the photo fared and, when it would be embedded, its model pixels."""
    try:
        rgb = decode_image(path.read_bytes())
        prepared = preprocessor.process(rgb)
        if prepared.face is not None:
            check_detected_face(rgb, prepared.face, preprocessor.detector, QUALITY)
    except NoFaceError:
        return "no_face", None
    except LowQualityFaceError:
        return "low_quality", None
    except FaceCoreError:  # undecodable, too large, several faces under "reject"
        return "invalid", None
    return prepared.method, prepared.pixels


def _read_cache(cache: Path | None) -> dict[str, tuple[str, np.ndarray]]:
    if cache is None or not cache.is_file():
        return {}
    with np.load(cache) as stored:
        return {
            str(path): (str(method), row)
            for path, method, row in zip(
                stored["paths"], stored["methods"], stored["embeddings"], strict=True
            )
        }


def _write_cache(cache: Path | None, entries: dict[str, tuple[str, np.ndarray]]) -> None:
    if cache is None:
        return
    cache.parent.mkdir(parents=True, exist_ok=True)
    paths = sorted(entries)
    np.savez(
        cache,
        paths=np.array(paths),
        methods=np.array([entries[p][0] for p in paths]),
        embeddings=np.stack([entries[p][1] for p in paths]).astype(np.float32),
    )
