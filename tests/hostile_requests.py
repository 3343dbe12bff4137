"""Request bodies of the in-process hostile-input tests (test_app_hostile.py and
test_app_error_boundary.py), built by hand so each case is exactly the bytes described."""

import base64
import io

import image_factory as images
from PIL import Image

FACE = images.PHOTO_ONE_FACE.read_bytes()
FACE_2 = images.PHOTO_ONE_FACE_2.read_bytes()
FACE_B64 = base64.b64encode(FACE).decode()
JSON = {"content-type": "application/json"}


def verify_files(first: bytes = FACE, second: bytes = FACE_2) -> dict:
    return {"image1": ("a.jpg", first), "image2": ("b.jpg", second)}


def raw_json(text: str | bytes) -> dict:
    return {"content": text.encode() if isinstance(text, str) else text, "headers": JSON}


def multipart(
    parts: list[tuple[str, str | None, bytes]],
    close: bool = True,
    preamble: bytes = b"",
    epilogue: bytes = b"",
) -> dict:
    """A hand-made multipart body (``filename`` None = a text field), with RFC 2046's optional
    preamble before the first boundary and epilogue after the last."""
    body = preamble
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        head = f"--b0undary\r\nContent-Disposition: {disposition}\r\n\r\n"
        body += head.encode() + data + b"\r\n"
    body += b"--b0undary--\r\n" + epilogue if close else b""
    return {"content": body, "headers": {"content-type": "multipart/form-data; boundary=b0undary"}}


def eps_file() -> bytes:
    return (
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"
        b"newpath 0 0 moveto 10 10 lineto stroke\nshowpage\n%%EOF\n"
    )


def grey_png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height), 90).save(buffer, "PNG")
    return buffer.getvalue()


def wrapped_base64(data: bytes) -> str:
    """As the ``base64`` tool prints it: 76 columns, newline-terminated lines."""
    text = base64.b64encode(data).decode()
    return "".join(text[i : i + 76] + "\n" for i in range(0, len(text), 76))


def verify_json(client, first: bytes, second: bytes, **options) -> dict:
    """``POST /verify`` with both images as base64 JSON and ``options``; the answer's body."""
    encoded = [base64.b64encode(data).decode() for data in (first, second)]
    return client.post(
        "/verify", json={"image1": encoded[0], "image2": encoded[1], **options}
    ).json()
