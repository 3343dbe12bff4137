"""dlib's face-recognition ResNet as a Keras 3 model, weights included.

:func:`keras_model` runs the layer list of :mod:`training.model.dlib_net` (input to output) as dlib
does: ``tag`` remembers the current tensor, ``skip`` goes back to a remembered one,
``add_prev`` adds the current tensor to a remembered one (zero-padding the smaller,
:class:`training.model.layers.ZeroPadAdd`). Each ``affine`` (dlib's batch normalisation at
inference) is folded into the convolution before it. The input layer becomes a
:class:`keras.layers.Rescaling`: ``(pixel - mean) / 256`` per channel, RGB, as dlib's
``input_rgb_image_sized`` (``dlib/dnn/input.h``). The output layer is named ``feature``, so
:func:`training.model.export.embedding_model` serves it like our own models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np

from training.model.dlib_net import DlibLayer, read_network
from training.model.layers import ZeroPadAdd

FEATURE = "feature"
INPUT_NAME = "image"
DLIB_SCALE = 1.0 / 256.0  # dlib divides by 256, not 255


def fold_affines(layers: list[DlibLayer]) -> list[DlibLayer]:
    """Return the layers with every ``affine`` folded into the ``con`` just before it.

    ``affine(con(x)) = gamma * (W * x + b) + beta``: the kernel's output channels scale by
    gamma and the bias becomes ``gamma * b + beta``.

    Raises:
        ValueError: An ``affine`` that does not follow a convolution.
    """
    folded: list[DlibLayer] = []
    for layer in layers:
        if layer.kind != "affine":
            folded.append(layer)
            continue
        if not folded or folded[-1].kind != "con":
            raise ValueError("an affine layer that does not follow a convolution")
        con = folded[-1]
        gamma, beta = layer.arrays["gamma"], layer.arrays["beta"]
        bias = con.arrays.get("bias", np.zeros_like(gamma))
        arrays = {
            "kernel": con.arrays["kernel"] * gamma[:, None, None, None],
            "bias": (gamma * bias + beta).astype(np.float32),
        }
        folded[-1] = DlibLayer("con", dict(con.options), arrays)
    return folded


def keras_model(layers: list[DlibLayer], name: str = "dlib_face_resnet") -> Any:
    """Build the Keras model of a dlib network read by :func:`training.model.dlib_net.read_network`.

    Returns:
        A float32 ``keras.Model`` from raw RGB pixels (0..255, (N, size, size, 3)) to the
        network's output, the layer ``feature`` (dlib's descriptor, not normalised).

    Raises:
        ValueError: A layer kind or setting this builder does not cover.
    """
    layers = fold_affines(layers)
    if layers[0].kind != "input":
        raise ValueError("the network must start with its input layer")
    size = layers[0].options["size"]
    image = keras.Input((size, size, 3), name=INPUT_NAME)
    means = layers[0].arrays["means"]
    current = keras.layers.Rescaling(
        DLIB_SCALE, offset=[float(-m * DLIB_SCALE) for m in means], name="dlib_input"
    )(image)
    tags: dict[int, Any] = {}
    for index, layer in enumerate(layers[1:], start=1):
        label = f"{layer.kind}_{index}"
        if layer.kind == "tag":
            tags[layer.options["id"]] = current
        elif layer.kind == "skip":
            current = tags[layer.options["id"]]
        elif layer.kind == "add_prev":
            current = _zero_pad_add(label)([current, tags[layer.options["id"]]])
        else:
            current = _keras_layer(layer, label, is_last=index == len(layers) - 1)(current)
    return keras.Model(image, current, name=name)


def _zero_pad_add(label: str) -> Any:
    """Return dlib's ``add_prev`` as a Keras layer."""
    return ZeroPadAdd(name=label)


def _keras_layer(layer: DlibLayer, label: str, is_last: bool) -> Any:
    """Return the Keras layer of one dlib layer (see the module docstring)."""
    options = layer.options
    if layer.kind == "con":
        return _conv(layer, label)
    if layer.kind == "relu":
        return keras.layers.Activation(None if options.get("disabled") else "relu", name=label)
    if layer.kind in ("max_pool", "avg_pool") and options["size"] == 0:
        if layer.kind != "avg_pool":
            raise ValueError("max_pool over the whole image is not covered")
        return keras.layers.GlobalAveragePooling2D(name=label)
    if layer.kind in ("max_pool", "avg_pool"):
        pools = {"max_pool": keras.layers.MaxPooling2D, "avg_pool": keras.layers.AveragePooling2D}
        return pools[layer.kind](
            options["size"], options["stride"], padding=_padding(options), name=label
        )
    if layer.kind == "fc":
        name = FEATURE if is_last else label
        dense = keras.layers.Dense(options["units"], use_bias=False, name=name)
        dense.build((None, layer.arrays["kernel"].shape[0]))
        dense.set_weights([layer.arrays["kernel"]])
        return dense
    raise ValueError(f"no Keras counterpart for dlib layer kind {layer.kind!r}")


def _padding(options: dict[str, int]) -> str:
    """Keras padding of dlib's default: ``same`` at stride 1 (odd window), ``valid`` beyond.

    Raises:
        ValueError: An even window at stride 1, which dlib pads differently from Keras.
    """
    if options["stride"] != 1:
        return "valid"
    if options["size"] % 2 == 0:
        raise ValueError(f"dlib's padding of an even window at stride 1 is not covered: {options}")
    return "same"


def _conv(layer: DlibLayer, label: str) -> Any:
    """Return a convolution with dlib's (out, in, rows, cols) kernel as (rows, cols, in, out)."""
    kernel = np.transpose(layer.arrays["kernel"], (2, 3, 1, 0))
    options = layer.options
    conv = keras.layers.Conv2D(
        options["filters"],
        options["size"],
        strides=options["stride"],
        padding=_padding(options),
        activation="relu" if options.get("relu") else None,
        use_bias="bias" in layer.arrays,
        name=label,
    )
    conv.build((None, None, None, kernel.shape[2]))
    conv.set_weights([kernel, *([layer.arrays["bias"]] if "bias" in layer.arrays else [])])
    return conv


def converted_model(dat: Path) -> Any:
    """Read ``dat`` and return the Keras model (raw 150x150 RGB pixels -> ``feature``).

    Raises:
        OSError: The file cannot be read.
        training.model.dlib_format.DlibFormatError: It is not dlib's face ResNet.
    """
    return keras_model(read_network(dat))
