"""One definition of an exported model directory, validated once when it is opened.

A bundle is the directory ``training export`` writes: ``metadata.json`` (the schema of
:mod:`facecore.metadata`), ``model.onnx`` and/or ``saved_model/``. ``ModelBundle.load`` reads
the metadata, turns its ``preprocessing`` block into a typed :class:`PreprocessConfig`, and
checks that the pieces agree (square input whose size and channels are the preprocessing's),
so the service, evaluation and the benchmarks all read a model by the same rules.
:class:`facecore.onnx_model.OnnxModel` then checks the ONNX graph against the bundle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from facecore.metadata import MetadataError, ModelMetadata
from facecore.preprocess_config import PreprocessConfig
from facecore.quantized import PRECISIONS, Precision

ONNX_FILE = "model.onnx"
SAVED_MODEL_DIR = "saved_model"
_MODEL_FILES = {"onnx": ONNX_FILE, "savedmodel": SAVED_MODEL_DIR}


class ModelBundleError(ValueError):
    """The directory is not a usable exported model; the message says what is wrong."""


@dataclass(frozen=True)
class ModelBundle:
    """An exported model: where it is, its metadata and its typed preprocessing."""

    directory: Path
    metadata: ModelMetadata
    preprocess: PreprocessConfig

    @property
    def precision(self) -> Precision:
        """``float32`` (model.onnx) or ``int8`` (the int8 block's file and calibration)."""
        return self.metadata.precision

    @classmethod
    def load(cls, directory: str | Path, precision: Precision = "float32") -> ModelBundle:
        """Read and cross-check an export directory; ``int8`` opens its quantised model.

        With ``int8`` the bundle's metadata is the int8 view (:meth:`ModelMetadata.view`): its
        threshold and operating points are the INT8 model's, name and version the same.

        Raises:
            ModelBundleError: Missing directory or metadata, invalid metadata or
                preprocessing, or an input size/channels that the preprocessing does not make;
                for ``int8``, no int8 block, or its file missing or not the one it hashed.
        """
        path = Path(directory).resolve()
        if not path.is_dir():
            raise ModelBundleError(f"{path} is not a directory")
        if precision not in PRECISIONS:
            raise ModelBundleError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        try:
            metadata = ModelMetadata.load(path)
        except MetadataError as error:
            raise ModelBundleError(" ".join(str(error).split())) from None
        if precision == "int8":
            metadata = _int8_view(path, metadata)
        try:
            preprocess = PreprocessConfig.from_dict(metadata.preprocessing)
        except (TypeError, ValueError) as error:
            raise ModelBundleError(f"{path}: metadata.json preprocessing: {error}") from None
        height, width = metadata.input.size
        if (height, width, metadata.input.channels) != (
            preprocess.size,
            preprocess.size,
            preprocess.channels,
        ):
            raise ModelBundleError(
                f"{path}: the model takes {height}x{width}x{metadata.input.channels} pixels, "
                f"but its preprocessing makes {preprocess.size}x{preprocess.size}x"
                f"{preprocess.channels}"
            )
        return cls(path, metadata, preprocess)

    def model_file(self, backend: str) -> Path:
        """Return the model file of ``backend`` (``onnx`` or ``savedmodel``).

        Raises:
            ModelBundleError: The export holds no model for that backend.
        """
        int8 = self.metadata.int8
        if self.precision == "int8" and int8 is not None:
            if backend != "onnx":
                raise ModelBundleError(f"{self.directory}: the int8 model is served by onnx only")
            return self.directory / int8.file
        path = self.directory / _MODEL_FILES[backend]
        if not path.exists():
            raise ModelBundleError(f"{self.directory}: no {_MODEL_FILES[backend]} in the export")
        return path

    @property
    def size(self) -> int:
        """Side of the square model input."""
        return self.preprocess.size

    @property
    def channels(self) -> int:
        """Channels of the model input (1 grey, 3 RGB)."""
        return self.preprocess.channels

    @property
    def input_name(self) -> str:
        """Name of the pixel input tensor."""
        return self.metadata.input.name

    @property
    def output_name(self) -> str:
        """Name of the embedding output tensor."""
        return self.metadata.embedding.name

    @property
    def dimension(self) -> int:
        """Length of one embedding."""
        return self.metadata.embedding.dimension


def _int8_view(path: Path, metadata: ModelMetadata) -> ModelMetadata:
    """Return the int8 view of ``metadata``, its file checked against the SHA-256."""
    if metadata.int8 is None:
        raise ModelBundleError(
            f"{path}: metadata.json has no int8 block (make one with python -m training quantize)"
        )
    try:
        metadata.int8.check_file(path)
    except (OSError, ValueError) as error:
        raise ModelBundleError(str(error)) from None
    return metadata.view("int8")
