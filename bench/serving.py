"""The portal served as production serves it, and loaded: gunicorn on the bench database, the
largest seller's session, concurrent GETs timed (bench.run's dashboard step, 3, and the read
replica's, 7: bench.replica_bench)."""

from __future__ import annotations

import contextlib
import http.client
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD_PATH = "/performance/"
API_PATH = "/api/performance/?window=30"
CSV_PATH = "/performance/defects.csv?window=30"


def stop_processes(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def largest_seller_session() -> tuple[str, str, int]:
    """The seller with the most orders, a user of theirs, and a session cookie for it (the
    ``Cookie`` header's value)."""
    from django.conf import settings
    from django.db.models import Count
    from django.test import Client

    from sellers.models import Order, Seller, User
    from sellers.services import seller_user_create

    top = Order.objects.values("seller_id").annotate(n=Count("id")).order_by("-n").first()
    seller = Seller.objects.get(pk=top["seller_id"])
    user = User.objects.filter(seller=seller).first() or seller_user_create(
        seller=seller, username=f"bench-{seller.pk}", password="bench password 0123"
    )
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    name = settings.SESSION_COOKIE_NAME
    return seller.merchant_token, f"{name}={client.cookies[name].value}", top["n"]


def load(port: int, path: str, cookie: str, requests: int, concurrency: int, seconds: float = 120) -> dict:
    """``requests`` GETs of ``path`` by ``concurrency`` threads, a connection each (gunicorn's
    sync workers close after every response), every byte of each response read; stops early
    after ``seconds``."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    remaining = [requests]
    deadline = time.monotonic() + seconds

    def worker() -> None:
        while True:
            with lock:
                if remaining[0] <= 0 or time.monotonic() > deadline:
                    return
                remaining[0] -= 1
            start = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                conn.request("GET", path, headers={"Cookie": cookie, "Host": "127.0.0.1"})
                response = conn.getresponse()
                response.read()
                conn.close()
                ok = response.status == 200
            except OSError as error:
                ok, response = False, error
            elapsed = time.perf_counter() - start
            with lock:
                if ok:
                    latencies.append(elapsed)
                else:
                    errors.append(str(getattr(response, "status", response)))

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds_taken = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")

    return {
        "ok": len(latencies),
        "errors": len(errors),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        # Answered requests a second, the load's whole time (the throughput at this concurrency).
        "per_second": len(latencies) / seconds_taken if seconds_taken else float("nan"),
    }


@contextlib.contextmanager
def gunicorn(env: Mapping[str, str], log: Path) -> Iterator[int]:
    """gunicorn ``-w 2`` (sync workers) serving the portal with the environment ``env`` on a
    free port of 127.0.0.1, its output in ``log``: the port, once /healthz answers. Stopped when
    the block ends, however it ends."""
    port = free_port()
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "gunicorn"), "portal.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    conn.request("GET", "/healthz")
                    if conn.getresponse().status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit(f"gunicorn did not start: see {log}")
                time.sleep(0.2)
            yield port
        finally:
            stop_processes([server])
