"""Model runtimes: ONNX Runtime (default) and TensorFlow SavedModel (imported lazily).

Both take float32 pixels [N, H, W, C] in 0..255 and return L2-normalised embeddings [N, D].
A GPU that is asked for but missing is an error at load time, never a silent CPU fallback.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from facecore.model_bundle import ModelBundle
from facecore.onnx_model import CPU_PROVIDER, OnnxModel

logger = logging.getLogger(__name__)

CUDA_PROVIDER = "CUDAExecutionProvider"


class DeviceUnavailableError(RuntimeError):
    """The configured device (e.g. ``gpu``) cannot be used by the chosen backend."""


class EmbeddingRuntime(Protocol):
    """What the service needs from a model runtime."""

    description: str
    on_gpu: bool

    def embed(self, pixels: np.ndarray) -> np.ndarray:
        """Embed a float32 batch [N, H, W, C]; returns float32 [N, D]."""
        ...


class OnnxRuntime:
    """The service's device choice around :class:`facecore.onnx_model.OnnxModel`."""

    def __init__(self, bundle: ModelBundle, device: str, threads: int) -> None:
        """Create the session on the requested device.

        Args:
            bundle: The validated export.
            device: ``cpu``, ``gpu`` or ``auto`` (GPU when CUDA is available).
            threads: Intra-op threads; 0 lets ONNX Runtime decide.

        Raises:
            DeviceUnavailableError: ``gpu`` was asked for but CUDA cannot be used.
        """
        import onnxruntime as ort

        self.model = OnnxModel(
            bundle, self._providers(device, ort.get_available_providers()), threads
        )
        active = self.model.providers
        if device == "gpu" and CUDA_PROVIDER not in active:
            raise DeviceUnavailableError(
                f"device=gpu but the ONNX Runtime session runs on {active}"
            )
        self.on_gpu = CUDA_PROVIDER in active
        self.description = f"onnxruntime {ort.__version__} providers={active}"

    @staticmethod
    def _providers(device: str, available: list[str]) -> list[str]:
        if device == "cpu":
            return [CPU_PROVIDER]
        if CUDA_PROVIDER in available:
            return [CUDA_PROVIDER, CPU_PROVIDER]
        if device == "gpu":
            raise DeviceUnavailableError(
                f"device=gpu but ONNX Runtime offers only {available}; "
                "install onnxruntime-gpu with CUDA, or set FACEVERIFY_DEVICE=cpu"
            )
        return [CPU_PROVIDER]

    def embed(self, pixels: np.ndarray) -> np.ndarray:
        """Run the session on one batch."""
        return self.model.embed(pixels)


def _configure_tensorflow(tf: Any, threads: int, hide_gpus: bool) -> None:
    """Apply thread and device settings, which TensorFlow accepts only before it initialises.

    When TensorFlow already runs in this process (an embedding host application, tests), the
    settings cannot change any more: that is logged, and placement still follows ``tf.device``.
    """
    try:
        if threads:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
        if hide_gpus:
            tf.config.set_visible_devices([], "GPU")
    except RuntimeError as error:
        logger.warning("TensorFlow was already initialised; settings not applied: %s", error)


class SavedModelRuntime:
    """The ``serving_default`` signature of ``saved_model/``, run by TensorFlow."""

    def __init__(self, bundle: ModelBundle, device: str, threads: int) -> None:
        """Load the SavedModel; TensorFlow is imported only here.

        Raises:
            DeviceUnavailableError: ``gpu`` was asked for but TensorFlow sees no GPU.
        """
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if device == "gpu" and not gpus:
            raise DeviceUnavailableError("device=gpu but TensorFlow sees no GPU")
        _configure_tensorflow(tf, threads, hide_gpus=device == "cpu")
        self.on_gpu = bool(gpus) and device != "cpu"
        self._device = "/GPU:0" if self.on_gpu else "/CPU:0"
        self._tf = tf
        with tf.device(self._device):
            self._signature = tf.saved_model.load(str(bundle.model_file("savedmodel"))).signatures[
                "serving_default"
            ]
        self._input, self._output = bundle.input_name, bundle.output_name
        self.description = f"tensorflow {tf.__version__} device={self._device}"

    def embed(self, pixels: np.ndarray) -> np.ndarray:
        """Run the signature on one batch."""
        with self._tf.device(self._device):
            outputs = self._signature(**{self._input: self._tf.constant(pixels)})
        return outputs[self._output].numpy().astype(np.float32)


def load_runtime(
    model: ModelBundle | Path, backend: str, device: str, threads: int
) -> EmbeddingRuntime:
    """Open an export with the chosen backend.

    Args:
        model: The export (a bundle, or its directory).
        backend: ``onnx`` or ``savedmodel``.
        device: ``cpu``, ``gpu`` or ``auto``.
        threads: Intra-op threads; 0 = runtime default.

    Returns:
        The runtime, already placed on its device.

    Raises:
        ModelBundleError: The export is invalid or has no model for the backend.
        DeviceUnavailableError: The device cannot be used.
    """
    bundle = model if isinstance(model, ModelBundle) else ModelBundle.load(model)
    bundle.model_file(backend)
    runtime_type = OnnxRuntime if backend == "onnx" else SavedModelRuntime
    runtime = runtime_type(bundle, device, threads)
    logger.info("model runtime: %s (gpu=%s)", runtime.description, runtime.on_gpu)
    return runtime
