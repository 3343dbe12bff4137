"""The teacher through ONNX Runtime: an export of dlib's network on our own chips, no dlib.

``training teacher --backend onnx --model DIR`` embeds each prepared face as the service would
serve it with that export (by default ``models/dlib-resnet-v1``, made by ``training
convert-dlib``): facecore's detector runs on the *original* photo, the detection matching the
box ``prepare`` logged (IoU >= :data:`MATCH_IOU`) is aligned by the export's own preprocessing
(:meth:`facecore.preprocess.FacePreprocessor.model_input_of`, ``dlib_chip`` 150 px for the
converted network), and :class:`facecore.onnx_model.OnnxModel` computes the vectors. A crop that
``prepare`` centre-cropped (no box) goes through :meth:`FacePreprocessor.process`, the service's
whole path. Nothing here imports dlib.

``--view mirror`` mirrors the model input left to right, which means something only for a
single-view export: a mirror-averaged export (``embedding.mirror_averaged`` in its metadata)
already returns the mean of both views, so its mirror view would repeat the original; that is
refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facecore.decode import decode_image
from facecore.detect import Face
from facecore.errors import FaceCoreError
from facecore.file_digest import file_sha256
from facecore.model_bundle import ModelBundle
from facecore.nms import box_iou
from facecore.onnx_model import OnnxModel
from facecore.preprocess import FacePreprocessor
from training.crops.cache import MAX_FILE_BYTES, MAX_PIXELS
from training.data.vectors import unit_rows
from training.teacher import cache as teacher_cache

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "models" / "dlib-resnet-v1"
MATCH_IOU = 0.5  # a detection this close to prepare's box is the same face
BATCH = 32  # chips per ONNX Runtime call
THREADS = 1  # ONNX Runtime threads per worker process: parallelism comes from --workers


def teacher_info(model_dir: Path, view: str) -> teacher_cache.TeacherInfo:
    """Return the record of vectors made by the export in ``model_dir`` for ``view``.

    Raises:
        facecore.model_bundle.ModelBundleError: Not a usable export (a ``ValueError``).
        ValueError: ``--view mirror`` of a mirror-averaged export.
        OSError: ``model.onnx`` cannot be read.
    """
    bundle = ModelBundle.load(model_dir)
    metadata = bundle.metadata
    mirrored = metadata.embedding.mirror_averaged
    if mirrored and view == teacher_cache.MIRROR:
        raise ValueError(
            f"{bundle.directory} is mirror-averaged: its vector of a mirrored chip is that of "
            "the chip, so --view mirror would repeat --view original; give a single-view export "
            "(`python -m training convert-dlib` without --mirror-average) as --model"
        )
    source = getattr(metadata.training, "source", None) or {}
    preprocess = bundle.preprocess
    alignment = (
        f"facecore {preprocess.alignment} {preprocess.size} px chip of the detection matching "
        "the prepare box in the original photo"
    )
    if view == teacher_cache.MIRROR:
        alignment += ", chip mirrored left to right"
    return teacher_cache.TeacherInfo(
        name=metadata.name,
        dimension=bundle.dimension,
        alignment=alignment,
        backend="onnx",
        version=metadata.version,
        sha256=file_sha256(bundle.model_file("onnx")),
        source_sha256=str(source.get("sha256", "")),
        mirror_averaged=mirrored,
    )


_TEACHER: tuple[FacePreprocessor, OnnxModel] | None = None


def load_teacher(model_dir: str) -> None:
    """Open the export's preprocessing and ONNX session once per process."""
    global _TEACHER
    bundle = ModelBundle.load(model_dir)
    _TEACHER = (FacePreprocessor(bundle.preprocess), OnnxModel(bundle, threads=THREADS))


def embed_chunk(
    entries: list[dict], mirror: bool = False
) -> tuple[list[str], np.ndarray, list[dict]]:
    """Embed one chunk of prepare-log entries (each chip mirrored if asked).

    A photo that cannot be read, whose face is no longer found, or whose vector is degenerate
    becomes a failure record instead.
    """
    assert _TEACHER is not None, "call load_teacher() first"
    preprocessor, model = _TEACHER
    embedded, chips, failures = [], [], []
    for entry in entries:
        try:
            chip = model_input(preprocessor, Path(entry["path"]), entry.get("box"))
        except (FaceCoreError, OSError, ValueError) as error:
            failures.append(_failure(entry, str(error)))
            continue
        chips.append(chip[:, ::-1] if mirror else chip)
        embedded.append(entry)
    vectors = _embed(model, chips)
    norms = np.linalg.norm(vectors, axis=1)
    good = np.isfinite(norms) & (norms >= 1e-6)
    pairs = list(zip(embedded, good, strict=True))
    failures += [_failure(e, "teacher returned a degenerate vector") for e, ok in pairs if not ok]
    keys = [entry["crop"] for entry, ok in pairs if ok]
    return keys, unit_rows(vectors[good]).astype(np.float32), failures


def _failure(entry: dict, error: str) -> dict:
    """Return the failure record of a prepare-log entry, as the dlib backend writes it."""
    return {"crop": entry["crop"], "path": entry["path"], "error": error}


def _embed(model: OnnxModel, chips: list[np.ndarray]) -> np.ndarray:
    """Raw vectors of ``chips`` in batches of :data:`BATCH`, float32 (len(chips), D)."""
    if not chips:
        return np.zeros((0, model.bundle.dimension), np.float32)
    batches = [np.stack(chips[i : i + BATCH]) for i in range(0, len(chips), BATCH)]
    return np.concatenate([model.embed(batch) for batch in batches])


def model_input(preprocessor: FacePreprocessor, path: Path, box: list[float] | None) -> np.ndarray:
    """Return the export's input pixels of the face ``prepare`` found at ``box`` in a photo.

    Raises:
        facecore.errors.FaceCoreError: Undecodable photo, or (without a box) no face the
            service's fallbacks accept.
        ValueError: No detection matches ``box``.
    """
    rgb = decode_image(path.read_bytes(), max_bytes=MAX_FILE_BYTES, max_pixels=MAX_PIXELS)
    if box is None:
        return preprocessor.process(rgb).pixels
    faces, _ = preprocessor.find_faces(rgb)
    return preprocessor.model_input_of(rgb, matching_face(faces, box))


def matching_face(faces: list[Face], box: list[float]) -> Face:
    """Return the detection overlapping ``box`` (x, y, width, height) the most.

    Raises:
        ValueError: None overlaps it by at least :data:`MATCH_IOU`.
    """
    x, y, width, height = box
    corners = np.array(
        [[f.box[0], f.box[1], f.box[0] + f.box[2], f.box[1] + f.box[3]] for f in faces]
    )
    overlaps = box_iou(np.array([x, y, x + width, y + height]), corners) if faces else np.zeros(0)
    if not len(overlaps) or overlaps.max() < MATCH_IOU:
        best = f"{overlaps.max():.2f}" if len(overlaps) else "no detection"
        raise ValueError(f"no detection matches the prepare box {box} (best IoU: {best})")
    return faces[int(overlaps.argmax())]
