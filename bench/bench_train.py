"""Training throughput of the AM-Softmax ResNet18 on this machine.

For each input layout: images/s of full training steps (forward + backward + Adam) after
warm-up, the per-image forward FLOPs counted from the conv/dense shapes, and the CPU's
measured float32 matmul GFLOP/s for scale. Writes ``bench/results/train.json``.

    .venv/bin/python -m bench.bench_train [--steps 4] [--warmup 2] [--batch-size 64]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from bench.cpu_reference import matmul_gflops, timed  # noqa: E402
from bench.results_file import write_result
from training.model.layers import AMSoftmax  # noqa: E402
from training.model.losses import AMSoftmaxLoss  # noqa: E402
from training.model.network import build_resnet18, wrap_cnn  # noqa: E402

LAYOUTS = [  # (input size, channels, stage-1 stride)
    (224, 1, 2),
    (224, 1, 1),
    (112, 1, 2),
    (112, 1, 1),
    (112, 3, 2),
    (112, 3, 1),
]
CLASSES = 40
RESULTS = Path(__file__).resolve().parent / "results" / "train.json"


def forward_flops(model: keras.Model) -> int:
    """Multiply-adds x 2 of every conv and dense layer for one image (BN/ReLU/pool ignored)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            _, height, width, _ = layer.output.shape
            total += 2 * kh * kw * cin * cout * height * width
        elif isinstance(layer, keras.layers.Dense | AMSoftmax):
            total += 2 * int(np.prod(layer.kernel.shape))
    return total


def bench_layout(
    size: int, channels: int, stride: int, batch: int, warmup: int, steps: int
) -> dict:
    """Time ``steps`` training steps after ``warmup`` steps for one layout."""
    keras.utils.set_random_seed(0)
    model = wrap_cnn(build_resnet18((size, size, channels), CLASSES, stride), CLASSES)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=AMSoftmaxLoss())
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(0, 255, (batch, size, size, channels)).astype(np.float32))
    y = tf.constant(rng.integers(0, CLASSES, batch).astype(np.int32))
    for _ in range(warmup):
        model.train_on_batch(x, y)
    seconds = timed(lambda: [model.train_on_batch(x, y) for _ in range(steps)])
    flops = forward_flops(model)
    rate = batch * steps / seconds
    return {
        "input": [size, size, channels],
        "stage1_stride": stride,
        "batch_size": batch,
        "steps_timed": steps,
        "step_s": round(seconds / steps, 3),
        "images_per_s": round(rate, 1),
        "forward_gflops_per_image": round(flops / 1e9, 3),
        # a training step costs about 3x the forward pass (forward + two backward matmuls)
        "approx_train_gflop_per_s": round(3 * flops * rate / 1e9, 1),
    }


def main() -> int:
    """Run every layout and write the results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    machine = {
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy_matmul_gflops_float32": round(matmul_gflops(), 1),
    }
    print(json.dumps(machine))
    results = []
    for size, channels, stride in LAYOUTS:
        results.append(
            bench_layout(size, channels, stride, args.batch_size, args.warmup, args.steps)
        )
        print(json.dumps(results[-1]))
    write_result(args.out, {"machine": machine, "layouts": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
