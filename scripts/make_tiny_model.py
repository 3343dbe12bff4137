"""Build the tiny random-weight model the service tests load: ``tests/fixtures/tiny_model``.

It goes through the real ``training.model.export`` code path, so the fixture has exactly the
layout, tensor names and metadata of a real export, only with random weights, a 32x32
grey input and a 16-dimensional embedding (a few KB of ONNX).

Usage: ``PYTHONPATH=. python scripts/make_tiny_model.py [--out DIR]``
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from facecore.metadata import Threshold
from training.model.export import export_model

SIZE = 32
CHANNELS = 1
DIMENSION = 16
FIXTURE_DIR = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tiny_model"
TEST_THRESHOLD = Threshold(cosine=0.5, operating_point="random-weight test model", calibrated=False)


def build_tiny_model(seed: int = 0) -> Any:
    """Build a training-shaped Keras model: rescaling, two convolutions, ``feature``, a head.

    Args:
        seed: Seed of the random weights.

    Returns:
        The Keras model; its ``feature`` layer gives ``DIMENSION`` values.
    """
    import keras

    keras.utils.set_random_seed(seed)
    image = keras.Input((SIZE, SIZE, CHANNELS), name="image")
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0)(image)
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(x)
    x = keras.layers.Conv2D(DIMENSION, 3, strides=2, activation="relu")(x)
    feature = keras.layers.GlobalAveragePooling2D(name="feature")(x)
    logits = keras.layers.Dense(4, name="head")(feature)
    return keras.Model(image, logits, name="tiny")


def preprocess_config() -> dict[str, Any]:
    """Return the preprocessing dictionary stored in the fixture's metadata."""
    try:
        from facecore.preprocess_config import PreprocessConfig
    except ImportError:  # facecore without PreprocessConfig yet: the two facts the model needs
        return {"size": SIZE, "channels": CHANNELS}
    return PreprocessConfig(size=SIZE, channels=CHANNELS).to_dict()


def main() -> int:
    """Build and export the tiny model; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=FIXTURE_DIR, help="export directory")
    parser.add_argument("--saved-model", action="store_true", help="also write saved_model/")
    args = parser.parse_args()
    metadata = export_model(
        build_tiny_model(),
        args.out,
        name="tiny-random",
        version="0.0.1",
        preprocess=preprocess_config(),
        training_info={"preset": "none: random weights", "command": "scripts/make_tiny_model.py"},
        terms="Random weights, no training data: a test fixture that recognises nobody.",
        threshold=TEST_THRESHOLD,
        saved_model=args.saved_model,
    )
    print(f"wrote {args.out} (embedding {metadata.embedding.dimension})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
