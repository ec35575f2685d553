"""Production's static files: collectstatic with the production settings' manifest storage
(README, "Running it for real") gathers every file the pages link, vendored Bootstrap included.

The manifest storage rewrites each reference inside a CSS or JS file to the hashed name of
the file it names, and refuses a reference to a missing file: the vendored minified files
end with sourceMappingURL comments, so their .map files must be vendored with them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.test_settings import SOME_DATABASE_URL

BASE_DIR = Path(__file__).resolve().parent.parent
VENDORED_CSS = "vendor/bootstrap-5.3.8/bootstrap.min.css"


def test_collectstatic_with_the_production_storage(tmp_path):
    assert (BASE_DIR / "static" / VENDORED_CSS).exists(), "Bootstrap is not vendored: run `make vendor`."
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "portal.settings_production",
        "DATABASE_URL": SOME_DATABASE_URL,
        "SECRET_KEY": "collectstatic-test-" + "x" * 50,
        "STATIC_ROOT": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    for name in (VENDORED_CSS, "vendor/bootstrap-5.3.8/bootstrap.min.js", "vendor/popper-2.11.8/popper.min.js"):
        assert (tmp_path / manifest[name]).exists(), name
