"""The documentation stays true to the repository: links, settings and commands.

Checks README.md, docs/*.md and models/*/MODEL_CARD.md: every relative link names an existing
file (and, for ``#anchor`` links into markdown, an existing heading by GitHub's slug rules),
every ``FACEVERIFY_*`` variable named in README.md and docs/*.md is a setting of the service (or
a documented non-setting listed below, with its reason), and every ``python -m MODULE`` of
README.md names an importable module. Reads files only: fast, and independent of ../shared.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOC_PAGES = sorted((ROOT / "docs").glob("*.md"))
MODEL_CARDS = sorted((ROOT / "models").glob("*/MODEL_CARD.md"))
LINKED_FILES = [README, *DOC_PAGES, *MODEL_CARDS]
SETTINGS_FILES = [README, *DOC_PAGES]

ENV_PREFIX = "FACEVERIFY_"
# FACEVERIFY_ names the docs may mention that are no field of app.settings.Settings, and why.
NOT_SETTINGS = {
    "FACEVERIFY_BIND_ADDRESS": "docker-compose.yml: the host address the port is published on",
    "FACEVERIFY_HOST_PORT": "docker-compose.yml: the host port of the API service",
    "FACEVERIFY_MODELS_DIR": "docker-compose.yml: the host folder mounted at /models",
    "FACEVERIFY_BUILD_MODEL_DIR": "docker-compose.yml: the model baked into the image at build",
    "FACEVERIFY_TRAIN_DATA_DIR": "docker-compose.yml: the training photos mounted at /data",
    "FACEVERIFY_POSTGRES_PASSWORD": "docker-compose.yml: the replicas profile's database password",
    "FACEVERIFY_REPLICA1_PORT": "docker-compose.yml: host port of the first replica",
    "FACEVERIFY_REPLICA2_PORT": "docker-compose.yml: host port of the second replica",
    "FACEVERIFY_UID": "docker-compose.yml: user id the training containers run as",
    "FACEVERIFY_GID": "docker-compose.yml: group id the training containers run as",
    "FACEVERIFY_SKIP_CONTAINER_CHECK": ".ci/run: skip the Docker check on a machine without it",
    "FACEVERIFY_SCREENSHOTS": "tests/app/test_page_browser.py: write the page's screenshots",
    "FACEVERIFY_OLD_ENCRYPTION_KEY": "python -m app.gallery encrypt: the key being replaced",
    "FACEVERIFY_MAX_INFLIGHT_BODY_BYTES": "replaced by MEMORY_BUDGET_BYTES; refused by name",
    "FACEVERIFY_API_KEY": "the misspelling the docs show being refused (did you mean API_KEYS?)",
}

FENCE = re.compile(r"^(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
# [text](target) and ![alt](target); the target up to whitespace or the closing parenthesis.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
INLINE_CODE = re.compile(r"`[^`]*`")
SETTING_NAME = re.compile(r"FACEVERIFY_[A-Z0-9_]*[A-Z0-9]")
PYTHON_MODULE = re.compile(r"\bpython3?\s+-m\s+([A-Za-z_][\w.]*)")


def prose_lines(path: Path) -> list[tuple[int, str]]:
    """The file's lines outside fenced code blocks, with their 1-based numbers."""
    lines, in_fence = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line.strip()):
            in_fence = not in_fence
        elif not in_fence:
            lines.append((number, line))
    return lines


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation but - and _ dropped, spaces to -."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a markdown file, repeated headings numbered as GitHub does."""
    seen: dict[str, int] = {}
    found = set()
    for _, line in prose_lines(path):
        match = HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def relative_links(path: Path) -> list[tuple[int, str]]:
    """Links to files of this repository (no scheme), outside code."""
    links = []
    for number, line in prose_lines(path):
        for match in LINK.finditer(INLINE_CODE.sub("", line)):
            target = match.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
                continue  # http:, https:, mailto:
            links.append((number, target))
    return links


def test_slug_rules() -> None:
    """The anchor rule matches GitHub's for the kinds of heading the docs use."""
    assert github_slug("The gallery: storage, replicas, privacy") == (
        "the-gallery-storage-replicas-privacy"
    )
    assert github_slug("Hostile clients (`bench/hostile_mix.py`)") == (
        "hostile-clients-benchhostile_mixpy"
    )
    assert github_slug("Operating points (served by `/verify`)") == (
        "operating-points-served-by-verify"
    )


@pytest.mark.parametrize("page", LINKED_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    """Every relative link names an existing file, and an anchor an existing heading."""
    broken = []
    for number, target in relative_links(page):
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        if not linked.exists():
            broken.append(f"{page.name}:{number}: {target} (no such file)")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{page.name}:{number}: {target} (no heading #{anchor})")
    assert not broken, "\n".join(broken)


def test_documented_variables_are_settings() -> None:
    """Every FACEVERIFY_ name in README.md and docs/ is a setting or a listed non-setting."""
    settings = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    unknown = []
    for page in SETTINGS_FILES:
        text = page.read_text(encoding="utf-8")
        for name in sorted(set(SETTING_NAME.findall(text))):
            if name not in settings and name not in NOT_SETTINGS:
                unknown.append(f"{page.relative_to(ROOT)}: {name}")
    assert not unknown, "not settings of app.settings.Settings:\n" + "\n".join(unknown)


def test_not_settings_are_really_not_settings() -> None:
    """The exceptions stay exceptions: a name that became a setting leaves the list."""
    settings = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    assert not settings & set(NOT_SETTINGS)


def test_readme_modules_exist() -> None:
    """Every ``python -m MODULE`` in README.md names an importable module."""
    modules = sorted(set(PYTHON_MODULE.findall(README.read_text(encoding="utf-8"))))
    assert modules, "README.md names no python -m command"
    missing = [module for module in modules if importlib.util.find_spec(module) is None]
    assert not missing, f"README.md runs modules that do not exist: {missing}"


MAPPED_PACKAGES = ("app", "facecore", "training", "bench")


def test_every_product_module_is_on_the_architecture_map():
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    modules = [
        path.relative_to(ROOT).as_posix()
        for package in MAPPED_PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "__pycache__" not in path.parts and "migrations" not in path.parts
    ]
    missing = [module for module in modules if f"- `{module}` (" not in text]
    assert missing == [], f"add them to docs/ARCHITECTURE.md's module map: {missing}"
