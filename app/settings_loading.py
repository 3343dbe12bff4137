"""Reading the settings: the environment and ``.env`` file, checked, with one readable error."""

from __future__ import annotations

import difflib
import functools
import os
from collections.abc import Iterable
from pathlib import Path

from dotenv import dotenv_values
from pydantic import ValidationError

from app.settings import ENV_PREFIX, Settings

# Settings that were replaced: naming one stops start-up with what to set instead.
REPLACED = {
    "MAX_INFLIGHT_BODY_BYTES": "replaced by FACEVERIFY_MEMORY_BUDGET_BYTES (one budget for "
    "request bodies and decoded images; default 268435456)"
}
# Variables of docker-compose.yml and the CI script, not of the service (README, Configuration).
NOT_SERVICE_VARIABLES = frozenset(
    {
        "BIND_ADDRESS",
        "HOST_PORT",
        "MODELS_DIR",
        "BUILD_MODEL_DIR",
        "TRAIN_DATA_DIR",
        "POSTGRES_PASSWORD",
        "REPLICA1_PORT",
        "REPLICA2_PORT",
        "UID",
        "GID",
        "SKIP_CONTAINER_CHECK",
        "OLD_ENCRYPTION_KEY",  # of python -m app.gallery encrypt
    }
)


class SettingsError(RuntimeError):
    """The environment holds invalid settings; the message lists each problem."""


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment plus ``overrides``, with a readable error.

    A ``FACEVERIFY_*`` variable that is no setting (``FACEVERIFY_API_KEY`` for ``_KEYS``) is an
    error too: pydantic-settings would ignore it, and the service would start without it.

    Raises:
        SettingsError: One line per invalid or unknown setting, naming its variable.
    """
    env_file = overrides.get("_env_file", Settings.model_config["env_file"])
    lines = [_unknown(name) for name in unknown_variables(_variable_names(env_file))]
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        lines += [_invalid(error) for error in exc.errors()]
    if not lines:
        return settings
    if len(lines) == 1:
        raise SettingsError(f"invalid settings: {lines[0]}") from None
    raise SettingsError("invalid settings:\n" + "\n".join(f"  {line}" for line in lines)) from None


def unknown_variables(names: Iterable[str]) -> list[str]:
    """Return the ``FACEVERIFY_*`` names that are neither a setting nor compose's."""
    known = {field.upper() for field in Settings.model_fields} | NOT_SERVICE_VARIABLES
    return sorted(
        {
            name
            for name in names
            if name.upper().startswith(ENV_PREFIX)
            and name.upper().removeprefix(ENV_PREFIX) not in known
        }
    )


def _variable_names(env_file: object) -> list[str]:
    """Return the variable names of the environment and of the ``.env`` file Settings reads."""
    names = list(os.environ)
    if isinstance(env_file, str | Path) and Path(env_file).is_file():
        names += list(dotenv_values(env_file))
    return names


def _unknown(name: str) -> str:
    if name.upper().removeprefix(ENV_PREFIX) in REPLACED:
        return f"{name}: {REPLACED[name.upper().removeprefix(ENV_PREFIX)]}"
    settings = [ENV_PREFIX + field.upper() for field in Settings.model_fields]
    close = difflib.get_close_matches(name.upper(), settings, n=1)
    return f"{name}: not a setting" + (f" (did you mean {close[0]}?)" if close else "")


def _invalid(error: dict) -> str:
    field = ".".join(str(part) for part in error["loc"])
    return f"{ENV_PREFIX}{field.upper()}: {error['msg']}" if field else f"settings: {error['msg']}"


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, built on first call (never at import)."""
    return load_settings()
