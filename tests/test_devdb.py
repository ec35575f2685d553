"""The project's own PostgreSQL (``python -m portal.devdb -- COMMAND``): started for a command,
its URL handed over in DATABASE_URL, stopped when the command ends however it ends, shared by
launchers running at once. Each test runs the launcher as ``make`` does, on a data folder of
this module's own (initialised once)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from portal.devdb import database_url, settings_url

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

# What a command sees: the URL's database, reached through DATABASE_URL alone.
SHOW_DATABASE = (
    "import os, psycopg; "
    "print(psycopg.connect(os.environ['DATABASE_URL']).execute('SELECT current_database()').fetchone()[0], flush=True)"
)
# And nothing else of the launcher's: Django's settings module is the command's to choose.
SHOW_SETTINGS = "import os; print(os.environ.get('DJANGO_SETTINGS_MODULE'), flush=True)"
# A command that runs until it is stopped, saying its process id once it runs.
WAIT = "import os, time; print(os.getpid(), flush=True); time.sleep(60)"


@pytest.fixture(scope="module")
def data() -> Iterator[Path]:
    """Under the project's var/, as ``make`` uses it: run as root, the server runs as its own
    user, which must reach the folder (pytest's temporary folders are closed to others)."""
    folder = ROOT / "var" / f"test-devdb-{os.getpid()}"
    yield folder / "postgres"
    shutil.rmtree(folder, ignore_errors=True)


def launcher(data: Path, *command: str) -> subprocess.Popen:
    environment = {
        name: value for name, value in os.environ.items() if name not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    return subprocess.Popen(
        [sys.executable, "-m", "portal.devdb", "--data", str(data), "--", *command],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def running(data: Path) -> bool:
    return (data / "postmaster.pid").exists()


def ended(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_command_runs_on_the_projects_own_database_and_the_server_stops_after_it(data):
    # A launcher killed earlier (SIGKILL) left its process id behind: it holds nothing.
    data.parent.mkdir(parents=True, exist_ok=True)
    data.with_name("postgres.users").write_text(json.dumps([2**22 + 1]))
    process = launcher(data, sys.executable, "-c", f"{SHOW_DATABASE}; {SHOW_SETTINGS}; raise SystemExit(3)")
    out, err = process.communicate(timeout=120)
    assert out.splitlines() == ["portal", "None"], err
    assert process.returncode == 3, "the launcher's exit status is the command's"
    assert f"DATABASE_URL={database_url(name='portal', host=str(data))}" in err
    assert not running(data)


def test_sigterm_to_the_launcher_ends_the_command_and_stops_the_server(data):
    process = launcher(data, sys.executable, "-c", WAIT)
    try:
        command = int(process.stdout.readline())
        assert running(data)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 128 + signal.SIGTERM
    assert ended(command), "the launcher left its command running"
    assert not running(data)


def test_launchers_at_once_share_one_server_and_the_last_one_stops_it(data):
    first = launcher(data, sys.executable, "-c", WAIT)
    try:
        int(first.stdout.readline())
        second = launcher(data, sys.executable, "-c", SHOW_DATABASE)
        out, err = second.communicate(timeout=120)
        assert (second.returncode, out) == (0, "portal\n"), err
        assert running(data), "the second launcher stopped the server the first one's command still uses"
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=60)
    finally:
        first.kill()
    assert not running(data)


def test_without_a_command_the_launcher_says_how_to_name_one(data):
    process = launcher(data)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "name the command to run after --" in err
    assert not running(data)


@pytest.mark.parametrize(
    ("settings", "url"),
    [
        ({"NAME": "test_portal", "HOST": "/srv/var/postgres", "USER": "postgres", "PORT": ""},
         "postgres://postgres@%2Fsrv%2Fvar%2Fpostgres/test_portal"),
        ({"NAME": "test_portal", "HOST": "db.example.com", "USER": "portal", "PORT": 5433},
         "postgres://portal@db.example.com:5433/test_portal"),
    ],
)  # fmt: skip
def test_a_database_settings_url_reaches_a_socket_folder_or_a_host(settings, url):
    assert settings_url(settings) == url
