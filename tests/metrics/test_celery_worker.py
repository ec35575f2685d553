"""The scheduled job on a real Celery worker, against Redis and PostgreSQL (SPEC section 4).

These need a Redis broker; outside CI they skip without one, under CI they fail instead.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from metrics.models import MetricSnapshot
from portal.celery import app
from portal.devdb import settings_url
from sellers.choices import ProgrammeStatus
from sellers.factories import D, OrderFactory, orders_save
from sellers.models import Seller, SellerEvent
from sellers.services import seller_create

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    # send_task always goes to the broker; the test process's eager setting is irrelevant.
    pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored"),
]


@pytest.fixture
def services_required():
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        if os.environ.get("CI") == "true":
            pytest.fail("Under CI these tests need Redis (CELERY_BROKER_URL).")
        pytest.skip("needs Redis (CELERY_BROKER_URL)")
    return broker


class Worker:
    """A `celery worker` subprocess on its own queue, reading the test database."""

    def __init__(self, broker: str, queue: str, delay: float, visibility_timeout: int):
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "SECRET_KEY": "worker-test-secret-key-long-enough-for-django-0123456789abcdef",
            "DATABASE_URL": settings_url(connection.settings_dict),
            "CELERY_BROKER_URL": broker,
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout),
            "TEST_TASK_DELAY": str(delay),
            "PYTHONPATH": str(ROOT),
        }
        self.queue = queue
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tests.worker_app", "worker", "--pool=solo", "-Q", self.queue,
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def workers(services_required):
    started: list[Worker] = []

    def start(delay: float = 0.0, visibility_timeout: int = 3600, queue: str | None = None) -> Worker:
        worker = Worker(services_required, queue or f"test-{uuid.uuid4().hex[:12]}", delay, visibility_timeout)
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def send_daily(queue: str, *, chunk_size: int) -> None:
    """Send the beat entry's task exactly as beat would, to the worker's queue."""
    entry = app.conf.beat_schedule["daily-evaluation"]
    app.send_task(entry["task"], kwargs={"day_iso": D.isoformat(), "chunk_size": chunk_size}, queue=queue)


def wait_for(condition, timeout: float = 90.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


def sellers_with_orders(count: int, failing: int) -> list[Seller]:
    sellers = []
    for i in range(count):
        seller = seller_create(
            merchant_token=f"WORKER{i:04d}", name=f"Worker seller {i}", enrolled_on=dt.date(2026, 1, 1)
        )
        # Scanned two days late and delivered late: fails on-time shipment.
        orders_save(OrderFactory.build(seller=seller, late=True) if i < failing else OrderFactory.build(seller=seller))
        sellers.append(seller)
    return sellers


def test_scheduled_task_on_a_real_worker_stores_snapshots_and_revokes(workers):
    sellers = sellers_with_orders(4, failing=1)
    worker = workers()
    send_daily(worker.queue, chunk_size=2)
    assert wait_for(lambda: MetricSnapshot.objects.filter(day=D).count() == 4 * 14), "worker did not store snapshots"
    assert wait_for(lambda: SellerEvent.objects.count() == 1)
    statuses = dict(Seller.objects.values_list("pk", "status"))
    assert statuses[sellers[0].pk] == ProgrammeStatus.NOT_ELIGIBLE
    assert [statuses[s.pk] for s in sellers[1:]] == [ProgrammeStatus.ELIGIBLE] * 3


def test_worker_killed_mid_run_then_rerun_completes_without_duplicates(workers):
    total_sellers, failing = 12, 4
    sellers_with_orders(total_sellers, failing=failing)
    first = workers(delay=0.4, visibility_timeout=3)
    send_daily(first.queue, chunk_size=1)
    assert wait_for(lambda: MetricSnapshot.objects.filter(day=D).count() >= 14, interval=0.02)
    first.kill()
    done_before_kill = MetricSnapshot.objects.filter(day=D).count()
    assert done_before_kill < total_sellers * 14, "the run finished before the worker was killed"

    second = workers(queue=first.queue, visibility_timeout=3)
    send_daily(second.queue, chunk_size=1)
    assert wait_for(lambda: MetricSnapshot.objects.filter(day=D).count() == total_sellers * 14)
    assert wait_for(lambda: SellerEvent.objects.count() == failing)
    time.sleep(5)  # let the killed worker's unacknowledged task be redelivered and run again
    assert MetricSnapshot.objects.filter(day=D).count() == total_sellers * 14
    assert SellerEvent.objects.count() == failing
    assert Seller.objects.filter(status=ProgrammeStatus.NOT_ELIGIBLE).count() == failing
    assert settings.CELERY_TASK_ACKS_LATE
