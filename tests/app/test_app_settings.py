"""Settings: environment parsing, validation messages, laziness of the app module."""

import subprocess
import sys
from pathlib import Path

import pytest
from fixture_paths import TINY_MODEL

from app.settings_loading import SettingsError, get_settings, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_environment_variables_with_prefix_configure_the_service(monkeypatch, make_settings):
    monkeypatch.setenv("FACEVERIFY_BATCH_MAX_SIZE", "8")
    monkeypatch.setenv("FACEVERIFY_API_KEYS", "alpha, beta")
    monkeypatch.setenv("FACEVERIFY_CORS_ORIGINS", "https://a.example,https://b.example")
    monkeypatch.setenv("FACEVERIFY_LOG_LEVEL", "debug")
    monkeypatch.setenv("FACEVERIFY_DETECTION", "false")
    settings = load_settings(_env_file=None, model_path=TINY_MODEL)
    assert settings.batch_max_size == 8 and settings.detection is False
    assert [key.get_secret_value() for key in settings.api_keys] == ["alpha", "beta"]
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert settings.log_level == "DEBUG" and settings.auth_enabled
    assert "alpha" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("FACEVERIFY_BACKEND", "tensorrt", "FACEVERIFY_BACKEND"),
        ("FACEVERIFY_DEVICE", "tpu", "FACEVERIFY_DEVICE"),
        ("FACEVERIFY_BATCH_MAX_SIZE", "0", "FACEVERIFY_BATCH_MAX_SIZE"),
        ("FACEVERIFY_MAX_IMAGE_BYTES", "lots", "FACEVERIFY_MAX_IMAGE_BYTES"),
        ("FACEVERIFY_MODEL_PATH", "/no/such/model", "is not a directory"),
    ],
)
def test_invalid_settings_raise_one_readable_message(
    monkeypatch, make_settings, name, value, expected
):
    monkeypatch.setenv(name, value)
    overrides = {} if name == "FACEVERIFY_MODEL_PATH" else {"model_path": TINY_MODEL}
    with pytest.raises(SettingsError, match=expected) as raised:
        load_settings(_env_file=None, **overrides)
    assert "Traceback" not in str(raised.value)


def test_get_settings_is_cached(monkeypatch, make_settings):
    monkeypatch.setenv("FACEVERIFY_MODEL_PATH", str(TINY_MODEL))
    get_settings.cache_clear()
    try:
        assert get_settings() is get_settings()
    finally:
        get_settings.cache_clear()


def _python(code_or_args: list[str], **env: str) -> subprocess.CompletedProcess:
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, *code_or_args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_importing_the_app_builds_nothing_and_loads_no_tensorflow():
    code = (
        "import sys, app.main, app.__main__; "
        "from app.settings_loading import get_settings; "
        "assert get_settings.cache_info().currsize == 0; "
        "assert 'tensorflow' not in sys.modules and 'training' not in sys.modules; "
        "print('lazy')"
    )
    result = _python(["-c", code], FACEVERIFY_MODEL_PATH="/no/such/model")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "lazy"


def test_python_m_app_with_invalid_settings_exits_with_a_clear_message():
    result = _python(
        ["-m", "app"], FACEVERIFY_MODEL_PATH="/no/such/model", FACEVERIFY_BATCH_MAX_SIZE="-3"
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "FACEVERIFY_BATCH_MAX_SIZE" in result.stderr and "invalid settings" in result.stderr


def test_a_misspelt_setting_stops_the_service_instead_of_being_ignored(monkeypatch, make_settings):
    """FACEVERIFY_API_KEY (for _KEYS) would otherwise start the service without authentication."""
    monkeypatch.setenv("FACEVERIFY_API_KEY", "alpha")
    monkeypatch.setenv("FACEVERIFY_BATCH_MAX_SIZE", "0")
    with pytest.raises(SettingsError) as raised:
        load_settings(_env_file=None, model_path=TINY_MODEL)
    assert str(raised.value).splitlines()[1:] == [
        "  FACEVERIFY_API_KEY: not a setting (did you mean FACEVERIFY_API_KEYS?)",
        "  FACEVERIFY_BATCH_MAX_SIZE: Input should be greater than or equal to 1",
    ]


def test_unknown_names_in_the_env_file_are_refused_too(monkeypatch, make_settings, tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("FACEVERIFY_DETECTON=false\nOTHER_TOOL_SETTING=1\n")
    with pytest.raises(SettingsError, match="FACEVERIFY_DETECTON: not a setting"):
        load_settings(_env_file=env_file, model_path=TINY_MODEL)


def test_the_compose_files_variables_are_not_settings_but_allowed(monkeypatch, make_settings):
    monkeypatch.setenv("FACEVERIFY_HOST_PORT", "8080")
    monkeypatch.setenv("FACEVERIFY_POSTGRES_PASSWORD", "secret")
    monkeypatch.setenv("UNRELATED_VARIABLE", "1")
    assert load_settings(_env_file=None, model_path=TINY_MODEL).port == 8000


def test_python_m_app_help_lists_every_setting_and_serves_nothing():
    result = _python(["-m", "app", "--help"])
    assert result.returncode == 0, result.stderr
    assert "FACEVERIFY_API_KEYS (default: unset)" in result.stdout
    assert "FACEVERIFY_MAX_IMAGE_BYTES (default: 8388608)" in result.stdout


def test_python_m_app_refuses_an_argument_instead_of_ignoring_it():
    """``--port 9000`` used to start the server on the configured port."""
    result = _python(["-m", "app", "--port", "9000"], FACEVERIFY_MODEL_PATH=str(TINY_MODEL))
    assert result.returncode == 2
    assert "unrecognized arguments: --port 9000" in result.stderr
