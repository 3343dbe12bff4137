"""Exceptions raised by facecore, each with a stable machine-readable ``code``."""

from __future__ import annotations


class FaceCoreError(Exception):
    """Base of every facecore error; ``code`` names the failure for API clients."""

    code = "face_core_error"


class InvalidImageError(FaceCoreError):
    """The bytes are not a decodable image (unknown format, truncated, corrupt)."""

    code = "invalid_image"


class ImageTooLargeError(FaceCoreError):
    """The file or its pixel count exceeds the configured limits."""

    code = "image_too_large"


class UnsupportedImageShapeError(FaceCoreError):
    """The image is too elongated, or a side too short, to hold a face."""

    code = "unsupported_image_shape"


class NoFaceError(FaceCoreError):
    """No face was found and the policy does not allow a fallback."""

    code = "no_face"


class MultipleFacesError(FaceCoreError):
    """Several faces were found and the policy is to reject such images."""

    code = "multiple_faces"


class LowQualityFaceError(FaceCoreError):
    """A face was found but is too small, not face-shaped, unconfirmed, flat or blurred."""

    code = "low_quality_face"
