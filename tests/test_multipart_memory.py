"""A multipart body's parts are freed when its request lets go, not at a later collection."""

import gc
import weakref

import pytest

from app.errors import TooManyImagesError
from app.multipart_reader import FormFields, MultipartCollector, MultipartLimits

PART = (
    b'--B\r\nContent-Disposition: form-data; name="images"; filename="a.png"\r\n\r\n'
    + b"x" * 1000
    + b"\r\n"
)


@pytest.fixture
def no_garbage_collection():
    gc.disable()
    yield
    gc.enable()


def collector() -> MultipartCollector:
    return MultipartCollector(
        b"B", MultipartLimits(max_images=1, max_image_bytes=10**6), FormFields(("images",), ())
    )


def test_a_finished_body_is_freed_by_reference_counting(no_garbage_collection):
    body = collector()
    body.feed(PART + b"--B--\r\n")
    body.finish()
    alive = weakref.ref(body)
    del body
    assert alive() is None


def test_a_refused_body_is_freed_by_reference_counting(no_garbage_collection):
    body = collector()
    try:
        body.feed(PART * 2)
    except TooManyImagesError as refused:
        refused.__traceback__ = None  # as the error handler drops it once answered
    alive = weakref.ref(body)
    del body
    assert alive() is None
