"""dlib's face-recognition ResNet: its definition, layer by layer, and its weights read from .dat.

The network is ``anet_type`` of dlib's ``tools/python/src/face_recognition.cpp`` (and
``examples/dnn_face_recognition_ex.cpp``), the one ``dlib.face_recognition_model_v1`` runs;
:func:`face_resnet_layers` spells its templates out from input to output. A ``.dat`` file is
the network serialised from the loss layer inwards (``dlib/dnn/core.h``): every layer's
version header first, outermost first, then the input layer, then each layer's details from
the input outwards; :func:`read_network` walks it in that order and keeps the weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facecore.file_digest import file_sha256
from training.model.dlib_format import DlibFormatError, DlibStream
from training.model.dlib_layers import read_details

# Layers that are dlib ``add_layer``s (they carry details); tags and skips only route tensors.
ROUTING = ("tag", "skip")


@dataclass
class DlibLayer:
    """One layer of a dlib network: its kind, fixed options and (once read) its weights."""

    kind: str
    options: dict[str, int] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


def _block(filters: int, stride: int) -> list[DlibLayer]:
    """``block``: con 3x3 (stride), affine, relu, con 3x3, affine."""
    return [
        DlibLayer("con", {"filters": filters, "size": 3, "stride": stride}),
        DlibLayer("affine"),
        DlibLayer("relu"),
        DlibLayer("con", {"filters": filters, "size": 3, "stride": 1}),
        DlibLayer("affine"),
    ]


def _ares(filters: int) -> list[DlibLayer]:
    """``ares``: relu(block(x) + x)."""
    return [
        DlibLayer("tag", {"id": 1}),
        *_block(filters, 1),
        DlibLayer("add_prev", {"id": 1}),
        DlibLayer("relu"),
    ]


def _ares_down(filters: int) -> list[DlibLayer]:
    """``ares_down``: relu(block(x, stride 2) + avg_pool 2x2/2(x)), zero-padded to fit."""
    return [
        DlibLayer("tag", {"id": 1}),
        *_block(filters, 2),
        DlibLayer("tag", {"id": 2}),
        DlibLayer("skip", {"id": 1}),
        DlibLayer("avg_pool", {"size": 2, "stride": 2}),
        DlibLayer("add_prev", {"id": 2}),
        DlibLayer("relu"),
    ]


def face_resnet_layers() -> list[DlibLayer]:
    """Return the layers of ``anet_type`` from input to output (29 convolutions, 128-d output)."""
    levels = [
        *[_ares(32) for _ in range(3)],  # alevel4
        _ares_down(64),  # alevel3
        *[_ares(64) for _ in range(3)],
        _ares_down(128),  # alevel2
        *[_ares(128) for _ in range(2)],
        _ares_down(256),  # alevel1
        *[_ares(256) for _ in range(2)],
        _ares_down(256),  # alevel0
    ]
    return [
        DlibLayer("input", {"size": 150}),
        DlibLayer("con", {"filters": 32, "size": 7, "stride": 2}),
        DlibLayer("affine"),
        DlibLayer("relu"),
        DlibLayer("max_pool", {"size": 3, "stride": 2}),
        *[layer for level in levels for layer in level],
        DlibLayer("avg_pool", {"size": 0, "stride": 1}),  # avg_pool_everything
        DlibLayer("fc", {"units": 128}),  # fc_no_bias
    ]


def read_network(path: str | Path) -> list[DlibLayer]:
    """Read the weights of ``anet_type`` from a dlib ``.dat`` file.

    Raises:
        DlibFormatError: The file is not that network (a layer of another kind or shape,
            another version, bytes left over).
        OSError: The file cannot be read.
    """
    layers = face_resnet_layers()
    stream = DlibStream(Path(path).read_bytes())
    stream.int_version(1, 1, "add_loss_layer")
    if stream.version("loss_metric_", "loss_metric_2") == "loss_metric_2":
        stream.float()  # margin and distance threshold: training only
        stream.float()
    for layer in reversed(layers[1:]):  # headers, outermost first
        if layer.kind in ROUTING:
            stream.int_version(1, 1, layer.kind)
        else:
            layer.options["version"] = stream.int_version(1, 3, "add_layer")
    read_details(stream, layers[0])
    for layer in layers[1:]:
        if layer.kind in ROUTING:
            continue
        read_details(stream, layer)
        _read_tail(stream, bottom=layer is layers[1], version=layer.options.pop("version"))
    if not stream.at_end():
        raise DlibFormatError(f"{len(stream.data) - stream.offset} bytes left after the network")
    return layers


def _read_tail(stream: DlibStream, bottom: bool, version: int) -> None:
    """Skip what ``add_layer`` stores after its details: flags and training-time tensors."""
    for _ in range(3):
        stream.bool()
    stream.tensor()  # x_grad
    stream.tensor()  # cached_output
    if bottom or version == 2:
        stream.tensor()  # grad_final (bottom layer) or params_grad
    if bottom and version >= 3:
        stream.int()  # _sample_expansion_factor


DAT_NAME = "dlib_face_recognition_resnet_model_v1.dat"


ORIGIN = (
    "dlib_face_recognition_resnet_model_v1 by Davis King (dlib.net, github.com/davisking/"
    "dlib-models), public domain; converted from its .dat by `python -m training convert-dlib`"
)


TRAINING_DATA = (
    "as its author describes it: about 3 million faces of 7,485 identities from the FaceScrub "
    "and VGG Face data sets and images scraped from the internet, cleaned of label errors; "
    "identities of LFW left out; metric loss (pairwise hinge, radius 0.6)"
)


TERMS = (
    "Public domain (dlib-models README: 'anyone can do whatever they want with these model "
    "files'). Its training images (FaceScrub, VGG Face, web images) have their own terms."
)


def default_dat() -> Path | None:
    """Return the ``.dat`` file shipped by ``face-recognition-models``, or None if absent."""
    try:
        import face_recognition_models
    except ImportError:
        return None
    return Path(face_recognition_models.face_recognition_model_location())


def source_info(dat: Path, command: str | None = None) -> dict[str, Any]:
    """Return the ``training`` record of a converted model: its origin and training data."""
    return {
        "preset": "converted",
        "origin": ORIGIN,
        "training_data": TRAINING_DATA,
        "source": {"file": dat.name, "sha256": file_sha256(dat), "bytes": dat.stat().st_size},
        "command": command,
    }
