"""``python -m app``: serve with uvicorn on the configured host and port.

Start-up problems are reported in one line naming the setting to change, before the server
starts: invalid settings, a port already in use, a model directory that cannot be served, a
gallery database that cannot be opened or an encryption key that does not read it.
The settings come from the environment only: an argument other than ``--help`` is refused
rather than ignored (``--port 9000`` would otherwise start on the configured port).
"""

from __future__ import annotations

import argparse
import sys

from app.gallery.opening import GalleryOpenError, open_store
from app.http.server import ListenError, bind_socket, build_server
from app.inference.model_loading import ModelLoadError, load_model
from app.main import create_app
from app.settings import ENV_PREFIX, Settings
from app.settings_loading import SettingsError, get_settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """``--help`` lists every setting; any other argument is an error (exit 2)."""
    parser = argparse.ArgumentParser(
        prog="python -m app",
        description="Serve the face-verification API (uvicorn). It takes no arguments:\n"
        f"configure it with these {ENV_PREFIX}* environment variables (or a .env file).",
        epilog=_settings_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser.parse_args(argv)


def _settings_table() -> str:
    lines = []
    for name, field in Settings.model_fields.items():
        default = "" if field.is_required() else f" (default: {_shown(field.default)})"
        lines.append(f"  {ENV_PREFIX}{name.upper()}{default}")
        if field.description:
            lines.append(f"      {field.description}")
    return "settings:\n" + "\n".join(lines)


def _shown(default: object) -> str:
    return "unset" if default is None or default == () else str(default)


def main(argv: list[str] | None = None) -> int:
    """Run the server until stopped; returns the exit status."""
    parse_args(argv)
    try:
        settings = get_settings()
        sock = bind_socket(settings.host, settings.port)
        model = load_model(settings)
        app = create_app(settings, preloaded=model, gallery_store=open_store(settings))
    except (SettingsError, ListenError, ModelLoadError, GalleryOpenError) as exc:
        print(f"faceverify: {exc}", file=sys.stderr)
        return 2
    server = build_server(app, settings, app.state.service.begin_drain)
    server.run(sockets=[sock])
    return 0 if server.started else 3  # the lifespan failed (logged)


if __name__ == "__main__":
    sys.exit(main())
