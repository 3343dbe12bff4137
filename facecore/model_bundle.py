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

    @classmethod
    def load(cls, directory: str | Path) -> ModelBundle:
        """Read and cross-check an export directory.

        Raises:
            ModelBundleError: Missing directory or metadata, invalid metadata or
                preprocessing, or an input size/channels that the preprocessing does not make.
        """
        path = Path(directory).resolve()
        if not path.is_dir():
            raise ModelBundleError(f"{path} is not a directory")
        try:
            metadata = ModelMetadata.load(path)
        except MetadataError as error:
            raise ModelBundleError(" ".join(str(error).split())) from None
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
