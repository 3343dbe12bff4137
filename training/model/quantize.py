"""An export's INT8 copy: ONNX Runtime static quantisation, calibrated on photos as served.

The calibration photos are original photos of people a split did NOT hold out, one per person,
prepared by facecore's one preprocessing path as the service prepares an upload. Measured on
``dlib-resnet-v1`` (issue 44): QOperator, activations QUInt8, weights QInt8 per channel and
percentile calibration kept the held-out figures within the budget; the residual Adds left in
float32 and the mirror's flip as one Slice (:mod:`training.model.graph_rewrites`) made it 2.0x
float32's images/s; QDQ with QInt8 activations was slower than float32 on this CPU.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facecore.decode import decode_image
from facecore.errors import FaceCoreError
from facecore.model_bundle import ModelBundle
from facecore.preprocess import FacePreprocessor
from facecore.quantized import INT8_FILE, Quantization
from training.data.folders import group_by_identity, scan_identity_folders

METHODS = {"percentile": "Percentile", "entropy": "Entropy", "minmax": "MinMax"}
CALIBRATION_BATCH = 16
WEIGHTED = ("Conv", "MatMul", "Gemm")
# ONNX Runtime's QLinearAdd took 38% of the INT8 graph's time (as much as every convolution):
# the residual Adds run faster in float32 between Dequantize and Quantize (dlib-resnet-v1,
# batch 32, 2 threads: 281 -> 354 images/s; with the flip as a Slice, 406 against float32's 201).
FLOAT_OPS = ("Add",)


@dataclass(frozen=True)
class QuantizeOptions:
    """How to quantise: ORT's format, types and calibration method, nodes kept in float."""

    method: str = "percentile"
    format: str = "QOperator"
    activation_type: str = "QUInt8"
    weight_type: str = "QInt8"
    per_channel: bool = True
    nodes_excluded: tuple[str, ...] = ()
    ops_kept_float: tuple[str, ...] = FLOAT_OPS

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"--method must be one of {sorted(METHODS)}, got {self.method!r}")

    def record(self, images: int, source: str, command: str) -> Quantization:
        """Return these options as metadata.json records them, with the calibration photos."""
        return Quantization(
            format=self.format,
            activation_type=self.activation_type,
            weight_type=self.weight_type,
            per_channel=self.per_channel,
            calibration_method=METHODS[self.method],
            calibration_images=images,
            calibration_source=source,
            nodes_excluded=self.nodes_excluded,
            ops_kept_float=self.ops_kept_float,
            graph_rewrites=("mirror_as_slice",),
            command=command,
        )


def calibration_photos(split_file: Path, data: list[str], count: int) -> list[Path]:
    """Return the first photo of each person under ``data`` whom ``split_file`` did not hold out.

    Raises:
        ValueError: Fewer such people than ``count``.
    """
    split = json.loads(split_file.read_text(encoding="utf-8"))
    heldout = set(split.get("heldout_identities", []))
    if not heldout:
        raise ValueError(f"{split_file} names no heldout_identities")
    groups = group_by_identity(scan_identity_folders(data))
    photos = [min(r.path for r in group) for key, group in groups.items() if key not in heldout]
    if len(photos) < count:
        raise ValueError(f"{len(photos)} people outside the split's held-out ones; need {count}")
    return photos


def calibration_pixels(bundle: ModelBundle, photos: list[Path], count: int) -> np.ndarray:
    """Model pixels of the first ``count`` photos whose face the service would find.

    Raises:
        ValueError: Fewer than ``count`` photos had a face.
    """
    preprocessor, pixels = FacePreprocessor(bundle.preprocess), []
    for path in photos:
        try:
            prepared = preprocessor.process(decode_image(path.read_bytes()))
        except FaceCoreError:  # no face, undecodable: the service would refuse it too
            continue
        pixels.append(prepared.pixels)
        if len(pixels) == count:
            return np.stack(pixels).astype(np.float32)
    raise ValueError(f"only {len(pixels)} of {len(photos)} calibration photos had a face")


def quantize_model(bundle: ModelBundle, pixels: np.ndarray, options: QuantizeOptions) -> Path:
    """Write ``INT8_FILE`` beside the bundle's ``model.onnx``, calibrated on ``pixels``."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.registry import QLinearOpsRegistry
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches: Iterator[dict] = iter(_batches(bundle.input_name, pixels))

        def get_next(self) -> dict | None:
            return next(self.batches, None)

    out = bundle.directory / INT8_FILE
    with tempfile.TemporaryDirectory() as scratch:
        prepared = Path(scratch) / "prepared.onnx"
        quant_pre_process(str(bundle.model_file("onnx")), str(prepared), skip_symbolic_shape=True)
        _rewrite(prepared)
        quantize_static(
            str(prepared),
            str(out),
            Reader(),
            quant_format=getattr(QuantFormat, options.format),
            per_channel=options.per_channel,
            activation_type=getattr(QuantType, options.activation_type),
            weight_type=getattr(QuantType, options.weight_type),
            calibrate_method=getattr(CalibrationMethod, METHODS[options.method]),
            nodes_to_exclude=list(options.nodes_excluded),
            op_types_to_quantize=[
                op for op in QLinearOpsRegistry if op not in options.ops_kept_float
            ],
        )
    return out


def _rewrite(path: Path) -> None:
    """Apply :mod:`training.model.graph_rewrites` to the graph about to be quantised."""
    import onnx

    from training.model.graph_rewrites import mirror_as_slice

    model = onnx.load(str(path))
    mirror_as_slice(model)
    onnx.save(model, str(path))


def float_nodes(bundle: ModelBundle, keep_first_conv: bool) -> tuple[str, ...]:
    """Return the nodes to keep in float32: those after the last weighted layer, the first conv.

    After the last weighted layer comes the normalisation: quantised, the norm is off by 0.3%.
    """
    import onnx

    nodes = onnx.load(str(bundle.model_file("onnx")), load_external_data=False).graph.node
    weighted = [i for i, node in enumerate(nodes) if node.op_type in WEIGHTED]
    if not weighted:
        raise ValueError(f"{bundle.model_file('onnx')} has no {'/'.join(WEIGHTED)} to quantise")
    first = (nodes[weighted[0]].name,) if keep_first_conv else ()
    return first + tuple(node.name for node in nodes[weighted[-1] + 1 :])


def _batches(name: str, pixels: np.ndarray) -> list[dict]:
    return [
        {name: pixels[i : i + CALIBRATION_BATCH]} for i in range(0, len(pixels), CALIBRATION_BATCH)
    ]
