"""What an exported model costs to serve: FLOPs per image and bare ONNX Runtime throughput."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from facecore.model_bundle import ModelBundle
from facecore.onnx_model import OnnxModel


def model_flops_per_image(model_file: Path) -> float:
    """Multiply-adds x2 of Conv, MatMul and Gemm nodes for one image (shape inference)."""
    model = onnx.load(str(model_file))
    for dim in model.graph.input[0].type.tensor_type.shape.dim[:1]:
        dim.dim_value = 1
    model = onnx.shape_inference.infer_shapes(model)
    shapes = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in [*model.graph.value_info, *model.graph.input, *model.graph.output]
    }
    shapes.update({t.name: list(t.dims) for t in model.graph.initializer})
    flops = 0.0
    for node in model.graph.node:
        out = shapes.get(node.output[0])
        if not out:
            continue
        if node.op_type == "Conv":
            weight = shapes[node.input[1]]  # Cout, Cin/groups, kh, kw
            flops += 2.0 * np.prod(out) * np.prod(weight[1:])
        elif node.op_type in ("MatMul", "Gemm"):
            inner = shapes.get(node.input[0], [0])[-1]
            flops += 2.0 * np.prod(out) * inner
    return flops


def bare_model(
    model_dir: Path, batch: int, seconds: float, threads: int = 0, precision: str = "float32"
) -> dict:
    """Images per second of ONNX Runtime alone on random batches (the service's wrapper).

    ``threads``: intra-op threads (0: ONNX Runtime's default); ``precision``: ``int8`` times
    the export's ``model.int8.onnx`` (its int8 block).
    """
    bundle = ModelBundle.load(model_dir, precision)
    model = OnnxModel(bundle, ort.get_available_providers(), threads)
    pixels = (
        np.random.default_rng(0)
        .uniform(0, 255, (batch, bundle.size, bundle.size, bundle.channels))
        .astype(np.float32)
    )
    model.embed(pixels)
    runs, started, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds or runs < 3:
        model.embed(pixels)
        runs += 1
    elapsed = time.perf_counter() - started
    return {
        "batch": batch,
        "threads": threads,
        "precision": precision,
        "images_per_s": runs * batch / elapsed,
        "cpu_ms_per_image": 1000 * (time.process_time() - cpu) / (runs * batch),
        "providers": model.providers,
    }
