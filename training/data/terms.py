"""The terms of use a model inherits from the face sets (and teacher) it was trained on."""

from __future__ import annotations

from typing import Any

DATA_TERMS = {
    "orl": "AT&T/ORL Database of Faces: credit Olivetti Research Laboratory "
    "(Samaria & Harter 1994).",
    "extended_yaleb": "Extended Yale Face Database B: research use "
    "(Georghiades et al. 2001; Lee, Ho & Kriegman 2005).",
    "yale": "Yale Face Database: research use (Belhumeur, Hespanha & Kriegman 1997).",
    "celeba": "CelebA: non-commercial research use only.",
    "taiwan_frontal": "Taiwanese Facial Expression Image Database: research use "
    "(Chen, Cho & Tseng 2013).",
    "frll": "Face Research Lab London Set: CC BY 4.0, credit DeBruine & Jones.",
    "utkface": "UTKFace: non-commercial research use only (Zhang, Song & Qi 2017).",
    "teacher": "Distilled from dlib's face-recognition ResNet (public domain; Davis King).",
}


def terms_of_training(info: dict[str, Any]) -> str:
    """Return the data terms of the sets (labelled, unlabelled, teacher) of a model."""
    return terms_for_sets(
        [
            *info.get("sets", []),
            *info.get("unlabelled_sets", []),
            *(["teacher"] if info.get("teacher") else []),
        ]
    )


def terms_for_sets(sets: list[str]) -> str:
    """Return the terms a model inherits from the data sets it was trained on."""
    known = [text for key, text in DATA_TERMS.items() if any(key in s for s in sets)]
    if not known:
        return "Trained on unspecified data; check the terms of the data used."
    return "Research terms inherited from the training data. " + " ".join(known)
