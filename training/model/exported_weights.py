"""Weights read back out of an export's ONNX graph (for warm starts).

The export folds each batch normalisation into the convolution before it and keeps no
training heads; these readers recover what a warm start (:mod:`training.run.warm_start`) needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from training.model.network import TEACHER_PROJECTION

_CONV_WEIGHT = re.compile(r"(?:^|/)(\w+_conv)_\d+/")


@dataclass(frozen=True)
class FoldedConv:
    """A convolution with its batch normalisation folded in: ``kernel * x + bias``.

    Attributes:
        kernel: Keras layout, ``(height, width, in, out)``.
        bias: ``(out,)``.
    """

    kernel: np.ndarray
    bias: np.ndarray


def exported_graph(model_dir: Path) -> Any:
    """Read the ONNX graph of ``model_dir/model.onnx`` (once per warm start)."""
    return onnx.load(str(model_dir / "model.onnx")).graph


def folded_convolutions(graph: Any, model_dir: Path) -> dict[str, FoldedConv]:
    """Return every convolution of an export's ``graph``, by the name of its Keras layer.

    Raises:
        ValueError: A convolution whose weights do not name a ``*_conv`` layer.
    """
    weights = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    convs = {}
    for node in (n for n in graph.node if n.op_type == "Conv"):
        match = _CONV_WEIGHT.search(node.input[1])
        if match is None or len(node.input) not in (2, 3):
            raise ValueError(f"{model_dir}: convolution {node.name} is not a folded *_conv layer")
        kernel = weights[node.input[1]].transpose(2, 3, 1, 0)  # OIHW -> HWIO
        # The converter drops a folded bias that is all zeros (fresh batch norms).
        bias = weights[node.input[2]] if len(node.input) == 3 else np.zeros(kernel.shape[-1])
        convs[match.group(1)] = FoldedConv(kernel, bias.astype(np.float32))
    return convs


def exported_projection(graph: Any, model_dir: Path) -> np.ndarray:
    """Return the teacher projection's kernel ``(feature, teacher)`` in an export that serves it.

    Raises:
        ValueError: The graph holds no single matrix of that layer.
    """
    kernels = [
        numpy_helper.to_array(init)
        for init in graph.initializer
        if f"/{TEACHER_PROJECTION}" in init.name and len(init.dims) == 2
    ]
    if len(kernels) != 1:
        raise ValueError(f"{model_dir}: {len(kernels)} {TEACHER_PROJECTION} kernels, expected 1")
    return kernels[0]
