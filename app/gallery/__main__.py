"""``python -m app.gallery encrypt``: encrypt (or re-key) the stored templates in place.

The gallery and the new key come from the service's settings (``FACEVERIFY_DATABASE_URL`` or
``FACEVERIFY_DATA_DIR``, ``FACEVERIFY_ENCRYPTION_KEY``); the old key, when re-keying, from
``FACEVERIFY_OLD_ENCRYPTION_KEY`` (a variable, never an argument: arguments show in ``ps``).
Stop the replicas first, then start them with the new key. Exit status: 0 done, 1 some
templates read with neither key (listed by face id, left as they were), 2 a setting is wrong.
"""

from __future__ import annotations

import argparse
import os
import sys

from cryptography.fernet import Fernet

from app.gallery.codec import TemplateCodec
from app.gallery.encryption import DEFAULT_BATCH, EncryptionReport, encrypt_templates
from app.gallery.opening import GalleryOpenError, open_store
from app.settings_loading import SettingsError, load_settings

OLD_KEY_VARIABLE = "FACEVERIFY_OLD_ENCRYPTION_KEY"


class CommandError(RuntimeError):
    """A setting of the command is missing or wrong; the message names it."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """``encrypt [--batch-size N]``."""
    parser = argparse.ArgumentParser(prog="python -m app.gallery", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    encrypt = commands.add_parser(
        "encrypt",
        help="encrypt plain templates with FACEVERIFY_ENCRYPTION_KEY, and re-key those "
        f"encrypted with {OLD_KEY_VARIABLE}",
    )
    encrypt.add_argument(
        "--batch-size", type=int, default=DEFAULT_BATCH, help="templates per transaction"
    )
    return parser.parse_args(argv)


def old_codec() -> TemplateCodec | None:
    """Return the codec of the old key, or None when the variable is unset."""
    key = os.environ.get(OLD_KEY_VARIABLE, "")
    if not key:
        return None
    try:
        Fernet(key.encode())
    except ValueError:
        raise CommandError(f"{OLD_KEY_VARIABLE}: must be a Fernet key") from None
    return TemplateCodec(key)


def run_encrypt(batch_size: int) -> EncryptionReport:
    """Open the gallery of the settings and encrypt its templates."""
    if batch_size < 1:
        raise CommandError("--batch-size must be at least 1")
    settings = load_settings()
    if settings.encryption_key is None:
        raise CommandError("set FACEVERIFY_ENCRYPTION_KEY to the key to encrypt with")
    previous = old_codec()
    store = open_store(settings, check=False)
    try:
        return encrypt_templates(store.engine, store.codec, previous, batch_size)
    finally:
        store.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    arguments = parse_args(argv)
    try:
        report = run_encrypt(arguments.batch_size)
    except (SettingsError, GalleryOpenError, CommandError) as exc:
        print(f"faceverify: {exc}", file=sys.stderr)
        return 2
    print(
        f"encrypted {report.encrypted} plain templates, re-keyed {report.rekeyed}, "
        f"{report.unchanged} already under the key"
    )
    if report.unreadable:
        print(
            f"faceverify: {len(report.unreadable)} templates read with neither key, left as "
            f"they were (set {OLD_KEY_VARIABLE} to their key): {' '.join(report.unreadable)}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
