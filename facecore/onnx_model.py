"""The one ONNX Runtime wrapper of an exported model.

The service, evaluation and the benchmarks all embed through it, so "evaluation measures what
the service serves" holds by construction.

The graph is checked against the bundle when the session opens: the input tensor's name and
its static height, width and channels; the output tensor's name and embedding size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from facecore.model_bundle import ModelBundle, ModelBundleError

CPU_PROVIDER = "CPUExecutionProvider"


class OnnxModel:
    """An ONNX Runtime session over ``bundle``'s ``model.onnx``.

    Args:
        bundle: The validated export.
        providers: ONNX Runtime execution providers, in order of preference.
        threads: Intra-op threads; 0 lets ONNX Runtime decide.

    Raises:
        ModelBundleError: No ``model.onnx``, or its tensors disagree with the metadata.
    """

    def __init__(
        self, bundle: ModelBundle, providers: Sequence[str] = (CPU_PROVIDER,), threads: int = 0
    ) -> None:
        import onnxruntime as ort

        self.bundle = bundle
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle ORT threads would otherwise spin-wait on the cores that parse HTTP and decode
        # images between batches (measured: /embed on crops 330 -> 365 req/s on 2 cores).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(
            str(bundle.model_file("onnx")), options, providers=list(providers)
        )
        self._check_graph()

    @property
    def providers(self) -> list[str]:
        """The providers the session actually runs on."""
        return self.session.get_providers()

    def embed(self, pixels: np.ndarray) -> np.ndarray:
        """Embed a batch of model pixels (N, size, size, channels), 0..255; float32 (N, D)."""
        feed = {self.bundle.input_name: np.asarray(pixels, dtype=np.float32)}
        (embeddings,) = self.session.run([self.bundle.output_name], feed)
        return np.asarray(embeddings, dtype=np.float32)

    def _check_graph(self) -> None:
        bundle = self.bundle
        inputs = {tensor.name: tensor.shape for tensor in self.session.get_inputs()}
        outputs = {tensor.name: tensor.shape for tensor in self.session.get_outputs()}
        if bundle.input_name not in inputs or bundle.output_name not in outputs:
            raise ModelBundleError(
                f"{bundle.directory}: metadata.json names input {bundle.input_name!r} and output "
                f"{bundle.output_name!r}; model.onnx has inputs {sorted(inputs)} and outputs "
                f"{sorted(outputs)}"
            )
        expected = [bundle.size, bundle.size, bundle.channels]
        if not _agrees(inputs[bundle.input_name][1:], expected):
            raise ModelBundleError(
                f"{bundle.directory}: model.onnx takes {inputs[bundle.input_name]}, "
                f"metadata.json says [N, {', '.join(map(str, expected))}]"
            )
        if not _agrees(outputs[bundle.output_name][-1:], [bundle.dimension]):
            raise ModelBundleError(
                f"{bundle.directory}: model.onnx outputs {outputs[bundle.output_name]}, "
                f"metadata.json says dimension {bundle.dimension}"
            )


def _agrees(shape: Sequence[object], expected: Sequence[int]) -> bool:
    """Whether a graph shape matches, a symbolic (named or unknown) dimension matching any."""
    if len(shape) != len(expected):
        return False
    return all(
        not isinstance(dim, int) or dim == want for dim, want in zip(shape, expected, strict=True)
    )
