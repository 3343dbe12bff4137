"""Readers of each dlib layer kind's details, as dlib 19.24 serialises them.

Follows ``dlib/dnn/layers.h`` and ``input.h``: the weights are kept, training-only settings
are skipped.

Convolutions and pools without explicit padding pad ``size // 2`` at stride 1 and nothing
otherwise (``con_``'s and the pools' template defaults); the readers check the file agrees.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from training.model.dlib_format import DlibFormatError, DlibStream, split_params

LayerT = Any  # training.model.dlib_net.DlibLayer (no import cycle)


def read_details(stream: DlibStream, layer: LayerT) -> None:
    """Read ``layer``'s details into ``layer.arrays`` / ``layer.options``.

    Raises:
        DlibFormatError: The file holds another kind of layer or other settings.
    """
    READERS[layer.kind](stream, layer)


def _skip_multipliers(stream: DlibStream, count: int = 4) -> None:
    """Skip the learning-rate and weight-decay multipliers (doubles)."""
    for _ in range(count):
        stream.float()


def _expect(layer: LayerT, name: str, found: int, wanted: int) -> None:
    """Fail unless the file's ``found`` equals the definition's ``wanted``."""
    if found != wanted:
        raise DlibFormatError(f"{layer.kind} layer: {name} is {found} in the file, not {wanted}")


def _default_padding(size: int, stride: int) -> int:
    """Return dlib's padding when none is given: half the window at stride 1, else none."""
    return size // 2 if stride == 1 else 0


def _read_input(stream: DlibStream, layer: LayerT) -> None:
    """``input_rgb_image_sized``: the per-channel means (R, G, B) and the image size."""
    stream.version("input_rgb_image_sized")
    layer.arrays["means"] = np.array([stream.float() for _ in range(3)], np.float32)
    rows, cols = stream.uint(), stream.uint()
    _expect(layer, "rows", rows, layer.options["size"])
    _expect(layer, "columns", cols, layer.options["size"])


def _read_con(stream: DlibStream, layer: LayerT) -> None:
    """``con_``: filters (out, in, rows, cols), optional biases, fixed geometry."""
    version = stream.version("con_4", "con_5", "con_6")
    params = stream.tensor()
    size, stride = layer.options["size"], layer.options["stride"]
    geometry = [stream.int() for _ in range(7)]  # filters, nr, nc, stride y/x, padding y/x
    padding = _default_padding(size, stride)
    wanted = [layer.options["filters"], size, size, stride, stride, padding, padding]
    for name, found, want in zip(
        ("filters", "nr", "nc", "sy", "sx", "py", "px"), geometry, wanted, strict=True
    ):
        _expect(layer, name, found, want)
    filters, biases = stream.alias(), stream.alias()
    _skip_multipliers(stream)
    use_bias = stream.bool() if version in ("con_5", "con_6") else True
    layer.options["relu"] = int(stream.bool()) if version == "con_6" else 0
    shapes = [filters] + ([biases] if use_bias and np.prod(biases) else [])
    parts = split_params(params, *shapes)
    layer.arrays["kernel"] = parts[0]
    if len(parts) > 1:
        layer.arrays["bias"] = parts[1].reshape(-1)


def _read_affine(stream: DlibStream, layer: LayerT) -> None:
    """``affine_`` (gamma, beta), or a ``bn_con2`` converted as dlib converts it."""
    version = stream.version("affine_", "affine_2", "bn_con2")
    params = stream.tensor()
    gamma_shape, beta_shape = stream.alias(), stream.alias()
    gamma, beta = (p.reshape(-1) for p in split_params(params, gamma_shape, beta_shape))
    if version == "bn_con2":
        gamma, beta = _folded_batch_norm(stream, gamma, beta)
    else:
        _expect(layer, "mode (0 = conv)", stream.int(), 0)
        if version == "affine_2" and stream.bool():
            gamma, beta = np.ones_like(gamma), np.zeros_like(beta)  # disabled: identity
    layer.arrays["gamma"], layer.arrays["beta"] = gamma, beta


def _folded_batch_norm(
    stream: DlibStream, gamma: np.ndarray, beta: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Read the rest of ``bn_con2`` and fold its running statistics (``affine_(bn_)``)."""
    stream.tensor()  # means of the last batch
    stream.tensor()  # invstds of the last batch
    running_means = stream.tensor().reshape(-1)
    running_variances = stream.tensor().reshape(-1)
    stream.uint()  # num_updates
    stream.uint()  # running_stats_window_size
    _skip_multipliers(stream)
    eps = stream.float()
    scale = gamma / np.sqrt(running_variances + eps)
    return scale.astype(np.float32), (beta - scale * running_means).astype(np.float32)


def _read_relu(stream: DlibStream, layer: LayerT) -> None:
    """``relu_`` (no settings) or ``relu_2`` (a disabled flag)."""
    if stream.version("relu_", "relu_2") == "relu_2":
        layer.options["disabled"] = int(stream.bool())


def _read_pool(stream: DlibStream, layer: LayerT) -> None:
    """``max_pool_2`` / ``avg_pool_2``: window, stride and padding as the definition says."""
    stream.version(f"{layer.kind}_2")
    size, stride = layer.options["size"], layer.options["stride"]
    found = [stream.int() for _ in range(6)]
    padding = _default_padding(size, stride)
    for name, value, want in zip(
        ("nr", "nc", "sy", "sx", "py", "px"),
        found,
        [size, size, stride, stride, padding, padding],
        strict=True,
    ):
        _expect(layer, name, value, want)


def _read_add_prev(stream: DlibStream, layer: LayerT) -> None:
    """``add_prev_``: no settings."""
    stream.version("add_prev_")


def _read_fc(stream: DlibStream, layer: LayerT) -> None:
    """``fc_`` without bias: weights (inputs, outputs)."""
    version = stream.version("fc_2", "fc_3")
    outputs, inputs = stream.uint(), stream.uint()
    _expect(layer, "outputs", outputs, layer.options["units"])
    params = stream.tensor()
    weights, _ = stream.alias(), stream.alias()
    _expect(layer, "bias mode (1 = no bias)", stream.int(), 1)
    _skip_multipliers(stream)
    if version == "fc_3":
        stream.bool()  # use_bias: without a bias vector in params, nothing to use
    (kernel,) = split_params(params, weights)
    layer.arrays["kernel"] = kernel.reshape(inputs, outputs)


READERS: dict[str, Callable[[DlibStream, LayerT], None]] = {
    "input": _read_input,
    "con": _read_con,
    "affine": _read_affine,
    "relu": _read_relu,
    "max_pool": _read_pool,
    "avg_pool": _read_pool,
    "add_prev": _read_add_prev,
    "fc": _read_fc,
}
