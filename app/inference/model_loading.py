"""Load, warm up and check the served model, with one clear error when it cannot be served."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import numpy as np

from app.inference.model_streams import intra_op_threads
from app.inference.precision import choose_precision
from app.inference.runtime import EmbeddingRuntime, load_runtime
from app.settings import Settings
from facecore.metadata import ModelMetadata
from facecore.model_bundle import ModelBundle
from facecore.preprocess_config import PreprocessConfig

logger = logging.getLogger(__name__)

WARM_UP_BATCH = 8


class ModelLoadError(RuntimeError):
    """The model directory cannot be served; the message is one line naming the setting."""


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to serve: its metadata, preprocessing and warmed-up runtime."""

    metadata: ModelMetadata
    config: PreprocessConfig
    runtime: EmbeddingRuntime


def preprocess_config(bundle: ModelBundle, settings: Settings) -> PreprocessConfig:
    """Build the preprocessing from metadata.json plus the settings' policies.

    What happens without a detected face is the service's decision, never the model's: the
    metadata's ``no_face_policy`` (how training cached its crops) is replaced by the setting,
    which has no centre-crop fallback (a client's face crop is a per-request option).
    """
    config = dataclasses.replace(bundle.preprocess, no_face_policy=settings.no_face_policy)
    if settings.face_policy is None:
        return config
    return dataclasses.replace(config, face_policy=settings.face_policy)


def load_model(settings: Settings) -> LoadedModel:
    """Read metadata.json, open the runtime, run one warm-up batch and check its output.

    Raises:
        ModelLoadError: Metadata missing or invalid, model file missing or unreadable, or
            the model's embedding size differs from ``metadata.embedding.dimension``.
    """
    where = f"FACEVERIFY_MODEL_PATH={settings.model_path}"
    try:
        bundle = ModelBundle.load(settings.model_path)
        precision, why = choose_precision(settings, bundle.metadata)
        if precision != "float32":
            where += f" with FACEVERIFY_PRECISION={settings.precision}"
            bundle = ModelBundle.load(settings.model_path, precision)
        logger.info("model precision: %s (%s)", precision, why)
        metadata, config = bundle.metadata, preprocess_config(bundle, settings)
        threads = intra_op_threads(settings)
        runtime = load_runtime(bundle, settings.backend, settings.device, threads)
        height, width = metadata.input.size
        batch = np.zeros(
            (min(settings.batch_max_size, WARM_UP_BATCH), height, width, metadata.input.channels),
            np.float32,
        )
        output = runtime.embed(batch)
    except Exception as exc:  # noqa: BLE001 - any failure here means "cannot serve this model"
        reason = " ".join(str(exc).split())[:500] or type(exc).__name__
        raise ModelLoadError(f"cannot serve the model at {where}: {reason}") from exc
    if output.ndim != 2 or output.shape[1] != metadata.embedding.dimension:
        raise ModelLoadError(
            f"cannot serve the model at {where}: it outputs embeddings of shape "
            f"{tuple(output.shape)}, but metadata.json says dimension "
            f"{metadata.embedding.dimension}"
        )
    return LoadedModel(metadata, config, runtime)


def describe(metadata: ModelMetadata) -> str:
    """Name, version, precision, dimension and default threshold of a model, for the log."""
    return (
        f"{metadata.name} {metadata.version} {metadata.precision} "
        f"(dimension {metadata.embedding.dimension}, "
        f"threshold {metadata.threshold.cosine:.4f})"
    )
