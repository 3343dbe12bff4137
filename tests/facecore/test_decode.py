import io

import image_factory as images
import numpy as np
import pytest
from PIL import Image

from facecore.decode import decode_image
from facecore.errors import (
    FaceCoreError,
    ImageTooLargeError,
    InvalidImageError,
    UnsupportedImageShapeError,
)

LIMITS = {"max_bytes": 10_000_000, "max_pixels": 10_000_000}


def decode(data: bytes) -> np.ndarray:
    return decode_image(data, **LIMITS)


def assert_close(pixel: np.ndarray, colour: tuple[int, int, int], tolerance: int = 12) -> None:
    assert np.abs(pixel.astype(int) - np.array(colour)).max() <= tolerance, (pixel, colour)


def test_face_photo_decodes_to_rgb_uint8():
    rgb = decode(images.fixture_bytes(images.PHOTO_ONE_FACE))
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
    assert max(rgb.shape[:2]) == 320


def test_grey_pgm_becomes_three_equal_channels():
    rgb = decode(images.fixture_bytes(images.ORL_FACES[0]))
    assert rgb.shape == (112, 92, 3)
    assert np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])


def test_exif_orientation_is_applied():
    rgb = decode(images.exif_rotated_jpeg(orientation=6))
    assert rgb.shape[:2] == (40, 20)  # stored 40 wide x 20 high, shown rotated
    assert_close(rgb[5, 10], images.RED)  # orientation 6: the left (red) side goes on top
    assert_close(rgb[35, 10], images.BLUE)


def test_rgba_is_composited_on_white():
    rgb = decode(images.rgba_png(alpha=0))
    assert_close(rgb[10, 5], images.RED, 0)
    assert_close(rgb[10, 35], images.WHITE, 0)


def test_palette_png():
    rgb = decode(images.palette_png())
    assert_close(rgb[10, 5], images.RED, 0)
    assert_close(rgb[10, 35], images.BLUE, 0)


def test_palette_transparency_is_composited_on_white():
    rgb = decode(images.palette_transparent_gif())
    assert_close(rgb[10, 5], images.RED, 0)
    assert_close(rgb[10, 35], images.WHITE, 0)


def test_sixteen_bit_grey_is_scaled_to_eight_bits():
    rgb = decode(images.sixteen_bit_png(value=0xFF00))
    assert rgb.dtype == np.uint8
    assert np.all(rgb == round(0xFF00 / 257))


def test_cmyk_jpeg_becomes_rgb():
    rgb = decode(images.cmyk_jpeg())
    assert rgb.shape == (20, 40, 3)
    assert_close(rgb[10, 5], images.RED, 40)
    assert_close(rgb[10, 35], images.BLUE, 40)


def test_grey_png():
    assert np.all(decode(images.grey_png(value=128)) == 128)


def test_grey_alpha_is_composited_on_white():
    rgb = decode(images.grey_alpha_png())
    assert np.all(rgb[:, :20] == 0) and np.all(rgb[:, 20:] == 255)


def test_one_bit_png():
    rgb = decode(images.one_bit_png())
    assert np.all(rgb[:, :20] == 255) and np.all(rgb[:, 20:] == 0)


def test_animated_gif_gives_first_frame():
    rgb = decode(images.animated_gif())
    assert_close(rgb[10, 20], images.RED, 0)


@pytest.mark.parametrize(
    "data",
    [images.truncated_jpeg(), images.not_an_image(), b""],
    ids=["truncated", "text", "empty"],
)
def test_undecodable_bytes_raise_invalid_image(data):
    with pytest.raises(InvalidImageError) as raised:
        decode(data)
    assert raised.value.code == "invalid_image"
    assert isinstance(raised.value, FaceCoreError)


def test_bomb_header_is_rejected_before_decoding():
    data = images.bomb_png(100_000, 100_000)
    assert len(data) < 200
    with pytest.raises(ImageTooLargeError) as raised:
        decode(data)
    assert raised.value.code == "image_too_large"
    # the service's limit, not Pillow's 178,956,970 pixels ("could be decompression bomb")
    assert str(raised.value) == "image is 10000000000 pixels; the limit is 10000000"


def test_a_limit_over_pillows_own_names_the_one_that_applied():
    with pytest.raises(ImageTooLargeError) as raised:
        decode_image(images.bomb_png(20_000, 20_000), max_bytes=10**6, max_pixels=10**9)
    pillows = 2 * Image.MAX_IMAGE_PIXELS  # 178,956,970 by default
    assert str(raised.value) == f"image is 400000000 pixels; the limit is {pillows}"


def test_pixel_limit_uses_header_dimensions():
    data = images.fixture_bytes(images.ORL_FACES[0])  # 92 x 112 = 10,304 pixels
    with pytest.raises(ImageTooLargeError) as raised:
        decode_image(data, max_bytes=10**6, max_pixels=10_000)
    assert str(raised.value) == "image is 92x112 = 10304 pixels; the limit is 10000"
    assert decode_image(data, max_bytes=10**6, max_pixels=10_304).shape == (112, 92, 3)


def test_byte_limit():
    data = images.fixture_bytes(images.PHOTO_ONE_FACE)
    with pytest.raises(ImageTooLargeError):
        decode_image(data, max_bytes=len(data) - 1, max_pixels=10**7)


@pytest.mark.parametrize(("values", "expected"), [(100, 100), (25_700, 100), (10**9, 255)])
def test_32_bit_integer_tiff_keeps_its_brightness(values, expected):
    buffer = io.BytesIO()
    Image.fromarray(np.full((20, 30), values, np.int32), mode="I").save(buffer, "TIFF")
    rgb = decode(buffer.getvalue())
    assert rgb.shape == (20, 30, 3) and int(rgb.mean()) == expected


@pytest.mark.parametrize(
    ("size", "limits"),
    [
        ((400, 20), {"max_aspect_ratio": 8.0}),
        ((20, 400), {"max_aspect_ratio": 8.0}),
        ((10, 10), {"min_side": 16}),
    ],
)
def test_unusable_shapes_are_refused_from_the_header(size, limits):
    with pytest.raises(UnsupportedImageShapeError):
        decode_image(images.bomb_png(*size), max_bytes=10**6, max_pixels=10**6, **limits)


def test_formats_outside_the_documented_list_are_not_opened():
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n%%EOF\n"
    with pytest.raises(InvalidImageError, match="accepted formats") as error:
        decode(eps)
    assert "0x" not in str(error.value)
