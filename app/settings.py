"""Service settings, read from ``FACEVERIFY_*`` environment variables (or a ``.env`` file)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.inference.memory_budget import holder_limit
from facecore.quality import QualityLimits

MIB = 1024 * 1024
MIN_DECODE_BYTES = 64 * MIB  # the least FACEVERIFY_MEMORY_BUDGET_BYTES leaves for a decode
MEMORY_LANE_BYTES = 64 * MIB  # kept for small holders (app.inference.memory_budget), at most
ENV_PREFIX = "FACEVERIFY_"


class Settings(BaseSettings):
    """Everything the service can be configured with; validated once at startup."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", frozen=True
    )

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    model_path: Path = Path("models/dlib-resnet-v1")
    backend: Literal["onnx", "savedmodel"] = "onnx"
    device: Literal["cpu", "gpu", "auto"] = "auto"
    precision: Literal["auto", "float32", "int8"] = Field(
        "auto", description="auto: INT8 if its block is in budget and the CPU has VNNI or AMX."
    )
    threads: int = Field(0, ge=0, description="Intra-op threads per model call; 0 = CPUs/streams.")
    model_streams: int = Field(
        0, ge=0, le=64, description="Model calls at once; 0 = two on two or more CPUs."
    )
    preprocess_workers: int = Field(
        0, ge=0, description="Decode/detect/align workers; 0 = CPUs + 1 (one kept in reserve)."
    )
    preprocess_mode: Literal["process", "thread"] = Field(
        "process", description="Preparation workers: processes (own GIL) or server threads."
    )
    prepare_budget_s: float = Field(
        10.0, gt=0, description="Preparation CPU seconds per request; later images refused."
    )
    batch_max_size: int = Field(32, ge=1, le=1024)
    batch_max_wait_ms: float = Field(2.0, ge=0, le=1000)
    max_image_bytes: int = Field(8 * MIB, ge=1024)
    max_pixels: int = Field(40_000_000, ge=64 * 64)
    max_images_per_request: int = Field(16, ge=1, le=256)
    memory_budget_bytes: int = Field(
        256 * MIB,
        ge=64 * MIB,
        description="Memory one process holds for requests: bodies as they arrive plus "
        "decoded images, all requests together (README, Limits).",
    )
    memory_wait_s: float = Field(
        15.0, gt=0, description="Longest wait for room in the budget; then 503 server_busy."
    )
    max_aspect_ratio: float = Field(8.0, ge=1.0, description="Longest/shortest image side.")
    min_image_side: int = Field(16, ge=1, description="Shortest accepted image side, pixels.")
    max_header_bytes: int = Field(64 * 1024, ge=4096, description="Request line + headers.")
    header_timeout_s: float = Field(10.0, gt=0, description="To receive a request's headers.")
    body_timeout_s: float = Field(60.0, gt=0, description="To receive a request's whole body.")
    keep_alive_timeout_s: float = Field(5.0, gt=0, description="Idle keep-alive connections.")
    drain_s: float = Field(5.0, ge=0, description="After SIGTERM: /ready 503, still serving.")
    graceful_timeout_s: float = Field(20.0, ge=0, description="Then: in-flight requests' time.")
    detection: bool = Field(
        True, description="Detect and align faces; false: every image is taken as a face crop."
    )
    face_policy: str | None = None
    no_face_policy: Literal["padded", "error"] = Field(
        "padded", description="No face at first: retry on the image with a border, or refuse."
    )
    allow_crop_enrolment: bool = Field(
        False,
        description="Enrol faces the detector did not find (face_crop, or detection off).",
    )
    min_eye_distance_px: float = Field(
        8.0, ge=0, description="Quality gate: pixels between the eyes (a crop: its side x 0.31)."
    )
    min_face_confirmation: float = Field(
        0.7, ge=0, lt=1, description="Quality gate: confidence of the face detected again, framed."
    )
    min_feature_detail: float = Field(
        2.0, ge=0, description="Quality gate: contrast around each eye, the nose and the mouth."
    )
    min_face_contrast: float = Field(
        5.0, ge=0, description="Quality gate: grey standard deviation of the aligned face."
    )
    min_face_sharpness: float = Field(
        0.08, ge=0, description="Quality gate: Laplacian over grey standard deviation."
    )
    api_keys: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    page: bool = Field(
        True, description="Serve the browser page (compare, people) at /; false: / is 404."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    data_dir: Path = Field(Path("var"), description="Holds the SQLite gallery database.")
    database_url: SecretStr | None = Field(
        None, description="postgresql+psycopg://... to share a gallery; default SQLite."
    )
    encryption_key: SecretStr | None = Field(
        None, description="Fernet key: templates are encrypted at rest when set."
    )
    gallery_poll_ms: float = Field(250.0, ge=10, le=60_000)
    max_faces_per_person: int = Field(
        100,
        ge=1,
        le=10_000,
        description="Templates of the served model one person may hold (bounds a probe's cost).",
    )
    identify_fpir: float = Field(0.01, gt=0, lt=1)
    ann_min_templates: int = Field(
        250_000,
        ge=0,
        description="Gallery size from which /identify uses an IVF shortlist; 0 = always exact",
    )
    ann_nprobe: int = Field(256, ge=1, le=16_384)
    template_precision: Literal["float16", "float32"] = Field(
        "float16",
        description="How /identify holds each template in memory: float16 halves it "
        "(similarities within 0.0005 of float32's); float32 for bit-exact scores",
    )

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        """Accept ``"a,b"`` from the environment as well as a list."""
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        url = value.get_secret_value()
        if url.startswith("postgresql://"):
            return SecretStr("postgresql+psycopg://" + url.removeprefix("postgresql://"))
        if not url.startswith(("postgresql+psycopg://", "sqlite:///")):
            raise ValueError("must start with postgresql://, postgresql+psycopg:// or sqlite:///")
        return value

    @field_validator("encryption_key")
    @classmethod
    def _check_encryption_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        try:
            Fernet(value.get_secret_value().encode())
        except ValueError:
            raise ValueError(
                "must be a Fernet key (32 url-safe base64-encoded bytes), e.g. "
                "from cryptography.fernet.Fernet.generate_key()"
            ) from None
        return value

    @field_validator("model_path")
    @classmethod
    def _check_model_path(cls, value: Path) -> Path:
        if not value.is_dir():
            raise ValueError(
                f"{str(value)!r} is not a directory (an exported model directory "
                "holding model.onnx and metadata.json)"
            )
        return value

    @model_validator(mode="after")
    def _check_memory_budget(self) -> Settings:
        parse = self.max_body_bytes + 2 * self.max_token_chars
        decode = self.memory_budget_bytes - self.decode_budget_bytes + MIN_DECODE_BYTES
        if self.memory_budget_bytes < max(parse, decode):
            raise ValueError(
                f"FACEVERIFY_MEMORY_BUDGET_BYTES ({self.memory_budget_bytes}) is below "
                f"{max(parse, decode)}: the largest request body ({self.max_body_bytes} bytes: "
                "FACEVERIFY_MAX_IMAGES_PER_REQUEST x FACEVERIFY_MAX_IMAGE_BYTES, base64-inflated) "
                f"and its parsing, or its images and {MIN_DECODE_BYTES // MIB} MiB to decode one"
            )
        return self

    def body_limit(self, images: int) -> int:
        """Largest body carrying ``images`` images: each base64-inflated, plus 64 KiB framing."""
        return images * (self.max_image_bytes * 4 // 3 + 4) + 64 * 1024

    @property
    def max_body_bytes(self) -> int:
        """Largest accepted request body (an /embed with the most images)."""
        return self.body_limit(self.max_images_per_request)

    @property
    def max_token_chars(self) -> int:
        """Longest JSON string (an image's base64) read before the body is refused."""
        return (self.max_image_bytes + 2) // 3 * 4 * 66 // 64 + MIB  # line breaks, slack

    @property
    def memory_lane_bytes(self) -> int:
        """Bytes of the budget kept for small holders (:mod:`app.inference.memory_budget`).

        64 MiB, or less where the largest request's images and a 64 MiB decode would not fit
        beside it.
        """
        spare = self.memory_budget_bytes - self.max_request_image_bytes - MIN_DECODE_BYTES
        return max(0, min(MEMORY_LANE_BYTES, spare))

    @property
    def max_request_image_bytes(self) -> int:
        """The most image bytes one request may carry."""
        return self.max_images_per_request * self.max_image_bytes

    @property
    def decode_budget_bytes(self) -> int:
        """Least one image's decode may reserve beside the largest request's images.

        A decode may reserve what the budget leaves beside its own request's images, less the
        lane for small holders where it or they are large (``app.inference.image_preparation``), so
        any request within the limits can decode its images, one at a time if need be.
        """
        return holder_limit(
            self.memory_budget_bytes, self.memory_lane_bytes, self.max_request_image_bytes
        )

    @property
    def quality_limits(self) -> QualityLimits:
        """The face-quality gate's limits (:mod:`facecore.quality`)."""
        return QualityLimits(
            min_eye_distance_px=self.min_eye_distance_px,
            min_confirmation=self.min_face_confirmation,
            min_feature_detail=self.min_feature_detail,
            min_contrast=self.min_face_contrast,
            min_sharpness=self.min_face_sharpness,
        )

    @property
    def auth_enabled(self) -> bool:
        """Whether requests must carry one of ``api_keys``."""
        return bool(self.api_keys)
