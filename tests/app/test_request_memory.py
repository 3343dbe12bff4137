"""A request's images are freed when it ends, by reference counting, not at a later garbage
collection: cycles kept refused bodies and failed images in memory (issue 41)."""

import gc
import io
import weakref

import pytest
from hostile_requests import multipart
from PIL import Image

from app.errors import TooManyImagesError
from app.http.multipart_reader import FormFields, MultipartCollector, MultipartLimits
from app.inference.image_input import ImageInput

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


def test_images_without_a_face_leave_no_garbage_cycle(client, no_garbage_collection):
    gc.collect()
    answer = client.post("/embed", **multipart([("images", "blank.png", _grey_png())] * 3))
    assert [r["error"]["code"] for r in answer.json()["results"]] == ["no_face"] * 3
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        left = [item for item in gc.garbage if isinstance(item, ImageInput)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert left == []


def _grey_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (200, 200), (128, 128, 128)).save(buffer, "PNG")
    return buffer.getvalue()
