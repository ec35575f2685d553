"""What the browser tests share: where Chromium is, how it is started, where screenshots go,
and how a missing prerequisite skips outside CI but fails under CI=true."""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Debian's package (`apt-get install chromium`); Playwright's own browser download cannot work here.
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "var" / "screenshots"
# Headless, and nothing that reaches for the network on its own (there is none but the
# package registries). Playwright gives every launch a fresh temporary --user-data-dir.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
# Per action or expectation: a page served locally answers in well under that.
TIMEOUT_MS = 15_000

INSTALL_CHROMIUM = (
    f"Chromium is not installed at {CHROMIUM}: `apt-get install --no-install-recommends chromium` "
    "(Debian's package; `playwright install` cannot download a browser here)."
)
INSTALL_PLAYWRIGHT = (
    "the playwright package is not installed: `.venv/bin/pip install -r requirements-dev.txt` "
    f"(no `playwright install` needed: the tests launch Debian's {CHROMIUM})."
)
INSTALL_BOOTSTRAP = "the vendored Bootstrap is missing from static/vendor/: run `make vendor`."


def prerequisite_missing(reason: str) -> None:
    """Skip with ``reason`` outside CI; under CI=true fail instead, as the PostgreSQL and
    Redis tests do, so a CI machine without a browser cannot pass by skipping."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"Under CI the browser tests need this: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def playwright_sync_api() -> ModuleType:
    """``playwright.sync_api``, or a skip (a failure under CI) that says how to install it."""
    try:
        from playwright import sync_api
    except ImportError:
        prerequisite_missing(INSTALL_PLAYWRIGHT)
    return sync_api


def bootstrap_vendored() -> bool:
    return any((ROOT / "static" / "vendor").glob("bootstrap-*/bootstrap.min.css"))
