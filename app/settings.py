"""Service settings, read from ``FACEVERIFY_*`` environment variables (or a ``.env`` file)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Literal

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIB = 1024 * 1024


class Settings(BaseSettings):
    """Everything the service can be configured with; validated once at startup."""

    model_config = SettingsConfigDict(env_prefix="FACEVERIFY_", env_file=".env", extra="ignore",
                                      frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    model_path: Path = Path("models/default")
    backend: Literal["onnx", "savedmodel"] = "onnx"
    device: Literal["cpu", "gpu", "auto"] = "auto"
    threads: int = Field(0, ge=0, description="Intra-op threads of the model; 0 = runtime default.")
    preprocess_workers: int = Field(0, ge=0, description="Decode/detect/align threads; 0 = CPUs.")
    batch_max_size: int = Field(32, ge=1, le=1024)
    batch_max_wait_ms: float = Field(2.0, ge=0, le=1000)
    max_image_bytes: int = Field(8 * MIB, ge=1024)
    max_pixels: int = Field(40_000_000, ge=64 * 64)
    max_images_per_request: int = Field(16, ge=1, le=256)
    detection: bool = True
    face_policy: str | None = None
    no_face_policy: str | None = None
    api_keys: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    data_dir: Path = Field(Path("var"), description="Holds the SQLite gallery database.")
    database_url: SecretStr | None = Field(
        None, description="postgresql+psycopg://... to share a gallery; default SQLite.")
    encryption_key: SecretStr | None = Field(
        None, description="Fernet key: templates are encrypted at rest when set.")
    gallery_poll_ms: float = Field(250.0, ge=10, le=60_000)
    identify_fpir: float = Field(0.01, gt=0, lt=1)

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
            raise ValueError("must be a Fernet key (32 url-safe base64-encoded bytes), e.g. "
                             "from cryptography.fernet.Fernet.generate_key()") from None
        return value

    @model_validator(mode="after")
    def _check_model_path(self) -> Settings:
        if not self.model_path.is_dir():
            raise ValueError(f"model_path {str(self.model_path)!r} is not a directory")
        return self

    @property
    def max_body_bytes(self) -> int:
        """Largest accepted request body: every image base64-inflated, plus 64 KiB of framing."""
        return self.max_images_per_request * (self.max_image_bytes * 4 // 3 + 4) + 64 * 1024

    @property
    def auth_enabled(self) -> bool:
        """Whether requests must carry one of ``api_keys``."""
        return bool(self.api_keys)


class SettingsError(RuntimeError):
    """The environment holds invalid settings; the message lists each problem."""


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment plus ``overrides``, with a readable error.

    Raises:
        SettingsError: One line per invalid setting, naming its environment variable.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "settings"
            name = f"FACEVERIFY_{field.upper()}" if error["loc"] else field
            lines.append(f"  {name}: {error['msg']}")
        raise SettingsError("invalid settings:\n" + "\n".join(lines)) from None


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, built on first call (never at import)."""
    return load_settings()
