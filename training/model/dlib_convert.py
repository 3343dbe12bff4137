"""dlib's face ResNet read from its ``.dat`` as a Keras model, with the record of its origin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def converted_model(dat: Path) -> Any:
    """Read ``dat`` and return the Keras model (raw 150x150 RGB pixels -> ``feature``).

    Raises:
        OSError: The file cannot be read.
        training.model.dlib_format.DlibFormatError: It is not dlib's face ResNet.
    """
    from training.model.dlib_keras import keras_model
    from training.model.dlib_net import read_network

    return keras_model(read_network(dat))


def source_info(dat: Path, command: str | None = None) -> dict[str, Any]:
    """Return the ``training`` record of a converted model: its origin and training data."""
    from training.model.dlib_net import sha256_of

    return {
        "preset": "converted",
        "origin": ORIGIN,
        "training_data": TRAINING_DATA,
        "source": {"file": dat.name, "sha256": sha256_of(dat), "bytes": dat.stat().st_size},
        "command": command,
    }
