"""Write a model as an export: ONNX + SavedModel + ``metadata.json``; load checkpoints back.

The exported graph takes raw pixel values (0..255, the model's first layer rescales them)
and returns L2-normalised embeddings, so the service only has to prepare the pixels with
``facecore.preprocess.to_model_input`` and compare embeddings by dot product.
"""

from __future__ import annotations

import contextlib
import importlib
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from facecore.metadata import EmbeddingSpec, InputSpec, ModelMetadata, Threshold
from training.data.terms import terms_of_training
from training.model.embedding import FEATURE_LAYER, INPUT_NAME, OUTPUT_NAME, embedding_model

PLACEHOLDER_THRESHOLD = Threshold(
    cosine=0.5, operating_point="uncalibrated placeholder", calibrated=False
)
CUSTOM_OBJECT_MODULES = ("training.model.layers", "training.model.losses")


def export_model(
    model: Any,
    out_dir: str | Path,
    *,
    name: str,
    version: str,
    preprocess: dict[str, Any],
    training_info: dict[str, Any] | None = None,
    terms: str | None = None,
    threshold: Threshold = PLACEHOLDER_THRESHOLD,
    saved_model: bool = True,
    embedding_layers: Sequence[str] = (FEATURE_LAYER,),
    mirror_average: bool = False,
) -> ModelMetadata:
    """Write ``model.onnx``, ``saved_model/`` and ``metadata.json`` into ``out_dir``.

    Args:
        model: A Keras training model (cut at ``feature``) or feature model.
        out_dir: The export directory; created if missing, files in it are replaced.
        name: Model name for the metadata.
        version: Model version for the metadata.
        preprocess: ``PreprocessConfig.to_dict()`` of the pipeline that made the inputs.
        training_info: Preset, sets, people, images, command and any other facts.
        terms: Data terms text; derived from ``training_info["sets"]`` when None.
        threshold: Verification threshold; an uncalibrated placeholder by default.
        saved_model: Also write the TensorFlow SavedModel.
        embedding_layers: The layers served as the embedding (see :func:`embedding_model`).
        mirror_average: Serve the mean of each image's and its mirror image's embeddings.

    Returns:
        The metadata written.
    """
    embedder = embedding_model(model, embedding_layers, mirror_average)
    height, width, channels = embedder.inputs[0].shape[1:]
    out = Path(out_dir)
    _write_graphs(embedder, out, saved_model)
    info = training_info or {}
    metadata = ModelMetadata(
        name=name,
        version=version,
        git_commit=git_commit(),
        input=InputSpec(size=(height, width), channels=channels, name=INPUT_NAME),
        embedding=EmbeddingSpec(
            dimension=embedder.output[OUTPUT_NAME].shape[-1],
            mirror_averaged=mirror_average,
            layers=tuple(embedding_layers),
        ),
        preprocessing=preprocess,
        threshold=threshold,
        training=info or None,
        terms=terms if terms is not None else terms_of_training(info),
    )
    metadata.save(out / "metadata.json")
    return metadata


def _write_graphs(embedder: Any, out: Path, saved_model: bool) -> None:
    """Write ``model.onnx`` (batch dimension named) and, if asked, ``saved_model/``."""
    import tensorflow as tf

    height, width, channels = embedder.inputs[0].shape[1:]
    spec = tf.TensorSpec([None, height, width, channels], tf.float32, name=INPUT_NAME)
    out.mkdir(parents=True, exist_ok=True)
    embedder.export(str(out / "model.onnx"), format="onnx", input_signature=[spec], verbose=False)
    _name_batch_dimension(out / "model.onnx")
    if saved_model:
        embedder.export(
            str(out / "saved_model"), format="tf_saved_model", input_signature=[spec], verbose=False
        )


def _name_batch_dimension(onnx_path: Path) -> None:
    """Give the dynamic batch axis a readable name ("N") instead of tf2onnx's ``unk__12``."""
    import onnx

    graph_model = onnx.load(str(onnx_path))
    for value in (*graph_model.graph.input, *graph_model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    onnx.save(graph_model, str(onnx_path))


def git_commit() -> str | None:
    """Return the current git commit, or None outside a repository."""
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        )
        return done.stdout.strip()
    return None


def load_checkpoint(path: str | Path) -> Any:
    """Load a Keras checkpoint, registering the project's custom layers and losses first."""
    import keras

    for module_name in CUSTOM_OBJECT_MODULES:
        with contextlib.suppress(ModuleNotFoundError):
            importlib.import_module(module_name)
    return keras.saving.load_model(str(path), compile=False)
